import { findContract, type ContractRow } from '../db/repos/contracts.ts';
import { findMilestone, saveMilestoneState, toState } from '../db/repos/milestones.ts';
import { approvalThresholdOf } from '../db/repos/organizations.ts';
import { AppError, forbidden, invalidState, notFound } from '../domain/errors.ts';
import { feeOf } from '../domain/money.ts';
import { directPaymentPostings } from '../ledger/flows.ts';
import { postEntry } from '../ledger/postings.ts';
import { partyRole } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { partiesOf, resolvePaymentMethod } from './money.ts';
import { nextAttempt, requestOperation } from './payments/operations.ts';
import { recordEvent } from './record.ts';
import { releasesTransfer, transferToContractor } from './payments/transfers.ts';

export type PaymentRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  milestone_id: string | null;
  client_id: string;
  contractor_id: string;
  kind: string;
  amount: number;
  fee: number;
  currency: string;
  status: 'draft' | 'processing' | 'paid' | 'failed' | 'refunded';
  provider_ref: string | null;
  version: number;
  paid_at: Date | null;
  /** Four eyes: the finance member who paid a draft first (migration 0016). */
  approval_by: string | null;
  approval_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const PAYABLE = new Set(['draft', 'failed']);

/**
 * The client pays draft payments (no-escrow policies), one or many at once. Every payment is
 * checked before anything is written, so a refused batch (one not payable, not the client's)
 * changes nothing; each charge is then its own provider operation made after commit, so a
 * declined card leaves that payment as it was and the others paid. Under an organisation's four
 * eyes, a draft at or above its threshold is only marked paid-once by the first member (no
 * charge), and charged when another member pays it; the same member twice is refused. Contracts are locked in id
 * order so that two bulk payments can never deadlock each other.
 */
export async function payPayments(ctx: UseCaseCtx, paymentIds: string[], input: { paymentMethod?: string } = {}) {
  const ids = [...new Set(paymentIds)];
  const peeked = await ctx.tx.query<PaymentRow>('SELECT * FROM payments WHERE platform_id = $1 AND id = ANY($2)', [ctx.principal.platformId, ids]);
  const byContract = new Map<string, ContractRow>();
  for (const contractId of [...new Set(peeked.map((p) => p.contract_id))].sort()) {
    const c = await findContract(ctx.tx, ctx.principal.platformId, contractId, true);
    if (c) byContract.set(contractId, c);
  }
  // Every payment is checked before any card is charged, so that a refused batch charges nothing.
  const payable: [ContractRow, PaymentRow, boolean][] = [];
  for (const id of ids) {
    const [p] = await ctx.tx.query<PaymentRow>('SELECT * FROM payments WHERE platform_id = $1 AND id = $2 FOR UPDATE', [ctx.principal.platformId, id]);
    const contract = p && byContract.get(p.contract_id);
    if (!p || !contract) throw notFound(`payment ${id}`);
    const role = partyRole(ctx, contract, `payment ${id}`);
    if (role !== 'client') throw forbidden('only the client pays a payment');
    if (!PAYABLE.has(p.status)) throw invalidState('payment', p.status, `payment ${id} is ${p.status}`);
    const threshold = p.status === 'draft' ? await approvalThresholdOf(ctx.tx, contract.client_id, p.currency) : null;
    const firstApproval = threshold !== null && p.amount >= threshold && ctx.principal.userId !== null;
    if (firstApproval && p.approval_by === ctx.principal.userId) {
      throw new AppError('second_approver_required', `payment ${id} is at or above the organisation's approval threshold of ${threshold}: another member must pay it`, {
        paymentId: id, approvedBy: p.approval_by, threshold,
      });
    }
    payable.push([contract, p, firstApproval && !p.approval_by]);
  }
  const out: PaymentRow[] = [];
  for (const [contract, p, first] of payable) out.push(first ? await approveFirst(ctx, contract, p) : await payOne(ctx, contract, p, input.paymentMethod));
  return out;
}

/** Four eyes: the first member's payment of a draft at or above the threshold charges nothing; a second member's does. */
async function approveFirst(ctx: UseCaseCtx, contract: ContractRow, p: PaymentRow): Promise<PaymentRow> {
  const [row] = await ctx.tx.query<PaymentRow>(
    'UPDATE payments SET approval_by = $2, approval_at = $3, version = version + 1, updated_at = $3 WHERE id = $1 RETURNING *',
    [p.id, ctx.principal.userId, ctx.now],
  );
  await recordEvent(ctx, contract, { kind: 'payment.approval_pending', actorRole: 'client', milestoneId: p.milestone_id, notify: ['client'], data: { paymentId: p.id, amount: p.amount } });
  return row!;
}

/**
 * First phase of a payment's card charge (in the command's transaction): the charge is written
 * as a provider operation, made after commit, and the payment is `processing` until its answer
 * is booked (payments/direct-payment.ts). Neither its version nor anything else changes: a
 * decline puts the status back and leaves the payment as it was.
 */
async function payOne(ctx: UseCaseCtx, contract: ContractRow, p: PaymentRow, named: string | undefined): Promise<PaymentRow> {
  const method = await resolvePaymentMethod(ctx, contract, named);
  const clientFee = feeOf(p.amount, contract.policy.platformFee.clientBps);
  const attempt = await nextAttempt(ctx.tx, 'payment', 'subject_id', p.id);
  await requestOperation(ctx, {
    operation: 'charge',
    purpose: 'payment',
    platformId: p.platform_id,
    contractId: p.contract_id,
    milestoneId: p.milestone_id,
    subjectId: p.id,
    amount: p.amount + clientFee,
    currency: p.currency,
    idempotencyKey: `pay:${p.id}:v${p.version}:${attempt}`,
    paymentMethod: method,
    details: { clientFee, previousStatus: p.status, actorId: ctx.principal.userId, clientId: contract.client_id, description: `Payment ${p.id}` },
  });
  const [row] = await ctx.tx.query<PaymentRow>("UPDATE payments SET status = 'processing' WHERE id = $1 RETURNING *", [p.id]);
  return row!;
}

/** Books a settled card charge for a payment: ledger entry, payment paid, milestone paid. */
export async function completePayment(ctx: UseCaseCtx, contract: ContractRow, p: PaymentRow, reference: string, clientFee: number): Promise<PaymentRow> {
  const contractorFee = feeOf(p.amount, contract.policy.platformFee.contractorBps);
  await postEntry(ctx.tx, {
    platformId: p.platform_id,
    contractId: p.contract_id,
    milestoneId: p.milestone_id,
    currency: p.currency,
    kind: 'direct_payment',
    reference: `charge:${reference}`,
    postings: directPaymentPostings(partiesOf(contract), p.amount, clientFee, contractorFee),
    at: ctx.now,
  });
  const [row] = await ctx.tx.query<PaymentRow>(
    "UPDATE payments SET status = 'paid', fee = $2, provider_ref = $3, paid_at = $4, version = version + 1, updated_at = $4 WHERE id = $1 RETURNING *",
    [p.id, contractorFee, reference, ctx.now],
  );
  // With connected accounts (Stripe) the contractor's share goes on to their account (payments/transfers.ts).
  if (releasesTransfer(ctx)) await transferToContractor(ctx, contract, { paymentId: p.id, milestoneId: p.milestone_id, amount: p.amount - contractorFee, sourceCharge: reference });
  if (p.milestone_id) {
    const m = await findMilestone(ctx.tx, p.platform_id, p.milestone_id, true);
    if (m && m.status === 'approved') await saveMilestoneState(ctx.tx, m.id, { ...toState(m), status: 'paid' }, ctx.now);
  }
  await recordEvent(ctx, contract, { kind: 'payment.paid', actorRole: 'client', milestoneId: p.milestone_id, data: { paymentId: p.id, amount: p.amount } });
  return row!;
}
