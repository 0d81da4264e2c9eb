import type { ContractRow } from '../db/repos/contracts.ts';
import { newId } from '../domain/ids.ts';
import { isOrganizationId } from '../domain/organizations.ts';
import type { Role } from '../domain/policy.ts';
import { describe, type EventData, type EventKind, type PlatformEventKind } from '../notify/templates.ts';
import { webhookBody } from '../notify/webhooks.ts';
import { partyUserIds } from './access.ts';
import type { UseCaseCtx } from './context.ts';

export type ActorRole = Role | 'admin' | 'system';

export type EventInput = {
  kind: EventKind;
  actorRole: ActorRole;
  milestoneId?: string | null;
  data?: EventData;
  /** Who is told: by default the other party (both parties for admin and system events). */
  notify?: Role[];
};

/**
 * Appends an activity entry and, in the same transaction, the in-app notifications and the
 * outbox rows (one email per notification, one webhook message per subscribed endpoint).
 * This is the only writer of activity, notifications and outgoing messages.
 */
export async function recordEvent(ctx: UseCaseCtx, contract: ContractRow, ev: EventInput): Promise<string> {
  return (await recordEvents(ctx, [{ contract, ev }]))[0]!;
}

/**
 * recordEvent for any number of events of one platform, in one statement whatever their number
 * (a Wednesday batch books hundreds of invoices at once). Returns the activity ids in order.
 */
export async function recordEvents(ctx: UseCaseCtx, events: { contract: ContractRow; ev: EventInput }[]): Promise<string[]> {
  if (events.length === 0) return [];
  const { tx, now, principal } = ctx;
  const platformId = events[0]!.contract.platform_id;
  if (events.some((e) => e.contract.platform_id !== platformId)) throw new Error('recordEvents: events of one platform');
  // A client organisation: its members are told and see the timeline live, and the event names
  // the member who acted as well as the organisation.
  const members = new Map<string, string[]>();
  for (const orgId of new Set(events.map((e) => e.contract.client_id).filter(isOrganizationId))) members.set(orgId, await partyUserIds(ctx, orgId));
  const usersOf = (partyId: string) => members.get(partyId) ?? [partyId];
  const act: { id: string; contractId: string; milestoneId: string | null; actorId: string | null; actorRole: string; kind: string; data: string }[] = [];
  const ntf: { id: string; userId: string; contractId: string; kind: string; title: string; body: string; data: string; jobId: string }[] = [];
  const live: { userId: string; contractId: string; type: string; refId: string }[] = [];
  const hooks: { id: string; kind: string; payload: string }[] = [];
  for (const { contract, ev } of events) {
    const activityId = newId('activity');
    const actorId = ev.actorRole === 'system' ? null : ev.actorRole === 'admin' ? null : principal.userId;
    const org = isOrganizationId(contract.client_id);
    const data: EventData = { currency: contract.currency, ...(org ? { organizationId: contract.client_id, actorId } : {}), ...ev.data };
    const clientUsers = usersOf(contract.client_id);
    const roles: Role[] =
      ev.notify ?? (ev.actorRole === 'client' ? ['contractor'] : ev.actorRole === 'contractor' ? ['client'] : ['client', 'contractor']);
    const text = describe(ev.kind, data, contract.title);
    const recipients = roles.flatMap((role) => (role === 'client' ? (org ? clientUsers.filter((u) => u !== actorId) : clientUsers) : [contract.contractor_id]));
    const milestoneId = ev.milestoneId ?? null;
    act.push({ id: activityId, contractId: contract.id, milestoneId, actorId, actorRole: ev.actorRole, kind: ev.kind, data: JSON.stringify(data) });
    for (const userId of [...clientUsers, contract.contractor_id]) live.push({ userId, contractId: contract.id, type: 'activity', refId: activityId });
    const notified = recipients.map((userId) => ({
      id: newId('notification'), userId, contractId: contract.id, kind: ev.kind, title: text.title, body: text.body,
      data: JSON.stringify({ ...data, milestoneId }), jobId: newId('job'),
    }));
    ntf.push(...notified);
    for (const n of notified) live.push({ userId: n.userId, contractId: contract.id, type: 'notification', refId: n.id });
    hooks.push({ id: newId('webhookMessage'), kind: ev.kind, payload: JSON.stringify(webhookBody(ev.kind, now, { activityId, contractId: contract.id, milestoneId, ...data })) });
  }
  // One statement: the activity entries, a notification and an email job per recipient, the live
  // events of both parties, and a webhook message per event and subscribed endpoint of the platform.
  await tx.query(
    `WITH act AS (
       INSERT INTO activity (id, platform_id, contract_id, milestone_id, actor_id, actor_role, kind, data, created_at)
       SELECT a.id, $1, a.contract_id, a.milestone_id, a.actor_id, a.actor_role, a.kind, a.data::jsonb, $2
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS a(id, contract_id, milestone_id, actor_id, actor_role, kind, data)
     ), ntf AS (
       INSERT INTO notifications (id, platform_id, user_id, contract_id, kind, title, body, data, created_at)
       SELECT n.id, $1, n.user_id, n.contract_id, n.kind, n.title, n.body, n.data::jsonb, $2
       FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) AS n(id, user_id, contract_id, kind, title, body, data)
     ), mail AS (
       INSERT INTO jobs (id, platform_id, contract_id, kind, payload, run_at, created_at, updated_at)
       SELECT j.id, $1, j.contract_id, 'email', jsonb_build_object('notificationId', j.nid), $2, $2, $2
       FROM unnest($17::text[], $10::text[], $11::text[], $12::text[], $13::text[]) AS j(id, nid, user_id, contract_id, kind)
       -- A recipient who turned email off for this kind still gets the in-app notification.
       WHERE NOT EXISTS (SELECT 1 FROM notification_preferences np WHERE np.user_id = j.user_id AND np.kind = j.kind AND NOT np.email)
     ), live AS (
       INSERT INTO live_events (platform_id, user_id, contract_id, type, ref_id, created_at)
       SELECT $1, l.user_id, l.contract_id, l.type, l.ref_id, $2 FROM unnest($18::text[], $19::text[], $20::text[], $21::text[]) AS l(user_id, contract_id, type, ref_id)
     )
     INSERT INTO webhook_messages (endpoint_id, id, platform_id, event_type, payload, next_attempt_at, created_at, updated_at)
     SELECT e.id, w.id, $1, w.kind, w.payload::jsonb, $2, $2, $2
     FROM unnest($22::text[], $23::text[], $24::text[]) AS w(id, kind, payload)
     JOIN webhook_endpoints e ON e.platform_id = $1 AND e.disabled_at IS NULL AND (e.events ? w.kind OR e.events ? '*')`,
    [
      platformId, now,
      act.map((a) => a.id), act.map((a) => a.contractId), act.map((a) => a.milestoneId), act.map((a) => a.actorId), act.map((a) => a.actorRole), act.map((a) => a.kind), act.map((a) => a.data),
      ntf.map((n) => n.id), ntf.map((n) => n.userId), ntf.map((n) => n.contractId), ntf.map((n) => n.kind), ntf.map((n) => n.title), ntf.map((n) => n.body), ntf.map((n) => n.data),
      ntf.map((n) => n.jobId),
      live.map((l) => l.userId), live.map((l) => l.contractId), live.map((l) => l.type), live.map((l) => l.refId),
      hooks.map((h) => h.id), hooks.map((h) => h.kind), hooks.map((h) => h.payload),
    ],
  );
  return act.map((a) => a.id);
}

export type MessageInput = { id: string; authorId: string; authorName: string; body: string; attachmentIds: string[]; createdAt: Date };

const EXCERPT_LENGTH = 140;
const excerpt = (body: string) => {
  const chars = [...body.replace(/\s+/g, ' ')];
  return chars.length > EXCERPT_LENGTH ? `${chars.slice(0, EXCERPT_LENGTH - 1).join('')}…` : chars.join('');
};

/**
 * A message on a contract's thread, beside recordEvent: an in-app notification for the other
 * party (its email is a digest scheduled by the conversation, not one per message), the live
 * events of both parties and a `message.created` webhook message per subscribed endpoint. The
 * timeline is not written here: it links the conversation once (`conversation.started`) and
 * never copies messages.
 */
export async function recordMessage(ctx: UseCaseCtx, contract: ContractRow, m: MessageInput): Promise<void> {
  const { tx, now } = ctx;
  const clientUsers = await partyUserIds(ctx, contract.client_id);
  const recipients = m.authorId === contract.contractor_id ? clientUsers : [contract.contractor_id];
  const data = { messageId: m.id, authorId: m.authorId, authorName: m.authorName, excerpt: excerpt(m.body) };
  const text = describe('message.created', data, contract.title);
  const notificationIds = recipients.map(() => newId('notification'));
  const webhook = webhookBody('message.created', now, {
    messageId: m.id, contractId: contract.id, authorId: m.authorId, body: m.body, attachmentIds: m.attachmentIds, createdAt: m.createdAt.toISOString(),
  });
  await tx.query(
    `WITH ntf AS (
       INSERT INTO notifications (id, platform_id, user_id, contract_id, kind, title, body, data, created_at)
       SELECT n.id, $2, n.user_id, $4, 'message.created', $5, $6, $7::jsonb, $8 FROM unnest($1::text[], $3::text[]) AS n(id, user_id)
     ), live AS (
       INSERT INTO live_events (platform_id, user_id, contract_id, type, ref_id, created_at)
       SELECT $2, p.user_id, $4, 'message', $9, $8 FROM unnest($10::text[]) AS p(user_id)
       UNION ALL SELECT $2, n.user_id, $4, 'notification', n.id, $8 FROM unnest($1::text[], $3::text[]) AS n(id, user_id)
     )
     INSERT INTO webhook_messages (endpoint_id, id, platform_id, event_type, payload, next_attempt_at, created_at, updated_at)
     SELECT e.id, $11, $2, 'message.created', $12::jsonb, $8, $8, $8
     FROM webhook_endpoints e
     WHERE e.platform_id = $2 AND e.disabled_at IS NULL AND (e.events ? 'message.created' OR e.events ? '*')`,
    [
      notificationIds, contract.platform_id, recipients, contract.id, text.title, text.body, JSON.stringify(data), now, m.id,
      [...clientUsers, contract.contractor_id], newId('webhookMessage'), JSON.stringify(webhook),
    ],
  );
}

/**
 * An event of one user on no contract (a payout of their connected account that failed): the
 * in-app notification, its email (unless they turned that kind off), their live event and a
 * webhook message per subscribed endpoint of the platform — no timeline entry. Returns the
 * notification id.
 */
export async function recordUserEvent(ctx: Pick<UseCaseCtx, 'tx' | 'now'>, platformId: string, userId: string, ev: { kind: EventKind; data: EventData }): Promise<string> {
  const id = newId('notification');
  const text = describe(ev.kind, ev.data, '');
  await ctx.tx.query(
    `WITH ntf AS (
       INSERT INTO notifications (id, platform_id, user_id, contract_id, kind, title, body, data, created_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7::jsonb, $8)
     ), mail AS (
       INSERT INTO jobs (id, platform_id, contract_id, kind, payload, run_at, created_at, updated_at)
       SELECT $9, $2, NULL, 'email', jsonb_build_object('notificationId', $1::text), $8, $8, $8
       WHERE NOT EXISTS (SELECT 1 FROM notification_preferences np WHERE np.user_id = $3 AND np.kind = $4 AND NOT np.email)
     ), live AS (
       INSERT INTO live_events (platform_id, user_id, contract_id, type, ref_id, created_at) VALUES ($2, $3, NULL, 'notification', $1, $8)
     )
     INSERT INTO webhook_messages (endpoint_id, id, platform_id, event_type, payload, next_attempt_at, created_at, updated_at)
     SELECT e.id, $10, $2, $4, $11::jsonb, $8, $8, $8 FROM webhook_endpoints e
     WHERE e.platform_id = $2 AND e.disabled_at IS NULL AND (e.events ? $4 OR e.events ? '*')`,
    [
      id, platformId, userId, ev.kind, text.title, text.body, JSON.stringify(ev.data), ctx.now, newId('job'), newId('webhookMessage'),
      JSON.stringify(webhookBody(ev.kind, ctx.now, { userId, ...ev.data })),
    ],
  );
  return id;
}

/** Tells a user's open streams that their unread counts changed (a thread or notifications were read). */
export async function recordReadMarker(ctx: Pick<UseCaseCtx, 'tx' | 'now'>, platformId: string, userId: string, contractId: string | null): Promise<void> {
  await ctx.tx.query(
    `INSERT INTO live_events (platform_id, user_id, contract_id, type, created_at) VALUES ($1, $2, $3, 'read', $4)`,
    [platformId, userId, contractId, ctx.now],
  );
}

/**
 * A platform event, on no contract: a webhook message to each enabled endpoint of the platform
 * that subscribed to it, or (`to`) to one endpoint whatever it subscribed to; with `email`, also
 * an email to the platform's admin address (the `adminEmail` setting), when one is set. Returns
 * the message id.
 */
export async function recordPlatformEvent(
  ctx: Pick<UseCaseCtx, 'tx' | 'now'>,
  platformId: string,
  ev: { kind: PlatformEventKind | 'webhook.test'; data: Record<string, unknown>; to?: string; email?: { subject: string; text: string } },
): Promise<string> {
  const id = newId('webhookMessage');
  await ctx.tx.query(
    `INSERT INTO webhook_messages (endpoint_id, id, platform_id, event_type, payload, next_attempt_at, created_at, updated_at)
     SELECT e.id, $1, $2, $3, $4::jsonb, $5, $5, $5 FROM webhook_endpoints e
     WHERE e.platform_id = $2 AND CASE WHEN $6::text IS NULL THEN e.disabled_at IS NULL AND (e.events ? $3 OR e.events ? '*') ELSE e.id = $6 END`,
    [id, platformId, ev.kind, JSON.stringify(webhookBody(ev.kind, ctx.now, ev.data)), ctx.now, ev.to ?? null],
  );
  if (ev.email) await emailPlatformAdmin(ctx, platformId, ev.email);
  return id;
}

/** An email to the platform's admin address (the `adminEmail` setting), when one is set; nothing otherwise. */
export async function emailPlatformAdmin(ctx: Pick<UseCaseCtx, 'tx' | 'now'>, platformId: string, email: { subject: string; text: string }): Promise<void> {
  await ctx.tx.query(
    `INSERT INTO jobs (id, platform_id, kind, payload, run_at, created_at, updated_at)
     SELECT $1, p.id, 'email', jsonb_build_object('to', p.settings->>'adminEmail', 'subject', $3::text, 'text', $4::text), $5, $5, $5
       FROM platforms p WHERE p.id = $2 AND p.settings->>'adminEmail' IS NOT NULL`,
    [newId('job'), platformId, email.subject, email.text, ctx.now],
  );
}

/** Inserts an outbox / timer row. `dedupeKey` makes scheduling idempotent. */
export async function enqueueJob(
  ctx: Pick<UseCaseCtx, 'tx' | 'now'>,
  j: { kind: string; payload: unknown; platformId: string; contractId?: string | null; runAt?: Date; dedupeKey?: string },
): Promise<void> {
  await ctx.tx.query(
    `INSERT INTO jobs (id, platform_id, contract_id, kind, payload, run_at, dedupe_key, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT (dedupe_key) DO NOTHING`,
    [newId('job'), j.platformId, j.contractId ?? null, j.kind, JSON.stringify(j.payload), j.runAt ?? ctx.now, j.dedupeKey ?? null, ctx.now],
  );
}
