import { findMilestone, saveMilestoneState, toState, type MilestoneRow } from '../db/repos/milestones.ts';
import { AppError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { escrowHeld, transition, type ReleaseRest } from '../domain/milestone-machine.ts';
import { allocate, cumulativeShare, feeOf } from '../domain/money.ts';
import { escrowTransferPostings } from '../ledger/flows.ts';
import { postEntry } from '../ledger/postings.ts';
import { PaymentDeclinedError } from '../payments/provider.ts';
import { loadMilestone } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { partiesOf, resolvePaymentMethod } from './money.ts';
import { enqueueJob, recordEvent } from './record.ts';
import { applyMilestoneCommand, assertVersion, countOtherOpenFunded, type CommandResult } from './run-milestone-command.ts';

export type ReleaseInput = { amount: number; rest?: ReleaseRest; paymentMethod?: string; expectedVersion?: number };
export type ReleaseResult = CommandResult & { next: MilestoneRow | null };

/**
 * The client releases part of the escrow to the contractor. What is left stays held (`keep`),
 * is refunded to the client (`refund`), or funds the next unfunded milestone (`next`, seed 001:
 * "send a partial milestone payment for an unfinished milestone and use the balance to fund
 * the next milestone"); with `refund` and `next` this milestone is settled as paid.
 */
export async function releaseMilestone(ctx: UseCaseCtx, milestoneId: string, input: ReleaseInput): Promise<ReleaseResult> {
  const rest = input.rest ?? 'keep';
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  assertVersion(milestone, input.expectedVersion);
  const left = escrowHeld(toState(milestone)) - input.amount;
  // The next milestone is found (and locked) before anything moves, so that a missing one
  // refuses the whole command; the machine then checks the release itself.
  const next = rest === 'next' && left > 0 && role === 'client' ? await nextUnfunded(ctx, milestone) : null;
  const r = await applyMilestoneCommand(ctx, contract, milestone, role, { type: 'release', amount: input.amount, rest }, {
    event: 'milestone.released',
    paymentKind: 'partial_release',
    data: { released: input.amount, rest, left: Math.max(0, left), ...(next ? { nextMilestoneId: next.id, nextTitle: next.title } : {}) },
    columns: next ? { client_fee_refunded: milestone.client_fee_refunded + movedFeeShare(milestone, left) } : undefined,
  });
  // Not settled (e.g. a first approval of an organisation's member waiting for a second): nothing moved yet.
  if (!next || r.milestone.status !== 'paid') return { ...r, next: null };
  return { ...r, next: await fundFromRest(ctx, r, next, left, input.paymentMethod) };
}

/** The first agreed, unfunded milestone after `m` in the contract's order (locked), or 409 no_next_milestone. */
async function nextUnfunded(ctx: UseCaseCtx, m: MilestoneRow): Promise<MilestoneRow> {
  const [row] = await ctx.tx.query<{ id: string }>(
    `SELECT id FROM milestones WHERE contract_id = $1 AND status = 'accepted' AND NOT funding_pending AND (position, id) > ($2, $3) ORDER BY position, id LIMIT 1`,
    [m.contract_id, m.position, m.id],
  );
  if (!row) {
    throw new AppError('no_next_milestone', 'there is no agreed, unfunded milestone after this one to move the rest of the escrow to; add one first, or keep or refund the rest', {
      state: m.status,
    });
  }
  return (await findMilestone(ctx.tx, m.platform_id, row.id, true))!;
}

/** The share of the client fee paid on `moved` of this milestone's escrow: it goes along with the money. */
function movedFeeShare(m: MilestoneRow, moved: number): number {
  return cumulativeShare(m.client_fee_charged, m.refunded_amount + moved, m.funded_amount, m.client_fee_refunded);
}

/**
 * Funds `next` with what `rest` of the released milestone is left: escrow to escrow, the client
 * charged only the difference or refunded the excess, in one journal entry.
 */
async function fundFromRest(ctx: UseCaseCtx, released: CommandResult, next: MilestoneRow, rest: number, paymentMethod: string | undefined): Promise<MilestoneRow> {
  const { contract, before } = released;
  const t = transition(toState(next), { type: 'fund' }, { role: 'client' }, contract.policy, {
    contractStatus: contract.status,
    currency: contract.currency,
    otherOpenFunded: await countOtherOpenFunded(ctx, contract.id, next.id),
  });
  if (!t.ok) throw t.error;
  const moved = Math.min(rest, next.amount);
  const charged = next.amount - moved;
  const excess = rest - moved;
  const chargedFee = feeOf(charged, contract.policy.platformFee.clientBps);
  // The fee paid on the rest follows it: the moved part's share to the next milestone, the excess's share back to the card.
  const restFee = movedFeeShare(before, rest);
  const [movedFee = 0, excessFeeBack = 0] = rest > 0 ? allocate(restFee, [moved, excess]) : [];
  const state = { ...t.next };
  let providerRef: string | null = null;
  if (charged > 0) {
    const method = await resolvePaymentMethod(ctx, contract, paymentMethod);
    try {
      const result = await ctx.deps.provider.charge({
        amount: charged + chargedFee,
        currency: contract.currency,
        paymentMethod: method,
        idempotencyKey: `fund:${next.id}:v${next.version}`,
        description: `Escrow for ${next.title} (the rest of ${before.title} moved)`,
      });
      providerRef = result.reference;
      const fundingId = newId('funding');
      await ctx.tx.query(
        `INSERT INTO fundings (id, platform_id, contract_id, milestone_id, amount, client_fee, currency, payment_method, provider_ref, status, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
        [fundingId, contract.platform_id, contract.id, next.id, charged, chargedFee, contract.currency, method, result.reference, result.status, ctx.now],
      );
      state.fundingPending = result.status === 'pending';
      if (state.fundingPending) {
        await enqueueJob(ctx, { kind: 'settle_funding', payload: { fundingId }, platformId: contract.platform_id, contractId: contract.id, dedupeKey: `settle:${fundingId}` });
      }
    } catch (e) {
      if (e instanceof PaymentDeclinedError) throw new AppError('payment_declined', 'the card was declined', { declineCode: e.declineCode });
      throw e;
    }
  } else if (excess > 0) {
    const [funding] = await ctx.tx.query<{ provider_ref: string }>(
      "SELECT provider_ref FROM fundings WHERE milestone_id = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1",
      [before.id],
    );
    const r = await ctx.deps.provider.refund({
      chargeReference: funding?.provider_ref ?? 'none',
      amount: excess + excessFeeBack,
      currency: contract.currency,
      idempotencyKey: `refund:${before.id}:v${before.version}:next`,
    });
    providerRef = r.reference;
  }
  await postEntry(ctx.tx, {
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: before.id,
    currency: contract.currency,
    kind: 'escrow_transfer',
    reference: `transfer:${before.id}:${next.id}${providerRef ? `:${providerRef}` : ''}`,
    postings: escrowTransferPostings(partiesOf(contract), before.id, next.id, { moved, charged, chargedFee, excess, excessFeeBack }),
    at: ctx.now,
  });
  const saved = await saveMilestoneState(ctx.tx, next.id, state, ctx.now, { client_fee_charged: next.client_fee_charged + movedFee + chargedFee });
  await recordEvent(ctx, contract, {
    kind: 'milestone.funded',
    actorRole: 'client',
    milestoneId: next.id,
    data: { title: next.title, amount: next.amount, status: saved.status, fromMilestoneId: before.id, fromTitle: before.title, moved, charged, refunded: excess },
  });
  return saved;
}
