import type { ContractRow } from '../db/repos/contracts.ts';
import { setContractStatus } from '../db/repos/contracts.ts';
import { listContractMilestones, saveMilestoneState, toState, type MilestoneRow } from '../db/repos/milestones.ts';
import { contractTransition, planCloseSettlement, type Settlement } from '../domain/contract-machine.ts';
import { AppError, forbidden, invalidState } from '../domain/errors.ts';
import { escrowHeld, type MilestoneState, type MoneyEffect } from '../domain/milestone-machine.ts';
import { allocate } from '../domain/money.ts';
import type { EventKind } from '../notify/templates.ts';
import { loadContract, type ContractRole } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { applyMoneyEffects } from './money.ts';
import { recordEvent } from './record.ts';
import { assertOneMemberMayRelease } from './organizations/four-eyes.ts';
import { assertNoOpenRefundRequest, openRefundRequest, type RefundRequestRow } from './refund-requests.ts';
import { assertVersion } from './run-milestone-command.ts';

const UNFINISHED = new Set(['proposed', 'accepted', 'in_progress', 'submitted', 'approval_pending']);

export type CloseOutcome = { kind: 'closed'; contract: ContractRow } | { kind: 'refund_request'; contract: ContractRow; request: RefundRequestRow };

/**
 * Either party closes a live contract. Escrow still held is settled: released to the
 * contractor (by the client or the admin) or given back by the contractor, at once; but escrow
 * the client wants refunded is the contractor's money-in-waiting, so a client's refund is a
 * refund request the contractor accepts or counters (see refund-requests.ts), never a
 * unilateral move. Refused while a dispute is open, while a deposit is still settling, and for
 * the client while work awaits review.
 */
export async function closeContract(ctx: UseCaseCtx, contractId: string, input: { release?: number; refund?: number; message?: string; expectedVersion?: number }): Promise<CloseOutcome> {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const { milestones, plan } = await planClose(ctx, contract, role, input);
  assertVersion(contract, input.expectedVersion);
  await assertNoOpenRefundRequest(ctx, contract.id);
  const refund = plan.reduce((a, p) => a + p.refund, 0);
  const release = plan.reduce((a, p) => a + p.release, 0);
  if (role === 'client') await assertOneMemberMayRelease(ctx, contract, release);
  if (role === 'client' && refund > 0) {
    const request = await openRefundRequest(ctx, contract, 'client', { refund, release, message: input.message ?? null });
    return { kind: 'refund_request', contract, request };
  }
  return { kind: 'closed', contract: await settleAndClose(ctx, contract, role, milestones, plan, 'contract.closed') };
}

/** Checks that `role` may close the contract now and splits the escrow it holds as asked. */
export async function planClose(ctx: UseCaseCtx, contract: ContractRow, role: ContractRole, input: { release?: number; refund?: number }): Promise<{ milestones: MilestoneRow[]; plan: Settlement }> {
  const createdByRole = contract.created_by === contract.contractor_id ? 'contractor' : 'client';
  const t = contractTransition({ status: contract.status, createdByRole }, { type: 'close' }, { role });
  if (!t.ok) throw t.error;
  if (role === 'contractor' && (input.release ?? 0) > 0) throw forbidden('only the client releases escrow to the contractor');
  const milestones = await listContractMilestones(ctx.tx, contract.id);
  const disputed = milestones.find((m) => m.status === 'disputed');
  if (disputed) throw invalidState('milestone', 'disputed', `milestone ${disputed.id} is disputed; it must be resolved before closing`);
  const pending = milestones.find((m) => m.funding_pending);
  if (pending) throw new AppError('funding_pending', `the deposit for milestone ${pending.id} has not settled yet`, { state: pending.status });
  const submitted = milestones.find((m) => m.status === 'submitted' || m.status === 'approval_pending');
  if (role === 'client' && submitted) throw invalidState('milestone', submitted.status, `review ${submitted.status === 'submitted' ? 'submitted' : 'half-approved'} milestone ${submitted.id} before closing`);
  const held = milestones.filter((m) => escrowHeld(toState(m)) > 0);
  const plan = planCloseSettlement(held.map((m) => ({ id: m.id, held: escrowHeld(toState(m)) })), input, allocate);
  if (plan instanceof AppError) throw plan;
  return { milestones, plan };
}

/**
 * Settles the escrow as planned (pro rata over the funded milestones), cancels unfinished
 * unfunded milestones (approved ones keep their draft payments), closes the contract and
 * records `event` — all in the caller's transaction, with the contract locked.
 */
export async function settleAndClose(
  ctx: UseCaseCtx,
  contract: ContractRow,
  role: ContractRole | 'system',
  milestones: MilestoneRow[],
  plan: Settlement,
  event: EventKind,
  data: Record<string, unknown> = {},
): Promise<ContractRow> {
  for (const m of milestones) {
    const share = plan.find((p) => p.id === m.id);
    if (share) {
      const state = toState(m);
      const next: MilestoneState = {
        ...state,
        status: share.release > 0 ? 'paid' : 'refunded',
        releasedAmount: state.releasedAmount + share.release,
        refundedAmount: state.refundedAmount + share.refund,
      };
      const effects: MoneyEffect[] = [];
      if (share.release > 0) effects.push({ type: 'release', amount: share.release });
      if (share.refund > 0) effects.push({ type: 'refund', amount: share.refund });
      const money = await applyMoneyEffects(ctx, contract, m, next, effects, { paymentKind: 'close_release' });
      await saveMilestoneState(ctx.tx, m.id, money.state, ctx.now, money.columns);
    } else if (UNFINISHED.has(m.status)) {
      await saveMilestoneState(ctx.tx, m.id, { ...toState(m), status: 'cancelled', proposedBy: null }, ctx.now);
    }
  }
  await ctx.tx.query(
    "UPDATE change_requests SET status = 'withdrawn', resolved_at = $2, updated_at = $2, version = version + 1 WHERE contract_id = $1 AND status = 'open'",
    [contract.id, ctx.now],
  );
  const saved = await setContractStatus(ctx.tx, contract.id, 'closed', ctx.now);
  const released = plan.reduce((a, p) => a + p.release, 0);
  const refunded = plan.reduce((a, p) => a + p.refund, 0);
  await recordEvent(ctx, saved, { kind: event, actorRole: role, data: { released, refunded, ...data } });
  return saved;
}
