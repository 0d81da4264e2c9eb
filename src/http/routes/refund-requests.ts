import { z } from 'zod';
import { loadContract } from '../../usecases/access.ts';
import {
  acceptRefundRequest,
  counterRefundRequest,
  declineRefundRequest,
  loadRefundRequest,
  withdrawRefundRequest,
  type RefundRequestRow,
} from '../../usecases/refund-requests.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, loadContractPage, page } from '../present.ts';
import { ContractSchema, ExpectedVersion, IdParams, ListQuery, NonNegativeAmount, Page } from '../schemas.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

export const RefundRequestSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    requestedBy: z.string().nullable().describe('the user who asked'),
    requesterRole: z.enum(['client', 'contractor']).describe('The side of the contract that asked'),
    status: z.enum(['open', 'accepted', 'countered', 'declined', 'withdrawn', 'escalated', 'failed']).describe(
      'open: waits for the other party · accepted: the contract closed with this split · countered: replaced by the other party’s proposal (counterOf) · declined / escalated: the escrow went to a dispute · withdrawn · failed: the escrow changed before it was accepted',
    ),
    refund: z.number().int().describe('escrow back to the client, minor units'),
    release: z.number().int().describe('escrow released to the contractor, minor units'),
    currency: z.string(),
    message: z.string().nullable().describe('The asker’s note to the other party'),
    respondBy: z.string().describe('after this, an open request becomes a dispute'),
    counterOf: z.string().nullable().describe('The request this one counters; null for a first request'),
    answerReason: z.string().nullable().describe('Why the other party declined; null otherwise'),
    version: z.number().int(),
    resolvedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({
    id: 'RefundRequest',
    description: 'A client’s refund of escrow asked when closing a contract; the contractor accepts, counters or declines it.',
    example: {
      id: 'rfr_01jd8m3n4p5q6r7s8t9v0w1x2y', contractId: 'ctr_01jd8m3n4p5q6r7s8t9v0w1x2y', requestedBy: 'usr_01jd0000000000000000000001', requesterRole: 'client', status: 'open',
      refund: 7000, release: 3000, currency: 'USD', message: 'Half the work was delivered', respondBy: '2026-11-29T10:00:00.000Z', counterOf: null, answerReason: null, version: 1,
      resolvedAt: null, createdAt: '2026-11-22T10:00:00.000Z', updatedAt: '2026-11-22T10:00:00.000Z',
    },
  });

export const presentRefundRequest = (r: RefundRequestRow, currency: string): z.infer<typeof RefundRequestSchema> => ({
  id: r.id,
  contractId: r.contract_id,
  requestedBy: r.requested_by,
  requesterRole: r.requester_role,
  status: r.status,
  refund: r.refund_amount,
  release: r.release_amount,
  currency,
  message: r.message,
  respondBy: r.respond_by.toISOString(),
  counterOf: r.counter_of,
  answerReason: r.answer_reason,
  version: r.version,
  resolvedAt: r.resolved_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const VersionBody = z.object(ExpectedVersion).strict().nullish();

export function refundRequestRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Contracts'];

  app.get(
    '/contracts/:id/refund-requests',
    { schema: { tags, summary: 'Refund requests made when closing this contract, newest first', params: IdParams('contract'), querystring: z.object(ListQuery).strict(), response: { 200: Page(RefundRequestSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        const before = decodeCursor(req.query.cursor);
        const rows = await ctx.tx.query<RefundRequestRow>(
          'SELECT * FROM refund_requests WHERE contract_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
          [contract.id, before, req.query.limit + 1],
        );
        const pg = page(rows, req.query.limit);
        return { status: 200, body: { data: pg.data.map((r) => presentRefundRequest(r, contract.currency)), nextCursor: pg.nextCursor } };
      }),
  );

  app.get('/refund-requests/:id', { schema: { tags, summary: 'A refund request', params: IdParams('refundRequest'), response: { 200: RefundRequestSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const { request, contract } = await loadRefundRequest(ctx, req.params.id, false);
      return { status: 200, body: presentRefundRequest(request, contract.currency) };
    }),
  );

  app.post(
    '/refund-requests/:id/accept',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'The other party accepts the split: the contract closes and the escrow moves as asked',
        params: IdParams('refundRequest'),
        body: VersionBody,
        response: { 200: RefundRequestSchema.extend({ contract: ContractSchema }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { request, contract } = await acceptRefundRequest(ctx, req.params.id, expectedVersion(req, req.body?.expectedVersion));
        return { status: 200, body: { ...presentRefundRequest(request, contract.currency), contract: await loadContractPage(ctx.tx, contract, ctx.principal.userId) } };
      }),
  );

  app.post(
    '/refund-requests/:id/counter',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'The other party proposes another refund instead; the first party then accepts or declines it',
        params: IdParams('refundRequest'),
        body: z.object({ refund: NonNegativeAmount.describe('The refund you propose instead, in minor units; the rest of the escrow is released'), message: z.string().trim().min(1).max(2000).optional().describe('A note to the other party (1–2000 characters)'), ...ExpectedVersion }).strict().meta({ example: { refund: 3000, message: 'The first two screens were delivered' } }),
        response: { 201: RefundRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { expectedVersion: v, ...input } = req.body;
        const row = await counterRefundRequest(ctx, req.params.id, { ...input, expectedVersion: expectedVersion(req, v) });
        const { contract } = await loadContract(ctx, row.contract_id, false);
        return { status: 201, body: presentRefundRequest(row, contract.currency) };
      }),
  );

  app.post(
    '/refund-requests/:id/decline',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'The other party declines: the escrow goes to a dispute the platform settles',
        params: IdParams('refundRequest'),
        body: z.object({ reason: z.string().trim().min(1).max(2000).optional().describe('Why (1–2000 characters)'), ...ExpectedVersion }).strict().nullish(),
        response: { 200: RefundRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const body = req.body ?? {};
        const row = await declineRefundRequest(ctx, req.params.id, { reason: body.reason, expectedVersion: expectedVersion(req, body.expectedVersion) });
        const { contract } = await loadContract(ctx, row.contract_id, false);
        return { status: 200, body: presentRefundRequest(row, contract.currency) };
      }),
  );

  app.post(
    '/refund-requests/:id/withdraw',
    { config: { orgRole: 'finance' }, schema: { tags, summary: 'The party who asked withdraws the request; nothing moves', params: IdParams('refundRequest'), body: VersionBody, response: { 200: RefundRequestSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const row = await withdrawRefundRequest(ctx, req.params.id, expectedVersion(req, req.body?.expectedVersion));
        const { contract } = await loadContract(ctx, row.contract_id, false);
        return { status: 200, body: presentRefundRequest(row, contract.currency) };
      }),
  );
}
