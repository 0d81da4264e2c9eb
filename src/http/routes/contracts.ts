import { z } from 'zod';
import type { Queryable } from '../../db/client.ts';
import { listByParty } from '../../db/repos/party-list.ts';
import { contractExtras, overviews } from '../../db/repos/contract-extras.ts';
import { findContractPage, toContract, type ContractRow, type Overview } from '../../db/repos/contracts.ts';
import { hasUnreadSql, unreadByContract } from '../../db/repos/messages.ts';
import { forbidden, notFound, validation } from '../../domain/errors.ts';
import { ExternalId, MetadataFilter, splitMetadataFilter } from '../../domain/operator-fields.ts';
import { closeContract } from '../../usecases/close-contract.ts';
import { roleIn } from '../../usecases/access.ts';
import { isPlatformAdmin } from '../../usecases/context.ts';
import { createContract } from '../../usecases/create-contract.ts';
import { respondToContract } from '../../usecases/respond-to-contract.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, loadContractPage, page, presentContractPage } from '../present.ts';
import { ContractCreateBody, ContractSchema, ExpectedVersion, Id, IdParams, ListQuery, NonNegativeAmount, Page } from '../schemas.ts';
import type { V1 } from './types.ts';
import { presentRefundRequest, RefundRequestSchema } from './refund-requests.ts';
import { expectedVersion } from './versions.ts';

const CONTRACT_SORTS = ['created_desc', 'updated_desc', 'title_asc', 'escrow_desc'] as const;
/** Sorted lists other than newest-first order this many of the newest matching contracts. */
const SORT_WINDOW = 1000;

/**
 * Search (`q`, bound with the caller as `[pattern, me]`): the title, or the other party's name or
 * email — a user party other than the caller, or the client organisation when the caller is the
 * contractor (the platform admin, `me` = '', searches both parties).
 */
const SEARCH_SQL = `EXISTS (SELECT 1 FROM (SELECT (?::text[])[1] AS pat, (?::text[])[2] AS me) s WHERE title ILIKE s.pat
  OR EXISTS (SELECT 1 FROM users u WHERE u.id IN (client_id, contractor_id) AND u.id <> s.me AND (u.name ILIKE s.pat OR u.email ILIKE s.pat))
  OR EXISTS (SELECT 1 FROM organizations o WHERE o.id = client_id AND (s.me = '' OR contractor_id = s.me) AND o.name ILIKE s.pat))`;

/** Cursors of sorted lists: the offset of the next page. */
const encodeOffset = (n: number) => Buffer.from(`o:${n}`, 'utf8').toString('base64url');
function decodeOffset(cursor: string | undefined): number {
  if (!cursor) return 0;
  const m = /^o:(\d{1,4})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw validation('cursor', 'is not a cursor returned by this API for this sort');
  return Number(m[1]);
}

export function contractRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Contracts'];

  app.post('/contracts', { schema: { tags, summary: 'Propose a contract (starts as a proposal)', body: ContractCreateBody, response: { 201: ContractSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const row = await createContract(ctx, req.body);
      return { status: 201, body: await loadContractPage(ctx.tx, row, ctx.principal.userId) };
    }),
  );

  app.get(
    '/contracts',
    {
      schema: {
        tags,
        summary: 'List your contracts (as client, contractor or both), each with both parties, its overview and what waits for you; search and sort',
        querystring: z
          .object({
            role: z.enum(['client', 'contractor']).optional().describe('Only contracts where you are on this side'),
            status: z.enum(['proposal', 'active', 'closed', 'withdrawn', 'declined']).optional().describe('Only contracts in this status'),
            unread: z.enum(['true', 'false']).optional().meta({ description: '`true`: only contracts with unread messages; `false`: only those without.' }),
            q: z.string().trim().min(1).max(200).optional().describe('Search, case-insensitive: the title, or the other party’s name or email, contains this'),
            sort: z
              .enum(CONTRACT_SORTS)
              .optional()
              .describe(
                '`created_desc` (default: newest first), `updated_desc` (last changed first), `title_asc`, `escrow_desc` (most held in escrow first). ' +
                  'Sorts other than the default order the 1,000 newest matching contracts.',
              ),
            externalId: ExternalId.optional(),
            metadata: MetadataFilter.optional(),
            partyId: Id('user').optional().describe('contracts where this user is the client or the contractor (for a user: contracts with this other party)'),
            createdFrom: z.iso.date().optional().describe('created on or after this date (UTC)'),
            createdTo: z.iso.date().optional().describe('created before this date (UTC)'),
            ...ListQuery,
          })
          .strict(),
        response: { 200: Page(ContractSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        const q = req.query;
        const viewer = isPlatformAdmin(principal) ? null : principal.userId;
        if (q.unread !== undefined && !viewer) throw forbidden('unread messages belong to a user: use the Acting-User header');
        const sort = q.sort ?? 'created_desc';
        const byId = sort === 'created_desc';
        const offset = byId ? 0 : decodeOffset(q.cursor);
        const rows = await listByParty<ContractRow>(tx, 'contracts', {
          platformId: principal.platformId,
          userId: viewer,
          orgIds: viewer ? Object.keys(principal.orgs ?? {}) : undefined,
          role: q.role,
          filters: { status: q.status, external_id: q.externalId },
          where: [
            ['metadata @> ?::jsonb', q.metadata === undefined ? undefined : JSON.stringify(Object.fromEntries([splitMetadataFilter(q.metadata)]))],
            ['? IN (client_id, contractor_id)', q.partyId],
            ['created_at >= ?::date', q.createdFrom],
            ['created_at < ?::date', q.createdTo],
            [SEARCH_SQL, q.q === undefined ? undefined : [`%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`, viewer ?? '']],
          ],
          condition: q.unread === undefined ? undefined : (me) => `${q.unread === 'true' ? '' : 'NOT '}${hasUnreadSql('contracts.id', me)}`,
          before: byId ? decodeCursor(q.cursor) : null,
          limit: byId ? q.limit + 1 : SORT_WINDOW,
        });
        let pg: { data: ContractRow[]; nextCursor: string | null };
        let ovs = new Map<string, Overview>();
        if (byId) pg = page(rows, q.limit);
        else {
          if (sort === 'escrow_desc') ovs = await overviews(tx, rows);
          const key = (c: ContractRow): [number | string, string] =>
            sort === 'updated_desc' ? [-new Date(c.updated_at).getTime(), c.id] : sort === 'title_asc' ? [c.title.toLocaleLowerCase('en'), c.id] : [-(ovs.get(c.id)?.inEscrow ?? 0), c.id];
          const sorted = [...rows].sort((a, b) => {
            const [ka, ia] = key(a);
            const [kb, ib] = key(b);
            return ka < kb ? -1 : ka > kb ? 1 : ia < ib ? 1 : ia > ib ? -1 : 0;
          });
          const data = sorted.slice(offset, offset + q.limit);
          pg = { data, nextCursor: offset + q.limit < sorted.length ? encodeOffset(offset + q.limit) : null };
        }
        const missing = pg.data.filter((c) => !ovs.has(c.id));
        if (missing.length) for (const [id, o] of await overviews(tx, missing)) ovs.set(id, o);
        const extras = await contractExtras(tx, pg.data, viewer);
        const unread = viewer ? await unreadByContract(tx, viewer, pg.data.map((c) => c.id)) : new Map<string, number>();
        return {
          status: 200,
          body: {
            data: pg.data.map((c) => ({ ...toContract({ ...c, unread_messages: unread.get(c.id) ?? 0 }), ...extras.get(c.id)!, overview: ovs.get(c.id) })),
            nextCursor: pg.nextCursor,
          },
        };
      }),
  );

  app.get(
    '/contracts/:id',
    { schema: { tags, summary: 'A contract with its payment overview (read from the ledger) and milestones', params: IdParams('contract'), response: { 200: ContractSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        // The page most read: contract, overview, milestones, parties and next action in one statement.
        const found = await findContractPage(ctx.tx, ctx.principal.platformId, req.params.id, ctx.principal.userId);
        if (!found) throw notFound('contract');
        roleIn(ctx, found.contract);
        return { status: 200, body: presentContractPage(found) };
      }),
  );

  for (const command of ['activate', 'withdraw', 'decline'] as const) {
    const summary = {
      activate: 'The party who did not propose the contract accepts it: it goes live with its terms and milestones',
      withdraw: 'The party who proposed the contract withdraws it',
      decline: 'The other party declines the proposal',
    }[command];
    app.post(
      `/contracts/:id/${command}`,
      { schema: { tags, summary, params: IdParams('contract'), body: z.object(ExpectedVersion).strict().nullish(), response: { 200: ContractSchema } } },
      (req, reply) =>
        runner.run(req, reply, async (ctx) => {
          const row = await respondToContract(ctx, req.params.id, command, expectedVersion(req, req.body?.expectedVersion));
          const answer = { status: 200, body: await loadContractPage(ctx.tx, row, ctx.principal.userId) };
          // Under on_acceptance the activation charged milestones after commit: the page as the answers left it.
          return ctx.operations?.length ? { ...answer, afterCommit: async (q: Queryable) => ({ status: 200, body: await loadContractPage(q, row, ctx.principal.userId) }) } : answer;
        }),
    );
  }

  app.post(
    '/contracts/:id/close',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'Close a live contract; a client’s refund of escrow is a refund request the contractor answers (202)',
        description:
          'Escrow still held is split between `release` (to the contractor) and `refund` (to the client); either may be left out and is then the rest; ' +
          'both left out refunds everything. Releasing, or a contractor giving escrow back, closes at once (200 with the contract). ' +
          'A client asking for any refund opens a refund request instead (202 with it): the contractor accepts (the contract closes), counters, or declines; ' +
          'declined or unanswered within the policy’s disputeResponseDays, the escrow goes to a dispute. A missing body is `{}`.',
        params: IdParams('contract'),
        body: z
          .object({
            refund: NonNegativeAmount.optional().describe('Escrow refunded to the client, in minor units (default: the rest)'),
            release: NonNegativeAmount.optional().describe('Escrow released to the contractor, in minor units (default: the rest)'),
            message: z.string().trim().min(1).max(2000).optional().describe('A note to the other party with a refund request (1–2000 characters)'),
            ...ExpectedVersion,
          })
          .strict()
          .nullish()
          .meta({ example: { refund: 5000, message: 'Only the first screen was delivered' } }),
        response: { 200: ContractSchema, 202: RefundRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const body = req.body ?? {};
        const out = await closeContract(ctx, req.params.id, { ...body, expectedVersion: expectedVersion(req, body.expectedVersion) });
        if (out.kind === 'refund_request') return { status: 202, body: presentRefundRequest(out.request, out.contract.currency) };
        return { status: 200, body: await loadContractPage(ctx.tx, out.contract, ctx.principal.userId) };
      }),
  );
}
