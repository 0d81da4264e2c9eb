import type { ContractRow } from '../db/repos/contracts.ts';
import { newId } from '../domain/ids.ts';
import type { Role } from '../domain/policy.ts';
import { describe, type EventData, type EventKind } from '../notify/templates.ts';
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
 * outbox rows (one email per notification, one webhook delivery per subscribed endpoint).
 * This is the only writer of activity, notifications and outgoing messages.
 */
export async function recordEvent(ctx: UseCaseCtx, contract: ContractRow, ev: EventInput): Promise<string> {
  const { tx, now, principal } = ctx;
  const data: EventData = { currency: contract.currency, ...ev.data };
  const activityId = newId('activity');
  const actorId = ev.actorRole === 'system' ? null : ev.actorRole === 'admin' ? null : principal.userId;
  await tx.query(
    `INSERT INTO activity (id, platform_id, contract_id, milestone_id, actor_id, actor_role, kind, data, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
    [activityId, contract.platform_id, contract.id, ev.milestoneId ?? null, actorId, ev.actorRole, ev.kind, JSON.stringify(data), now],
  );
  const roles: Role[] =
    ev.notify ?? (ev.actorRole === 'client' ? ['contractor'] : ev.actorRole === 'contractor' ? ['client'] : ['client', 'contractor']);
  const text = describe(ev.kind, data, contract.title);
  const jobs: unknown[][] = [];
  for (const role of roles) {
    const userId = role === 'client' ? contract.client_id : contract.contractor_id;
    const notificationId = newId('notification');
    await tx.query(
      `INSERT INTO notifications (id, platform_id, user_id, contract_id, kind, title, body, data, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
      [notificationId, contract.platform_id, userId, contract.id, ev.kind, text.title, text.body, JSON.stringify({ ...data, milestoneId: ev.milestoneId ?? null }), now],
    );
    jobs.push(['email', { notificationId }]);
  }
  const endpoints = await tx.query<{ id: string; events: string[] }>(
    'SELECT id, events FROM webhook_endpoints WHERE platform_id = $1 AND disabled_at IS NULL',
    [contract.platform_id],
  );
  for (const ep of endpoints) {
    if (!ep.events.includes('*') && !ep.events.includes(ev.kind)) continue;
    jobs.push([
      'webhook',
      {
        endpointId: ep.id,
        event: { id: activityId, type: ev.kind, createdAt: now.toISOString(), contractId: contract.id, milestoneId: ev.milestoneId ?? null, data },
      },
    ]);
  }
  for (const [kind, payload] of jobs) await enqueueJob(ctx, { kind: kind as string, payload, contractId: contract.id, platformId: contract.platform_id });
  return activityId;
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
