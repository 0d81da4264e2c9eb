import { findMilestone, saveMilestoneState, toState, type MilestoneRow } from '../db/repos/milestones.ts';
import type { ContractRow } from '../db/repos/contracts.ts';
import { AppError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { escrowHeld, OPEN_FUNDED_STATUSES, transition, type ReleaseRest } from '../domain/milestone-machine.ts';
import { allocate, cumulativeShare, feeOf } from '../domain/money.ts';
import { Accounts } from '../ledger/accounts.ts';
import { escrowTransferPostings } from '../ledger/flows.ts';
import { postEntry } from '../ledger/postings.ts';
import { loadMilestone, type ContractRole } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { partiesOf, resolvePaymentMethod } from './money.ts';
import { nextAttempt, requestOperation, type OperationRow } from './payments/operations.ts';
import type { BookingCtx, ProviderAnswer } from './payments/perform-operation.ts';
import { recordEvent } from './record.ts';
import { applyMilestoneCommand, assertVersion, previewMilestoneCommand, type CommandResult } from './run-milestone-command.ts';

export type ReleaseInput = { amount: number; rest?: ReleaseRest; paymentMethod?: string; expectedVersion?: number };
export type ReleaseResult = CommandResult & { next: MilestoneRow | null };

/**
 * The client releases part of the escrow to the contractor. What is left stays held (`keep`),
 * is refunded to the client (`refund`), or funds the next unfunded milestone (`next`, seed 001:
 * "send a partial milestone payment for an unfinished milestone and use the balance to fund
 * the next milestone"); with `refund` and `next` this milestone is settled as paid.
 *
 * When the rest does not cover the next milestone, the client's card pays the difference. That
 * charge is a provider operation (never a call inside this transaction): the command only
 * checks everything and marks both milestones `fundingPending`; the release and the move are
 * applied together with the provider's answer (bookRestCharge), so a decline changes nothing.
 */
export async function releaseMilestone(ctx: UseCaseCtx, milestoneId: string, input: ReleaseInput): Promise<ReleaseResult> {
  const rest = input.rest ?? 'keep';
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  assertVersion(milestone, input.expectedVersion);
  const left = escrowHeld(toState(milestone)) - input.amount;
  // The next milestone is found (and locked) before anything moves, so that a missing one
  // refuses the whole command; the machine then checks the release itself.
  const next = rest === 'next' && left > 0 && role === 'client' ? await nextUnfunded(ctx, milestone) : null;
  if (next && next.amount > left) {
    const t = await previewMilestoneCommand(ctx, contract, milestone, role, { type: 'release', amount: input.amount, rest });
    // A first approval of an organisation's member waiting for a second moves nothing: no charge yet.
    if (t.next.status === 'paid') return requestRestCharge(ctx, contract, milestone, next, input, left);
  }
  const r = await applyRelease(ctx, contract, milestone, role, input.amount, rest, next, left);
  // Not settled (e.g. a first approval of an organisation's member waiting for a second): nothing moved yet.
  if (!next || r.milestone.status !== 'paid') return { ...r, next: null };
  return { ...r, next: await fundFromRest(ctx, r, next, left, null) };
}

function applyRelease(ctx: UseCaseCtx, contract: ContractRow, milestone: MilestoneRow, role: ContractRole | 'system', amount: number, rest: ReleaseRest, next: MilestoneRow | null, left: number) {
  return applyMilestoneCommand(ctx, contract, milestone, role, { type: 'release', amount, rest }, {
    event: 'milestone.released',
    paymentKind: 'partial_release',
    data: { released: amount, rest, left: Math.max(0, left), ...(next ? { nextMilestoneId: next.id, nextTitle: next.title } : {}) },
    columns: next ? { client_fee_refunded: milestone.client_fee_refunded + movedFeeShare(milestone, left) } : undefined,
  });
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

/** How the rest of `before` funds `next`: moved escrow to escrow, the difference charged, any excess refunded. */
function restSplit(contract: ContractRow, before: MilestoneRow, next: MilestoneRow, rest: number) {
  const moved = Math.min(rest, next.amount);
  const charged = next.amount - moved;
  const excess = rest - moved;
  const chargedFee = feeOf(charged, contract.policy.platformFee.clientBps);
  // The fee paid on the rest follows it: the moved part's share to the next milestone, the excess's share back to the card.
  const restFee = movedFeeShare(before, rest);
  const [movedFee = 0, excessFeeBack = 0] = rest > 0 ? allocate(restFee, [moved, excess]) : [];
  return { moved, charged, excess, chargedFee, movedFee, excessFeeBack };
}

/** The fund transition of `next` once `before` is settled (it no longer counts as open and funded). */
async function checkNextFund(ctx: UseCaseCtx, contract: ContractRow, before: MilestoneRow, next: MilestoneRow) {
  const [others] = await ctx.tx.query<{ n: number }>('SELECT count(*)::int AS n FROM milestones WHERE contract_id = $1 AND id <> ALL($2) AND status = ANY($3)', [
    contract.id, [before.id, next.id], OPEN_FUNDED_STATUSES,
  ]);
  const t = transition(toState(next), { type: 'fund' }, { role: 'client' }, contract.policy, {
    contractStatus: contract.status,
    currency: contract.currency,
    otherOpenFunded: others?.n ?? 0,
  });
  if (!t.ok) throw t.error;
  return t;
}

/** What the release command knew and the booking of the difference's charge needs. */
type RestChargeDetails = {
  kind: 'release_next';
  fromMilestoneId: string;
  released: number;
  version: number;
  nextVersion: number;
  charged: number;
  fee: number;
  actorId: string | null;
  clientId: string;
  description: string;
};

/** First phase of a release whose rest needs a charge: everything checked, the charge requested, both milestones held. */
async function requestRestCharge(ctx: UseCaseCtx, contract: ContractRow, before: MilestoneRow, next: MilestoneRow, input: ReleaseInput, rest: number): Promise<ReleaseResult> {
  await checkNextFund(ctx, contract, before, next);
  const method = await resolvePaymentMethod(ctx, contract, input.paymentMethod);
  const split = restSplit(contract, before, next, rest);
  const details: RestChargeDetails = {
    kind: 'release_next',
    fromMilestoneId: before.id,
    released: input.amount,
    version: before.version,
    nextVersion: next.version,
    charged: split.charged,
    fee: split.chargedFee,
    actorId: ctx.principal.userId,
    clientId: contract.client_id,
    description: `Escrow for ${next.title} (the rest of ${before.title} moved)`,
  };
  const attempt = await nextAttempt(ctx.tx, 'funding', 'milestone_id', next.id);
  await requestOperation(ctx, {
    operation: 'charge',
    purpose: 'funding',
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: next.id,
    amount: split.charged + split.chargedFee,
    currency: contract.currency,
    idempotencyKey: `fund:${next.id}:v${next.version}:${attempt}`,
    paymentMethod: method,
    details,
  });
  const rows = await ctx.tx.query<MilestoneRow>('UPDATE milestones SET funding_pending = true WHERE id = ANY($1) RETURNING *', [[before.id, next.id]]);
  const saved = rows.find((m) => m.id === before.id)!;
  return { contract, milestone: saved, before, role: 'client', paymentIds: [], next: null };
}

export const isRestCharge = (op: OperationRow) => (op.details as Partial<RestChargeDetails>).kind === 'release_next';

/**
 * Second phase: the provider's answer to the difference's charge. Accepted (at once, or to
 * settle later): the release and the move are applied as one command, with the charge booked in
 * the move's journal entry. Declined: both milestones are as they were. Should either milestone
 * have changed meanwhile (it cannot while both are held), the charge is booked and refunded.
 */
export async function bookRestCharge(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  const d = op.details as RestChargeDetails;
  const contract = (await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [op.contract_id]))[0]!;
  const before = (await findMilestone(ctx.tx, op.platform_id, d.fromMilestoneId, true))!;
  const next = (await findMilestone(ctx.tx, op.platform_id, op.milestone_id!, true))!;
  await ctx.tx.query('UPDATE milestones SET funding_pending = false WHERE id = ANY($1)', [[before.id, next.id]]);
  const b = { ...before, funding_pending: false };
  const n = { ...next, funding_pending: false };
  if (answer.status === 'failed') {
    if (!ctx.told) {
      await recordEvent(ctx, contract, {
        kind: 'milestone.funding_failed',
        actorRole: 'system',
        milestoneId: next.id,
        notify: ['client', 'contractor'],
        data: { title: next.title, amount: d.charged, reason: 'payment_declined', declineCode: answer.code, fromMilestoneId: before.id },
      });
    }
    return {};
  }
  const charge = { reference: answer.reference, status: answer.status === 'processing' ? ('pending' as const) : ('succeeded' as const), paymentMethod: op.payment_method! };
  const rest = escrowHeld(toState(b)) - d.released;
  let applicable = before.version === d.version && next.version === d.nextVersion && rest > 0;
  if (applicable) {
    try {
      const t = await previewMilestoneCommand(ctx, contract, b, 'client', { type: 'release', amount: d.released, rest: 'next' });
      await checkNextFund(ctx, contract, b, n);
      applicable = t.next.status === 'paid';
    } catch {
      applicable = false;
    }
  }
  if (!applicable) return refundUnusedCharge(ctx, contract, op, charge.reference);
  const r = await applyRelease(ctx, contract, b, 'client', d.released, 'next', n, rest);
  const moved = await fundFromRest(ctx, r, n, rest, charge);
  return { entryReference: moved.entryReference };
}

/**
 * A charge the provider accepted that can no longer be used as asked: it arrives in the client's
 * funding account and is refunded from there (a refund operation after commit); both parties are
 * told. The milestones stay as they are.
 */
async function refundUnusedCharge(ctx: BookingCtx, contract: ContractRow, op: OperationRow, reference: string) {
  const funding = Accounts.clientFunding(contract.client_id);
  const entryReference = `charge:${reference}`;
  await postEntry(ctx.tx, {
    platformId: contract.platform_id, contractId: contract.id, milestoneId: op.milestone_id, currency: op.currency, at: ctx.now,
    kind: 'charge_unused', reference: entryReference, postings: [{ source: Accounts.world(), destination: funding, amount: op.amount }],
  });
  await requestOperation(ctx, {
    operation: 'refund',
    purpose: 'refund',
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: op.milestone_id,
    amount: op.amount,
    currency: op.currency,
    idempotencyKey: `refund:${op.id}:unused`,
    chargeReference: reference,
    details: { clientId: contract.client_id, amount: op.amount, unusedCharge: op.id },
  });
  await recordEvent(ctx, contract, {
    kind: 'milestone.funding_failed',
    actorRole: 'system',
    milestoneId: op.milestone_id,
    notify: ['client', 'contractor'],
    data: { amount: op.amount, reason: 'changed_meanwhile', refunded: op.amount },
  });
  return { entryReference };
}

/**
 * Funds `next` with what `rest` of the released milestone is left: escrow to escrow, the client
 * charged only the difference (with `charge`, the provider's accepted answer) or refunded the
 * excess (a refund operation after commit), in one journal entry.
 */
async function fundFromRest(
  ctx: UseCaseCtx,
  released: CommandResult,
  next: MilestoneRow,
  rest: number,
  charge: { reference: string; status: 'pending' | 'succeeded'; paymentMethod: string } | null,
): Promise<MilestoneRow & { entryReference: string }> {
  const { contract, before } = released;
  const t = await checkNextFund(ctx, contract, before, next);
  const { moved, charged, excess, chargedFee, movedFee, excessFeeBack } = restSplit(contract, before, next, rest);
  if (charged > 0 && !charge) throw new Error('the difference is charged before the move: see requestRestCharge');
  const state = { ...t.next };
  let reference = `transfer:${before.id}:${next.id}`;
  if (charge) {
    reference += `:${charge.reference}`;
    await ctx.tx.query(
      `INSERT INTO fundings (id, platform_id, contract_id, milestone_id, amount, client_fee, currency, payment_method, provider_ref, status, created_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)`,
      [newId('funding'), contract.platform_id, contract.id, next.id, charged, chargedFee, contract.currency, charge.paymentMethod, charge.reference, charge.status, ctx.now],
    );
    // A charge accepted to settle later is settled by the worker's operation sweep.
    state.fundingPending = charge.status === 'pending';
  } else if (excess > 0) {
    // The excess waits in the client's funding account for the provider's refund, made after commit.
    const [funding] = await ctx.tx.query<{ provider_ref: string }>(
      "SELECT provider_ref FROM fundings WHERE milestone_id = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1",
      [before.id],
    );
    const operationId = await requestOperation(ctx, {
      operation: 'refund',
      purpose: 'refund',
      platformId: contract.platform_id,
      contractId: contract.id,
      milestoneId: before.id,
      amount: excess + excessFeeBack,
      currency: contract.currency,
      idempotencyKey: `refund:${before.id}:v${before.version}:next`,
      chargeReference: funding?.provider_ref ?? null,
      details: { clientId: contract.client_id, amount: excess, feeBack: excessFeeBack, movedTo: next.id },
    });
    reference += `:refund:${operationId}`;
  }
  await postEntry(ctx.tx, {
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: before.id,
    currency: contract.currency,
    kind: 'escrow_transfer',
    reference,
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
  return { ...saved, entryReference: reference };
}
