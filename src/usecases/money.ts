import type { Statement } from '../db/client.ts';
import type { ContractRow } from '../db/repos/contracts.ts';
import type { MilestoneRow } from '../db/repos/milestones.ts';
import { AppError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { escrowFrozen, type MilestoneState, type MoneyEffect } from '../domain/milestone-machine.ts';
import { cumulativeFee, cumulativeShare } from '../domain/money.ts';
import { fundingPostings, refundPostings, refundToClientPostings, releasePostings, type Parties } from '../ledger/flows.ts';
import { Accounts } from '../ledger/accounts.ts';
import { postEntry } from '../ledger/postings.ts';
import type { UseCaseCtx } from './context.ts';
import { requestOperation } from './payments/operations.ts';
import { fundingChargeOf, releasesTransfer, transferToContractor } from './payments/transfers.ts';

export const partiesOf = (c: ContractRow): Parties => ({ contractId: c.id, clientId: c.client_id, contractorId: c.contractor_id });

export type PaymentKind = 'milestone' | 'partial_release' | 'dispute_release' | 'close_release' | 'invoice';

export type EffectOptions = {
  /** Payment method for a charge; falls back to the client's default. */
  paymentMethod?: string;
  /** What a release is called in the payments list. */
  paymentKind?: PaymentKind;
  /** For a fund transition: the provider's answer to its charge (booked after commit by payments/funding.ts). */
  charge?: BookedCharge;
};

/** A charge the provider accepted: at once (`succeeded`) or to settle later (`pending`). */
export type BookedCharge = { reference: string; status: 'succeeded' | 'pending'; paymentMethod: string; fee: number };

export type EffectOutcome = {
  state: MilestoneState;
  columns: { client_fee_charged?: number; client_fee_refunded?: number; contractor_fee_charged?: number };
  paymentIds: string[];
  fundingPending: boolean;
};

/** The client's saved default payment method. The client is a user or an organisation (its finance members save the default). */
export const savedPaymentMethodStatement = (clientId: string): Statement => [
  'SELECT default_payment_method FROM users WHERE id = $1 UNION ALL SELECT default_payment_method FROM organizations WHERE id = $1',
  [clientId],
];

/** The client's payment method for a charge: the one named, else their saved default. */
export async function resolvePaymentMethod(
  ctx: UseCaseCtx,
  contract: ContractRow,
  named: string | undefined,
  /** The rows of `savedPaymentMethodStatement`, when the caller read them in its own batch. */
  saved?: readonly Record<string, unknown>[],
): Promise<string> {
  if (named) {
    if (!ctx.deps.provider.isPaymentMethod(named)) {
      throw new AppError('validation_failed', 'unknown payment method', {}, [{ field: 'paymentMethod', message: 'is not a payment method of this provider' }]);
    }
    return named;
  }
  const [row] = (saved ?? (await ctx.tx.query(...savedPaymentMethodStatement(contract.client_id)))) as { default_payment_method?: string | null }[];
  if (!row?.default_payment_method) {
    throw new AppError('payment_method_required', 'name a paymentMethod or save a default one with PUT /v1/me/payment-method');
  }
  return row.default_payment_method;
}

/**
 * Turns a transition's money effects into ledger entries, payment rows and provider operations,
 * inside the caller's transaction. No provider is called here: a refund is an operation made
 * after commit, and a charge arrives already answered (`opts.charge`).
 */
export async function applyMoneyEffects(
  ctx: UseCaseCtx,
  contract: ContractRow,
  before: MilestoneRow,
  next: MilestoneState,
  effects: MoneyEffect[],
  opts: EffectOptions = {},
): Promise<EffectOutcome> {
  // The machine refuses these while a chargeback is open; this holds for every other path (a close).
  if (before.escrow_frozen_by && effects.some((e) => e.type === 'release' || e.type === 'refund' || e.type === 'move_to_next')) throw escrowFrozen(before);
  const out: EffectOutcome = { state: { ...next }, columns: {}, paymentIds: [], fundingPending: false };
  let feeCharged = before.client_fee_charged;
  let feeRefunded = before.client_fee_refunded;
  let released = before.released_amount;
  let contractorFees = before.contractor_fee_charged;
  const parties = partiesOf(contract);
  const base = { platformId: contract.platform_id, contractId: contract.id, milestoneId: before.id, currency: contract.currency, at: ctx.now };

  for (const eff of effects) {
    switch (eff.type) {
      case 'charge': {
        // The provider's answer, booked after commit (payments/funding.ts): a charge is never
        // made here, inside the transaction. A charge always covers the milestone's whole
        // amount, and a milestone is charged again only after the earlier charge was reversed in
        // full, fee included: there is no split to round on. Partial refunds take the fee back
        // with cumulativeShare below.
        const charge = opts.charge;
        if (!charge) throw new Error('a charge is booked with the provider’s answer: request it with requestFunding');
        const fee = charge.fee;
        const fundingId = newId('funding');
        await ctx.tx.query(
          `INSERT INTO fundings (id, platform_id, contract_id, milestone_id, amount, client_fee, currency, payment_method, provider_ref, status, created_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
          [fundingId, contract.platform_id, contract.id, before.id, eff.amount, fee, contract.currency, charge.paymentMethod, charge.reference, charge.status, ctx.now],
        );
        await postEntry(ctx.tx, { ...base, kind: 'escrow_funding', reference: `charge:${charge.reference}`, postings: fundingPostings(parties, before.id, eff.amount, fee) });
        feeCharged += fee;
        // Accepted, to settle later: the worker asks the provider (the operation stays processing).
        if (charge.status === 'pending') {
          out.fundingPending = true;
          out.state.fundingPending = true;
        }
        break;
      }
      case 'release': {
        // On everything this milestone released so far, so that any split of a release (partial
        // releases, a dispute split, the release at close) carries the same fee as one approval.
        released += eff.amount;
        const fee = cumulativeFee(released, contract.policy.platformFee.contractorBps, contractorFees);
        contractorFees += fee;
        const paymentId = newId('payment');
        await postEntry(ctx.tx, { ...base, kind: 'escrow_release', reference: `release:${paymentId}`, postings: releasePostings(parties, before.id, eff.amount, fee) });
        // With connected accounts (Stripe), the release is paid once it is transferred (payments/transfers.ts).
        const transfers = releasesTransfer(ctx);
        await insertPayment(ctx, contract, { id: paymentId, milestoneId: before.id, kind: opts.paymentKind ?? 'milestone', amount: eff.amount, fee, status: transfers ? 'processing' : 'paid' });
        if (transfers) await transferToContractor(ctx, contract, { paymentId, milestoneId: before.id, amount: eff.amount - fee, sourceCharge: await fundingChargeOf(ctx, before.id, released) });
        out.paymentIds.push(paymentId);
        break;
      }
      case 'refund':
      case 'reverse_charge': {
        // The client fee comes back in proportion to what is refunded of what was funded.
        const feeBack = cumulativeShare(feeCharged, next.refundedAmount, next.fundedAmount, feeRefunded);
        const [funding] = await ctx.tx.query<{ id: string; provider_ref: string; amount: number; client_fee: number }>(
          `SELECT id, provider_ref, amount, client_fee FROM fundings WHERE milestone_id = $1 AND status = $2 ORDER BY id DESC LIMIT 1`,
          [before.id, eff.type === 'refund' ? 'succeeded' : 'pending'],
        );
        if (eff.type === 'refund') {
          // The escrow goes back to the client's funding account now; the provider returns it to
          // the card after commit, and that answer books funding → world (payments/refunds.ts).
          const operationId = await requestOperation(ctx, {
            operation: 'refund',
            purpose: 'refund',
            platformId: contract.platform_id,
            contractId: contract.id,
            milestoneId: before.id,
            amount: eff.amount + feeBack,
            currency: contract.currency,
            idempotencyKey: `refund:${before.id}:v${before.version}`,
            chargeReference: funding?.provider_ref ?? null,
            details: { clientId: contract.client_id, amount: eff.amount, feeBack },
          });
          await postEntry(ctx.tx, { ...base, kind: 'escrow_refund', reference: `refund:${operationId}`, postings: refundToClientPostings(parties, before.id, eff.amount, feeBack) });
        } else {
          if (funding) await ctx.tx.query("UPDATE fundings SET status = 'failed', updated_at = $2 WHERE id = $1", [funding.id, ctx.now]);
          // Only what the failed charge paid in is reversed. The rest of this escrow came from an
          // earlier milestone's rest (release with rest: next) that the client had paid: it goes
          // back to the client as a refund, never into the reversal of a charge that took nothing.
          const charged = funding ? Math.min(Number(funding.amount), eff.amount) : eff.amount;
          const chargedFeeBack = funding ? Math.min(Number(funding.client_fee), feeBack) : feeBack;
          const reference = `reversal:${funding?.provider_ref ?? before.id + ':' + before.version}`;
          await postEntry(ctx.tx, { ...base, kind: 'charge_reversal', reference, postings: refundPostings(parties, before.id, charged, chargedFeeBack) });
          const movedBack = eff.amount - charged;
          if (movedBack > 0) await refundMovedRest(ctx, contract, before, movedBack, feeBack - chargedFeeBack);
        }
        feeRefunded += feeBack;
        break;
      }
      case 'draft_payment': {
        const paymentId = newId('payment');
        await insertPayment(ctx, contract, { id: paymentId, milestoneId: before.id, kind: 'milestone', amount: eff.amount, fee: 0, status: 'draft' });
        out.paymentIds.push(paymentId);
        break;
      }
      case 'charge_on_acceptance':
        // Handled by the accept use case, which runs a fund transition of its own.
        break;
      case 'move_to_next':
        // Posted by release-milestone.ts with the next milestone's funding, in one entry.
        break;
    }
  }
  if (feeCharged !== before.client_fee_charged) out.columns.client_fee_charged = feeCharged;
  if (feeRefunded !== before.client_fee_refunded) out.columns.client_fee_refunded = feeRefunded;
  if (contractorFees !== before.contractor_fee_charged) out.columns.contractor_fee_charged = contractorFees;
  // A charge that settled at once leaves nothing pending; a pending one stays so until settled.
  if (!out.fundingPending && effects.some((e) => e.type === 'charge')) out.state.fundingPending = false;
  return out;
}

export async function insertPayment(
  ctx: UseCaseCtx,
  contract: ContractRow,
  p: { id: string; milestoneId: string | null; kind: PaymentKind; amount: number; fee: number; status: 'draft' | 'paid' | 'processing' },
): Promise<void> {
  await ctx.tx.query(
    `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, paid_at, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13)`,
    [p.id, contract.platform_id, contract.id, p.milestoneId, contract.client_id, contract.contractor_id, p.kind, p.amount, p.fee, contract.currency, p.status, p.status === 'paid' ? ctx.now : null, ctx.now],
  );
}

/**
 * A deposit that failed after part of its escrow had moved in from an earlier milestone's rest
 * (release with `rest: "next"`): that part was paid with the earlier milestone's charge, so it is
 * refunded against that charge — escrow to the client's funding account now, the provider's
 * refund after commit (payments/refunds.ts), as any refund.
 */
async function refundMovedRest(ctx: UseCaseCtx, contract: ContractRow, m: MilestoneRow, amount: number, feeBack: number) {
  const [source] = await ctx.tx.query<{ milestone_id: string; provider_ref: string | null }>(
    `SELECT e.milestone_id, (SELECT f.provider_ref FROM fundings f WHERE f.milestone_id = e.milestone_id AND f.status = 'succeeded' ORDER BY f.id DESC LIMIT 1) AS provider_ref
       FROM journal_entries e JOIN postings p ON p.entry_id = e.id
      WHERE e.contract_id = $1 AND e.kind = 'escrow_transfer' AND p.destination = $2
      ORDER BY e.seq DESC LIMIT 1`,
    [contract.id, Accounts.escrow(contract.id, m.id)],
  );
  const operationId = await requestOperation(ctx, {
    operation: 'refund',
    purpose: 'refund',
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: m.id,
    amount: amount + feeBack,
    currency: contract.currency,
    idempotencyKey: `refund:${m.id}:v${m.version}:moved-rest`,
    chargeReference: source?.provider_ref ?? null,
    details: { clientId: contract.client_id, amount, feeBack, movedFrom: source?.milestone_id ?? null },
  });
  const parties = partiesOf(contract);
  await postEntry(ctx.tx, {
    platformId: contract.platform_id, contractId: contract.id, milestoneId: m.id, currency: contract.currency, at: ctx.now,
    kind: 'escrow_refund', reference: `refund:${operationId}`, postings: refundToClientPostings(parties, m.id, amount, feeBack),
  });
}
