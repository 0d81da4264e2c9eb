import { z } from 'zod';
import { AppError, forbidden } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { isPlatformAdmin, type Principal, type UseCaseCtx } from '../../usecases/context.ts';
import { applyChargebackClosed, applyChargebackCreated, getChargeback, listChargebacks, type ChargebackRow } from '../../usecases/payments/chargebacks.ts';
import {
  DIFFERENCE_KINDS,
  differencesOf,
  findRun,
  listRuns,
  MAX_PERIOD_DAYS,
  performReconciliation,
  requestReconciliation,
  type DifferenceRow,
  type RunRow,
} from '../../usecases/payments/reconciliation.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { Amount, Currency, Id, IdParams, ListQuery, NonNegativeAmount, Page, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const requireAdmin = (p: Principal) => {
  if (!isPlatformAdmin(p)) throw forbidden('only the platform admin may do this');
};
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const RunSchema = z
  .object({
    id: Id('reconciliation').describe('The reconciliation run'),
    provider: z.string().describe('The payment provider compared (`sandbox`, `stripe`)'),
    periodStart: Timestamp.describe('Start of the period compared (inclusive, ISO 8601)'),
    periodEnd: Timestamp.describe('End of the period compared (exclusive, ISO 8601)'),
    trigger: z.enum(['schedule', 'admin']).describe('`schedule`: the daily run of a day (UTC); `admin`: asked for with POST /v1/admin/reconciliations'),
    status: z.enum(['pending', 'completed']).describe('`pending`: the provider’s listing was not read yet (retried by the worker); `completed`: compared'),
    providerObjects: z.number().int().nullable().describe('Charges, refunds, transfers and payouts the provider listed for the period'),
    operations: z.number().int().nullable().describe('Provider operations of the platform requested in the period'),
    differenceCount: z.number().int().nullable().describe('How many differences were found (0: the provider, the operations and the ledger agree)'),
    lastError: z.string().nullable().describe('Why the last attempt to read the provider’s listing failed (pending runs)'),
    createdAt: Timestamp.describe('When the run was requested (ISO 8601)'),
    completedAt: Timestamp.nullable().describe('When the comparison was made (ISO 8601)'),
  })
  .describe('A reconciliation of the payment provider’s objects with the provider operations and the ledger, for one period');

const DifferenceSchema = z
  .object({
    kind: z
      .enum(DIFFERENCE_KINDS)
      .describe(
        'What differs: `provider_object_without_operation` (an orphan at the provider), `operation_without_provider_object`, `operation_unanswered`, ' +
          '`amount_mismatch`, `currency_mismatch`, `status_mismatch`, `ledger_entry_count` (a succeeded operation without exactly one journal entry), `ledger_amount_mismatch`',
      ),
    objectKind: z.string().nullable().describe('`charge`, `refund`, `transfer` or `payout`'),
    providerRef: z.string().nullable().describe('The provider’s id of the object'),
    operationId: z.string().nullable().describe('The provider operation concerned, if any'),
    detail: z.record(z.string(), z.unknown()).describe('What each side says: the provider’s object, the operation, the ledger amount or entry count'),
  })
  .describe('One difference; reported, never corrected automatically');

const RunDetailSchema = RunSchema.extend({ differences: z.array(DifferenceSchema).describe('Every difference found, in the order found') }).describe(
  'A reconciliation run with its differences',
);

const presentRun = (r: RunRow) => ({
  id: r.id,
  provider: r.provider,
  periodStart: iso(r.period_start)!,
  periodEnd: iso(r.period_end)!,
  trigger: r.trigger,
  status: r.status,
  providerObjects: r.provider_objects,
  operations: r.operations,
  differenceCount: r.differences,
  lastError: r.last_error,
  createdAt: iso(r.created_at)!,
  completedAt: iso(r.completed_at),
});
const presentDifference = (d: DifferenceRow) => ({ kind: d.kind, objectKind: d.object_kind, providerRef: d.provider_ref, operationId: d.operation_id, detail: d.detail });

const ChargebackSchema = z
  .object({
    id: Id('chargeback').describe('The chargeback'),
    provider: z.string().describe('The payment provider that reported it'),
    disputeId: z.string().describe('The provider’s dispute id'),
    chargeReference: z.string().describe('The provider’s reference of the disputed charge'),
    operationId: z.string().nullable().describe('The provider operation that made the charge, if any'),
    contractId: z.string().nullable().describe('The contract the charge paid for (null: a charge of no contract, see reconciliation)'),
    milestoneId: z.string().nullable().describe('The milestone whose escrow the charge funded (its escrow is frozen while the chargeback is open)'),
    paymentId: z.string().nullable().describe('The draft or invoice payment the charge paid, if it paid one'),
    amount: Amount.describe('The disputed amount, in minor units'),
    currency: Currency,
    status: z.enum(['open', 'won', 'lost']).describe('`open`: the bank has not decided (the escrow is frozen); `won`: nothing moved; `lost`: the amount went back to the client’s card'),
    fromEscrow: NonNegativeAmount.nullable().describe('Lost: what left the milestone’s escrow (the milestone was refunded by it)'),
    feeBack: NonNegativeAmount.nullable().describe('Lost: the client fee the platform gave back'),
    platformLoss: NonNegativeAmount.nullable().describe('Lost: what had already left escrow (released, paid) and the platform bears (`platform:losses`)'),
    openedAt: Timestamp.describe('When the chargeback was recorded (ISO 8601)'),
    closedAt: Timestamp.nullable().describe('When the bank decided (ISO 8601)'),
  })
  .describe('A chargeback: the client’s bank disputes a card payment');

const presentChargeback = (c: ChargebackRow) => ({
  id: c.id,
  provider: c.provider,
  disputeId: c.provider_dispute_id,
  chargeReference: c.charge_reference,
  operationId: c.operation_id,
  contractId: c.contract_id,
  milestoneId: c.milestone_id,
  paymentId: c.payment_id,
  amount: c.amount,
  currency: c.currency,
  status: c.status,
  fromEscrow: c.status === 'lost' ? c.from_escrow : null,
  feeBack: c.status === 'lost' ? c.fee_back : null,
  platformLoss: c.status === 'lost' ? c.platform_loss : null,
  openedAt: iso(c.opened_at)!,
  closedAt: iso(c.closed_at),
});

/** Reconciliation reports and chargebacks (issue 14, items 4 and 3), for the platform's admin. */
export function reconciliationRoutes(app: V1, { runner, db, deps }: RouteContext) {
  const tags = ['Admin'];

  app.post(
    '/admin/reconciliations',
    {
      schema: {
        tags,
        summary: 'Reconcile a period now: the provider’s objects against the provider operations and the ledger (the same period answers the report already made)',
        body: z
          .object({
            from: z.iso.datetime({ offset: true }).describe('Start of the period (inclusive, ISO 8601)'),
            to: z.iso.datetime({ offset: true }).describe(`End of the period (exclusive, ISO 8601; not in the future; at most ${MAX_PERIOD_DAYS} days after from)`),
          })
          .strict()
          .meta({ example: { from: '2027-03-01T00:00:00Z', to: '2027-03-02T00:00:00Z' } }),
        response: {
          200: RunDetailSchema.describe('The report of this period, made earlier'),
          201: RunDetailSchema.describe('The report, made now'),
          202: RunDetailSchema.describe('Requested, but the provider’s listing could not be read: the worker retries it'),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const { run, created } = await requestReconciliation(ctx, { from: new Date(req.body.from), to: new Date(req.body.to) });
        const answer = async () => {
          const done = (await findRun(db, run.platform_id, run.id))!;
          return { status: !created ? 200 : done.status === 'completed' ? 201 : 202, body: { ...presentRun(done), differences: (await differencesOf(db, run.id)).map(presentDifference) } };
        };
        return {
          status: created ? 202 : 200,
          body: { ...presentRun(run), differences: [] },
          afterCommit: async () => {
            if (run.status === 'pending') await performReconciliation(db, deps, run.id).catch((err: unknown) => req.log.warn({ err }, 'reconciliation not made; the worker retries it'));
            return answer();
          },
        };
      }),
  );

  app.get(
    '/admin/reconciliations',
    { schema: { tags, summary: 'Reconciliation runs, newest first', querystring: z.object(ListQuery).strict(), response: { 200: Page(RunSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const rows = await listRuns(ctx, decodeCursor(req.query.cursor), req.query.limit + 1);
        const pg = page(rows, req.query.limit);
        return { status: 200, body: { data: pg.data.map(presentRun), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/admin/reconciliations/:id',
    { schema: { tags, summary: 'A reconciliation run with every difference it found', params: IdParams('reconciliation'), response: { 200: RunDetailSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const run = await findRun(ctx.tx, ctx.principal.platformId, req.params.id);
        if (!run) throw new AppError('not_found', 'reconciliation not found');
        return { status: 200, body: { ...presentRun(run), differences: (await differencesOf(ctx.tx, run.id)).map(presentDifference) } };
      }),
  );

  app.get(
    '/admin/chargebacks',
    { schema: { tags, summary: 'Chargebacks, newest first', querystring: z.object(ListQuery).strict(), response: { 200: Page(ChargebackSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const rows = await listChargebacks(ctx, decodeCursor(req.query.cursor), req.query.limit + 1);
        const pg = page(rows, req.query.limit);
        return { status: 200, body: { data: pg.data.map(presentChargeback), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/admin/chargebacks/:id',
    { schema: { tags, summary: 'One chargeback', params: IdParams('chargeback'), response: { 200: ChargebackSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const c = await getChargeback(ctx, req.params.id);
        if (!c) throw new AppError('not_found', 'chargeback not found');
        return { status: 200, body: presentChargeback(c) };
      }),
  );

  // The sandbox's bank: with the sandbox provider only, the admin plays the client's bank (with
  // Stripe, chargebacks arrive as charge.dispute.* events at POST /v1/providers/stripe/webhooks).
  if (deps.provider.name !== 'sandbox') return;

  app.post(
    '/admin/sandbox/chargebacks',
    {
      schema: {
        tags,
        summary: 'Sandbox only: the client’s bank disputes a card charge (a milestone’s deposit, or any charge by its reference)',
        body: z
          .object({
            milestoneId: Id('milestone').optional().describe('Dispute the charge that funded this milestone’s escrow (its latest)'),
            chargeReference: z.string().min(1).max(200).optional().describe('Or: dispute this charge (the provider’s reference, as in a provider operation)'),
            amount: Amount.optional().describe('The disputed amount (default: the whole charge)'),
            disputeId: z.string().regex(/^[\w-]{1,100}$/).optional().describe('The bank’s dispute id (default: a new one); the same id again changes nothing, as a replayed event'),
            outcome: z.enum(['won', 'lost']).optional().describe('The bank has already decided: the dispute arrives closed (as a `closed` event before its `created` one)'),
          })
          .strict()
          .meta({ example: { milestoneId: 'ms_01hzyexample0000000000000a' } }),
        response: { 201: ChargebackSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const charge = await sandboxCharge(ctx, req.body);
        const dispute = {
          id: req.body.disputeId ?? newId('chargeback').replace('cb_', 'sbx_dp_'),
          charge: charge.reference,
          amount: req.body.amount ?? charge.amount,
          currency: charge.currency,
          status: req.body.outcome ?? 'needs_response',
        };
        const cb = req.body.outcome ? await applyChargebackClosed(ctx, { data: { object: dispute } }) : await applyChargebackCreated(ctx, { data: { object: dispute } });
        return { status: 201, body: presentChargeback(cb) };
      }),
  );

  app.post(
    '/admin/sandbox/chargebacks/:id/close',
    {
      schema: {
        tags,
        summary: 'Sandbox only: the client’s bank decides a chargeback',
        params: IdParams('chargeback'),
        body: z.object({ outcome: z.enum(['won', 'lost']).describe('`won`: the charge stands, the escrow is free again; `lost`: the amount goes back to the client’s card') }).strict(),
        response: { 200: ChargebackSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        requireAdmin(ctx.principal);
        const c = await getChargeback(ctx, req.params.id);
        if (!c || c.provider !== 'sandbox') throw new AppError('not_found', 'chargeback not found');
        const closed = await applyChargebackClosed(ctx, {
          data: { object: { id: c.provider_dispute_id, charge: c.charge_reference, amount: c.amount, currency: c.currency, status: req.body.outcome } },
        });
        return { status: 200, body: presentChargeback(closed) };
      }),
  );
}

/** The sandbox charge a chargeback is raised on: a milestone's latest succeeded deposit, or a charge by reference. */
async function sandboxCharge(ctx: UseCaseCtx, body: { milestoneId?: string; chargeReference?: string }): Promise<{ reference: string; amount: number; currency: string }> {
  if ((body.milestoneId === undefined) === (body.chargeReference === undefined)) {
    throw new AppError('validation_failed', 'name either milestoneId or chargeReference', {}, [{ field: 'milestoneId', message: 'name either milestoneId or chargeReference' }]);
  }
  const [row] = await ctx.tx.query<{ reference: string; amount: number; currency: string }>(
    body.milestoneId
      ? `SELECT f.provider_ref AS reference, (f.amount + f.client_fee)::bigint AS amount, f.currency FROM fundings f
         WHERE f.platform_id = $1 AND f.milestone_id = $2 AND f.status = 'succeeded' ORDER BY f.id DESC LIMIT 1`
      : `SELECT provider_ref AS reference, amount, currency FROM provider_operations
         WHERE platform_id = $1 AND operation = 'charge' AND status = 'succeeded' AND provider_ref = $2 LIMIT 1`,
    [ctx.principal.platformId, body.milestoneId ?? body.chargeReference],
  );
  if (!row) throw new AppError('not_found', body.milestoneId ? 'no settled deposit funds this milestone' : 'no succeeded charge has this reference');
  return { reference: row.reference, amount: Number(row.amount), currency: row.currency };
}
