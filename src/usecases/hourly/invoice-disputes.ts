import type { ContractRow } from '../../db/repos/contracts.ts';
import { updateInvoice, type InvoiceRow } from '../../db/repos/hourly.ts';
import { AppError, forbidden, invalidState } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { DisputeRow } from '../disputes.ts';
import type { UseCaseCtx } from '../context.ts';
import { enqueueJob, recordEvent } from '../record.ts';
import { balanceDue, loadInvoice, settleInvoice } from './pay-invoice.ts';

const DAY = 86_400_000;

/**
 * In the review window — from Monday's invoice until Wednesday's payment — the client disputes
 * an open invoice: it is held from payment and follows the dispute flow of fixed contracts
 * (the contractor answers at /v1/disputes/{id}/respond; the admin resolves with a split of the
 * invoice amount, or the policy's silence default applies after disputeResponseDays).
 */
export async function disputeInvoice(ctx: UseCaseCtx, invoiceId: string, input: { reason: string }): Promise<DisputeRow> {
  const { invoice, contract, role } = await loadInvoice(ctx, invoiceId, true);
  if (role !== 'client') throw forbidden('the client disputes an invoice; the contractor answers the dispute');
  if (invoice.status !== 'open' || invoice.charge_pending) throw invalidState('invoice', invoice.status);
  if (invoice.dispute_id) throw invalidState('invoice', invoice.status, 'this invoice was disputed already');
  if (ctx.now >= invoice.due_at) throw invalidState('invoice', invoice.status, `the review window of this invoice ended at ${invoice.due_at.toISOString()}`);
  const id = newId('dispute');
  const respondBy = new Date(ctx.now.getTime() + contract.policy.disputeResponseDays * DAY);
  const [row] = await ctx.tx.query<DisputeRow>(
    `INSERT INTO disputes (id, platform_id, contract_id, milestone_id, invoice_id, opened_by, opener_role, reason, previous_status, status, respond_by, created_at, updated_at)
     VALUES ($1,$2,$3,NULL,$4,$5,'client',$6,$7,'open',$8,$9,$9) RETURNING *`,
    [id, contract.platform_id, contract.id, invoice.id, contract.client_id, input.reason, invoice.status, respondBy, ctx.now],
  );
  await updateInvoice(ctx.tx, invoice.id, { dispute_id: id }, ctx.now);
  await recordEvent(ctx, contract, {
    kind: 'invoice.disputed',
    actorRole: 'client',
    notify: ['client', 'contractor'],
    data: { invoiceId: invoice.id, disputeId: id, number: invoice.number, amount: invoice.amount_due, reason: input.reason, respondBy: respondBy.toISOString() },
  });
  await enqueueJob(ctx, { kind: 'dispute_timeout', payload: { disputeId: id }, platformId: contract.platform_id, contractId: contract.id, runAt: respondBy, dedupeKey: `dispute-timeout:${id}` });
  return row!;
}

/** What a silent dispute of an invoice settles to: the invoice's balance, split by the policy's default. */
export async function invoiceAtStake(ctx: UseCaseCtx, dispute: DisputeRow): Promise<number> {
  const { invoice } = await loadInvoice(ctx, dispute.invoice_id!, true);
  return balanceDue(invoice);
}

/**
 * Settles an invoice dispute (dispute, contract and invoice locked by the caller's loadDispute):
 * `releaseAmount` is what the client owes and is paid now, escrow first then the card, as on
 * Wednesday; `refundAmount` is taken off the invoice. Nothing had moved while the dispute held
 * the invoice, so the ledger moves once, here. Nothing owed: the invoice is void.
 */
export async function resolveInvoiceDispute(
  ctx: UseCaseCtx,
  contract: ContractRow,
  dispute: DisputeRow,
  input: { releaseAmount: number; refundAmount: number },
  resolution: string,
): Promise<DisputeRow> {
  const { invoice } = await loadInvoice(ctx, dispute.invoice_id!, true);
  const due = balanceDue(invoice);
  if (input.releaseAmount + input.refundAmount !== due) {
    throw new AppError('validation_failed', `releaseAmount + refundAmount must equal the invoice's ${due}`, { amountDue: due }, [
      { field: 'releaseAmount', message: `releaseAmount + refundAmount must be ${due}` },
    ]);
  }
  const [row] = await ctx.tx.query<DisputeRow>(
    `UPDATE disputes SET status = 'resolved', release_amount = $2, refund_amount = $3, resolution = $4, resolved_at = $5, updated_at = $5, version = version + 1
     WHERE id = $1 RETURNING *`,
    [dispute.id, input.releaseAmount, input.refundAmount, resolution, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: 'dispute.resolved',
    actorRole: resolution === 'admin' ? 'admin' : 'system',
    data: { disputeId: dispute.id, invoiceId: invoice.id, title: `invoice ${invoice.number}`, releaseAmount: input.releaseAmount, refundAmount: input.refundAmount, resolution },
  });
  const owed: InvoiceRow = await updateInvoice(ctx.tx, invoice.id, { amount_due: invoice.amount_due - input.refundAmount }, ctx.now);
  if (input.releaseAmount === 0) {
    await updateInvoice(ctx.tx, invoice.id, { status: 'void', voided_at: ctx.now }, ctx.now);
    await recordEvent(ctx, contract, { kind: 'invoice.voided', actorRole: 'system', data: { invoiceId: invoice.id, number: invoice.number, amount: invoice.amount } });
  } else {
    await settleInvoice(ctx, contract, owed, 'resolution');
  }
  return row!;
}
