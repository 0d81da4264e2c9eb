import { z } from 'zod';
import { AppError, forbidden } from '../../domain/errors.ts';
import { balancesOf, findPayout, listPayouts, requestPayout, type PayoutRow } from '../../usecases/payments/payouts.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { Amount, Currency, Id, ListQuery, NonNegativeAmount, Page } from '../schemas.ts';
import type { V1 } from './types.ts';

const BalanceSchema = z
  .object({
    currency: Currency,
    available: NonNegativeAmount.describe('What you may pay out now: what releases and paid payments left you, less payouts (minor units)'),
    pending: NonNegativeAmount.describe('Payouts on their way to your bank, not yet confirmed by the payment provider (minor units)'),
  })
  .describe('Your money in one currency');

const PayoutSchema = z
  .object({
    id: Id('payout').describe('The payout'),
    amount: Amount.describe('What is paid out, in minor units'),
    currency: Currency,
    status: z.enum(['processing', 'paid', 'failed']).describe('`processing`: on its way; `paid`: the provider paid it to your bank; `failed`: refused, the money is back in your balance'),
    failureCode: z.string().nullable().describe('Why the provider refused it (failed payouts)'),
    paidAt: z.string().nullable().describe('When the provider paid it (ISO 8601)'),
    createdAt: z.string().describe('When it was asked for (ISO 8601)'),
  })
  .describe('A payout of your balance to your bank');

const presentPayout = (p: PayoutRow) => ({
  id: p.id,
  amount: p.amount,
  currency: p.currency,
  status: p.status,
  failureCode: p.failure_code,
  paidAt: p.paid_at ? new Date(p.paid_at).toISOString() : null,
  createdAt: new Date(p.created_at).toISOString(),
});

/** Contractor balances and payouts (issue 14, item 5). */
export function payoutRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Payouts'];
  const userOf = (p: { userId: string | null }) => {
    if (!p.userId) throw forbidden('act for a user with the Acting-User header');
    return p.userId;
  };

  app.get(
    '/me/balance',
    { schema: { tags, summary: 'Your balance per currency: available to pay out, and payouts on their way', response: { 200: z.object({ data: z.array(BalanceSchema).describe('One entry per currency you hold money in') }) } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: await balancesOf(ctx, userOf(ctx.principal)) } })),
  );

  app.post(
    '/payouts',
    {
      schema: {
        tags,
        summary: 'Pay out part of your available balance to your bank (made with the payment provider after commit)',
        body: z.object({ amount: Amount.describe('What to pay out, in minor units: at most your available balance'), currency: Currency }).strict().meta({ example: { amount: 50000, currency: 'USD' } }),
        response: {
          201: PayoutSchema,
          202: PayoutSchema.describe('The provider has not answered within the wait: the payout is processing'),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        userOf(ctx.principal);
        const payout = await requestPayout(ctx, req.body);
        return {
          status: 202,
          body: presentPayout(payout),
          tellsOutcome: true,
          afterCommit: async (q, ops) => {
            const op = ops[0];
            if (op?.status === 'failed') throw new AppError('payment_declined', 'the provider refused the payout; the money is back in your balance', { declineCode: op.failure_code ?? 'refused' });
            const [row] = await q.query<PayoutRow>('SELECT * FROM payouts WHERE id = $1', [payout.id]);
            return { status: op?.status === 'pending' ? 202 : 201, body: presentPayout({ ...row!, amount: Number(row!.amount) }) };
          },
        };
      }),
  );

  app.get(
    '/payouts',
    { schema: { tags, summary: 'Your payouts, newest first', querystring: z.object(ListQuery).strict(), response: { 200: Page(PayoutSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const rows = await listPayouts(ctx, userOf(ctx.principal), decodeCursor(req.query.cursor), req.query.limit + 1);
        const pg = page(rows, req.query.limit);
        return { status: 200, body: { data: pg.data.map(presentPayout), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/payouts/:id',
    { schema: { tags, summary: 'One of your payouts', params: z.object({ id: Id('payout').describe('The payout') }).strict(), response: { 200: PayoutSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const p = await findPayout(ctx, req.params.id);
        if (!p || p.platform_id !== ctx.principal.platformId || (p.contractor_id !== ctx.principal.userId && !(ctx.principal.viaAdmin && ctx.principal.userId === null))) {
          throw new AppError('not_found', 'payout not found');
        }
        return { status: 200, body: presentPayout(p) };
      }),
  );
}
