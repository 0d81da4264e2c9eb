import { z } from 'zod';
import { findContract } from '../../db/repos/contracts.ts';
import { findMilestone, toMilestone } from '../../db/repos/milestones.ts';
import { findUser, normalizeEmail, toUser, type UserRow } from '../../db/repos/users.ts';
import { forbidden, notFound } from '../../domain/errors.ts';
import { ExternalId, MetadataPatch } from '../../domain/operator-fields.ts';
import { EVENT_KINDS } from '../../notify/templates.ts';
import { isPlatformAdmin, type Principal } from '../../usecases/context.ts';
import type { DisputeRow } from '../../usecases/disputes.ts';
import { updateOperatorFields, type OperatorKind } from '../../usecases/operator-fields.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, loadContractPage, page, presentDispute } from '../present.ts';
import { ContractSchema, DisputeSchema, exampleId, Id, IdParams, ListQuery, MilestoneSchema, Page, Timestamp, UserSchema } from '../schemas.ts';
import type { V1 } from './types.ts';

const requireAdmin = (p: Principal) => {
  if (!isPlatformAdmin(p)) throw forbidden('only the platform admin may do this');
};

const OperatorPatchBody = z
  .object({ externalId: ExternalId.nullable().optional().describe('your own id; null clears it'), metadata: MetadataPatch.optional() })
  .strict()
  .meta({ example: { externalId: 'order-8841', metadata: { team: 'web', obsolete: null } } });

const TokenInfoSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable().describe('The label given at creation; null when none'),
    lastFour: z.string().describe('the last four characters of the token (its value is never shown again)'),
    createdAt: Timestamp,
    revokedAt: Timestamp.nullable(),
  })
  .meta({ id: 'TokenInfo', description: 'An API token of a user, without its value.', example: { id: exampleId('token'), name: 'marketplace backend', lastFour: 'x9Qk', createdAt: '2027-01-05T10:00:00.000Z', revokedAt: null } });

const EventSchema = z
  .object({
    id: z.string().describe('the activity id; the same as the webhook body’s data and the stream’s event id'),
    type: z.enum(EVENT_KINDS).describe('What happened (the webhook event type)'),
    createdAt: Timestamp,
    contractId: z.string(),
    milestoneId: z.string().nullable(),
    actorRole: z.string().describe('Who acted: `client`, `contractor`, `admin` or `system`'),
    actorId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).describe('The event’s details (the webhook body’s `data`)'),
  })
  .meta({
    id: 'Event',
    description: 'An event of the platform: an activity entry, as notifications and webhooks carry it.',
    example: {
      id: exampleId('activity'), type: 'milestone.funded', createdAt: '2027-01-05T10:00:00.000Z', contractId: exampleId('contract'), milestoneId: exampleId('milestone'),
      actorRole: 'client', actorId: exampleId('user', 1), data: { title: 'Wireframes', amount: 150000, currency: 'USD', status: 'funded' },
    },
  });

type ActivityRow = { id: string; kind: (typeof EVENT_KINDS)[number]; created_at: Date; contract_id: string; milestone_id: string | null; actor_role: string; actor_id: string | null; data: Record<string, unknown> };

/** Dates in list filters: a calendar date or a timestamp. */
const DateFilter = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

/**
 * The operator's surface: its own ids and metadata on users, contracts and milestones, lookups
 * by them, a user's tokens (never their values), the platform's disputes, and every event
 * since a given one (to catch up after downtime, or after missed webhooks).
 */
export function operatorRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Operator'];

  const patchRoute = <K extends OperatorKind>(kind: K, path: string, present: (ctx: Parameters<Parameters<typeof runner.run>[2]>[0], id: string) => Promise<unknown>, response: z.ZodType) =>
    app.patch(
      path,
      {
        schema: {
          tags,
          summary: `Set your externalId and metadata on a ${kind} (platform admin)`,
          params: IdParams(kind),
          body: OperatorPatchBody,
          response: { 200: response },
        },
      },
      (req, reply) =>
        runner.run(req, reply, async (ctx) => {
          const { id } = req.params as { id: string };
          await updateOperatorFields(ctx, kind, id, req.body as z.infer<typeof OperatorPatchBody>);
          return { status: 200, body: await present(ctx, id) };
        }),
    );
  patchRoute('user', '/admin/users/:id', async ({ tx, principal }, id) => toUser((await findUser(tx, principal.platformId, id))!), UserSchema);
  patchRoute('contract', '/admin/contracts/:id', async ({ tx, principal }, id) => loadContractPage(tx, (await findContract(tx, principal.platformId, id))!), ContractSchema);
  patchRoute('milestone', '/admin/milestones/:id', async ({ tx, principal }, id) => {
    const m = (await findMilestone(tx, principal.platformId, id))!;
    const c = (await findContract(tx, principal.platformId, m.contract_id))!;
    return toMilestone(m, c.currency);
  }, MilestoneSchema);

  app.get(
    '/users',
    {
      schema: {
        tags,
        summary: 'Find users of the platform by email or externalId (platform admin), newest first',
        querystring: z.object({ email: z.string().max(320).optional().describe('Only the user with this email address'), externalId: ExternalId.optional(), ...ListQuery }).strict(),
        response: { 200: Page(UserSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requireAdmin(principal);
        const q = req.query;
        const rows = await tx.query<UserRow>(
          `SELECT * FROM users WHERE platform_id = $1 AND ($2::text IS NULL OR email_normalized = $2) AND ($3::text IS NULL OR external_id = $3)
             AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $5`,
          [principal.platformId, q.email === undefined ? null : normalizeEmail(q.email), q.externalId ?? null, decodeCursor(q.cursor), q.limit + 1],
        );
        const pg = page(rows, q.limit);
        return { status: 200, body: { data: pg.data.map(toUser), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/users/:id/tokens',
    { schema: { tags, summary: 'A user’s API tokens, without their values (the admin, or the user themself)', params: IdParams('user'), querystring: z.object(ListQuery).strict(), response: { 200: Page(TokenInfoSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        if (!isPlatformAdmin(principal) && principal.userId !== req.params.id) throw notFound('user');
        if (!(await findUser(tx, principal.platformId, req.params.id))) throw notFound('user');
        const rows = await tx.query<{ id: string; name: string | null; last_four: string; created_at: Date; revoked_at: Date | null }>(
          `SELECT id, name, last_four, created_at, revoked_at FROM api_tokens WHERE platform_id = $1 AND user_id = $2 AND kind = 'user' AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4`,
          [principal.platformId, req.params.id, decodeCursor(req.query.cursor), req.query.limit + 1],
        );
        const pg = page(rows, req.query.limit);
        return {
          status: 200,
          body: { data: pg.data.map((t) => ({ id: t.id, name: t.name, lastFour: t.last_four, createdAt: t.created_at.toISOString(), revokedAt: t.revoked_at?.toISOString() ?? null })), nextCursor: pg.nextCursor },
        };
      }),
  );

  app.get(
    '/admin/disputes',
    {
      schema: {
        tags,
        summary: 'The platform’s disputes, newest first (platform admin): to work through the open ones',
        querystring: z
          .object({
            status: z.enum(['open', 'responded', 'resolved']).optional().describe('Only disputes with this status'),
            contractId: Id('contract').optional().describe('Only this contract’s disputes'),
            partyId: Id('user').optional().describe('disputes on contracts where this user is the client or the contractor'),
            from: DateFilter.optional().describe('opened at or after'),
            to: DateFilter.optional().describe('opened before'),
            ...ListQuery,
          })
          .strict(),
        response: { 200: Page(DisputeSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requireAdmin(principal);
        const q = req.query;
        const rows = await tx.query<DisputeRow>(
          `SELECT d.* FROM disputes d JOIN contracts c ON c.id = d.contract_id
           WHERE d.platform_id = $1 AND ($2::text IS NULL OR d.status = $2) AND ($3::text IS NULL OR d.contract_id = $3)
             AND ($4::text IS NULL OR c.client_id = $4 OR c.contractor_id = $4)
             AND ($5::timestamptz IS NULL OR d.created_at >= $5) AND ($6::timestamptz IS NULL OR d.created_at < $6)
             AND ($7::text IS NULL OR d.id < $7)
           ORDER BY d.id DESC LIMIT $8`,
          [principal.platformId, q.status ?? null, q.contractId ?? null, q.partyId ?? null, q.from ?? null, q.to ?? null, decodeCursor(q.cursor), q.limit + 1],
        );
        const pg = page(rows, q.limit);
        return { status: 200, body: { data: pg.data.map(presentDispute), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/admin/events',
    {
      schema: {
        tags,
        summary: 'Every event of the platform after a given one, oldest first (platform admin): resync after downtime',
        description:
          'Events are the activity entries that notifications and webhooks are made from, with the same ids. Start with no `after`, then pass the last id you ' +
          'processed (or `nextAfter`) until `data` comes back empty. `type` and `contractId` narrow the list.',
        querystring: z
          .object({
            after: Id('activity').optional().describe('only events after this one'),
            type: z.enum(EVENT_KINDS).optional().describe('Only events of this type'),
            contractId: Id('contract').optional().describe('Only this contract’s events'),
            limit: z.coerce.number().int().min(1).max(500).default(100).describe('At most this many events (1–500)'),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(EventSchema).describe('The events, oldest first'), nextAfter: z.string().nullable().describe('pass as `after` for the next page; null when this page is empty') }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requireAdmin(principal);
        const q = req.query;
        const rows = await tx.query<ActivityRow>(
          `SELECT id, kind, created_at, contract_id, milestone_id, actor_role, actor_id, data FROM activity
           WHERE platform_id = $1 AND ($2::text IS NULL OR id > $2) AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR contract_id = $4)
           ORDER BY id LIMIT $5`,
          [principal.platformId, q.after ?? null, q.type ?? null, q.contractId ?? null, q.limit],
        );
        return {
          status: 200,
          body: {
            data: rows.map((r) => ({ id: r.id, type: r.kind, createdAt: r.created_at.toISOString(), contractId: r.contract_id, milestoneId: r.milestone_id, actorRole: r.actor_role, actorId: r.actor_id, data: r.data })),
            nextAfter: rows.length ? rows[rows.length - 1]!.id : null,
          },
        };
      }),
  );
}
