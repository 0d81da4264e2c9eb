import { z } from 'zod';
import { loadDispute, resolveDispute, respondToDispute } from '../../usecases/disputes.ts';
import type { RouteContext } from '../app.ts';
import { presentDispute } from '../present.ts';
import { DisputeSchema, FileIds, IdParams, NonNegativeAmount } from '../schemas.ts';
import type { V1 } from './types.ts';

export function disputeRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Disputes'];

  app.get('/disputes/:id', { schema: { tags, summary: 'A dispute', params: IdParams('dispute'), response: { 200: DisputeSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const { dispute } = await loadDispute(ctx, req.params.id, false);
      return { status: 200, body: presentDispute(dispute) };
    }),
  );

  app.post(
    '/disputes/:id/respond',
    {
      schema: {
        tags,
        summary: 'The other party answers the dispute before its deadline',
        params: IdParams('dispute'),
        body: z.object({ message: z.string().trim().min(1).max(5000).describe('Your side of it (1–5000 characters)'), attachmentIds: FileIds.optional() }).strict(),
        response: { 200: DisputeSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => ({ status: 200, body: presentDispute(await respondToDispute(ctx, req.params.id, req.body)) })),
  );

  app.post(
    '/disputes/:id/resolve',
    {
      schema: {
        tags,
        summary: 'Platform admin: split the escrow between release to the contractor and refund to the client',
        params: IdParams('dispute'),
        body: z.object({ releaseAmount: NonNegativeAmount.describe('Released to the contractor, in minor units'), refundAmount: NonNegativeAmount.describe('Refunded to the client, in minor units; the two add up to the disputed amount') }).strict().meta({ example: { releaseAmount: 60000, refundAmount: 40000 } }),
        response: { 200: DisputeSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await resolveDispute(ctx, req.params.id, req.body);
        return { status: 200, body: presentDispute(r.dispute) };
      }),
  );
}
