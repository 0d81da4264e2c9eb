import { z } from 'zod';
import { listByParty } from '../../db/repos/party-list.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { isPlatformAdmin, type UseCaseCtx } from '../../usecases/context.ts';
import { payPayments, type PaymentRow } from '../../usecases/pay-payments.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page, presentPayment } from '../present.ts';
import { Id, IdParams, ListQuery, Page, PaymentMethod, PaymentSchema } from '../schemas.ts';
import type { Answer } from '../runner.ts';
import type { V1 } from './types.ts';

export function paymentRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Payments'];

  app.get(
    '/payments',
    {
      schema: {
        tags,
        summary: 'Payments you make (client) or receive (contractor), with status — the “Pay contractor” view',
        querystring: z
          .object({
            contractId: Id('contract').optional().describe('Only this contract’s payments'),
            status: z.enum(['draft', 'processing', 'paid', 'failed', 'refunded']).optional().describe('Only payments with this status'),
            role: z.enum(['client', 'contractor']).optional().describe('Only payments you make (client) or receive (contractor)'),
            ...ListQuery,
          })
          .strict(),
        response: { 200: Page(PaymentSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        const q = req.query;
        const rows = await listByParty<PaymentRow>(tx, 'payments', {
          platformId: principal.platformId,
          userId: isPlatformAdmin(principal) ? null : principal.userId,
          orgIds: Object.keys(principal.orgs ?? {}),
          role: q.role,
          filters: { contract_id: q.contractId, status: q.status },
          before: decodeCursor(q.cursor),
          limit: q.limit + 1,
        });
        const pg = page(rows, q.limit);
        // Each item names what it pays for (the list's words: contract and milestone titles).
        const titles = new Map(
          (
            await tx.query<{ id: string; contract_title: string; milestone_title: string | null }>(
              `SELECT p.id, c.title AS contract_title, m.title AS milestone_title FROM payments p
                 JOIN contracts c ON c.id = p.contract_id LEFT JOIN milestones m ON m.id = p.milestone_id WHERE p.id = ANY($1::text[])`,
              [pg.data.map((p) => p.id)],
            )
          ).map((t) => [t.id, t]),
        );
        const data = pg.data.map((p) => ({ ...presentPayment(p), contractTitle: titles.get(p.id)?.contract_title ?? '', milestoneTitle: titles.get(p.id)?.milestone_title ?? null }));
        return { status: 200, body: { data, nextCursor: pg.nextCursor } };
      }),
  );

  app.get('/payments/:id', { schema: { tags, summary: 'A payment', params: IdParams('payment'), response: { 200: PaymentSchema } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, principal }) => {
      const [row] = await tx.query<PaymentRow>('SELECT * FROM payments WHERE platform_id = $1 AND id = $2', [principal.platformId, req.params.id]);
      if (!row || (!isPlatformAdmin(principal) && principal.userId !== row.client_id && principal.userId !== row.contractor_id && !principal.orgs?.[row.client_id])) throw notFound('payment');
      return { status: 200, body: presentPayment(row) };
    }),
  );

  app.post(
    '/payments/:id/pay',
    { config: { orgRole: 'finance' }, schema: { tags, summary: 'Client: pay a draft payment', params: IdParams('payment'), body: z.object({ paymentMethod: PaymentMethod.optional() }).strict().nullish(), response: { 200: PaymentSchema, 202: PaymentSchema.describe('The provider has not answered within the wait: the payment is `processing`; both parties are notified when it answers.') } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const [paid] = await payPayments(ctx, [req.params.id], { paymentMethod: req.body?.paymentMethod });
        return afterCharges(ctx, { status: 200, body: presentPayment(paid!) }, [paid!.id], (rows) => presentPayment(rows[0]!));
      }),
  );

  app.post(
    '/payments/pay',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'Client: pay several draft payments at once (each its own card charge, made after the payments are checked; a decline leaves that payment unpaid)',
        body: z.object({ paymentIds: z.array(Id('payment')).min(1).max(100).describe('The draft payments to pay (1–100)'), paymentMethod: PaymentMethod.optional() }).strict(),
        response: {
          200: z.object({ data: z.array(PaymentSchema).describe('The payments, paid (or processing while a charge settles).') }),
          202: z.object({ data: z.array(PaymentSchema).describe('The payments; those the provider has not answered yet are processing.') }),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const paid = await payPayments(ctx, req.body.paymentIds, { paymentMethod: req.body.paymentMethod });
        return afterCharges(ctx, { status: 200, body: { data: paid.map(presentPayment) } }, paid.map((p) => p.id), (rows) => ({ data: rows.map(presentPayment) }));
      }),
  );
}

/**
 * Payments charged after commit answer with the provider's outcome: 402 `payment_declined`
 * naming the payment whose card was declined (that one is as it was), 202 while the provider has
 * not answered (the payments stay `processing`; the parties are notified), else 200.
 */
function afterCharges(ctx: UseCaseCtx, a: Answer, ids: string[], present: (rows: PaymentRow[]) => unknown): Answer {
  if (!ctx.operations?.length) return a;
  return {
    status: 202,
    body: a.body,
    tellsOutcome: true,
    afterCommit: async (q, ops) => {
      const declined = ops.find((o) => o.purpose === 'payment' && o.status === 'failed');
      if (declined) {
        throw new AppError('payment_declined', `the card was declined for payment ${declined.subject_id}`, { declineCode: declined.failure_code ?? 'card_declined', paymentId: declined.subject_id });
      }
      const rows = await q.query<PaymentRow>('SELECT * FROM payments WHERE id = ANY($1)', [ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return { status: ops.some((o) => o.status === 'pending') ? 202 : 200, body: present(ids.map((id) => byId.get(id)!)) };
    },
  };
}
