import { setContractStatus } from '../db/repos/contracts.ts';
import { listContractMilestones, saveMilestoneState, toState } from '../db/repos/milestones.ts';
import { contractTransition, planCloseSettlement } from '../domain/contract-machine.ts';
import { AppError, forbidden, invalidState } from '../domain/errors.ts';
import { escrowHeld, type MilestoneState, type MoneyEffect } from '../domain/milestone-machine.ts';
import { allocate } from '../domain/money.ts';
import { loadContract } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { applyMoneyEffects } from './money.ts';
import { recordEvent } from './record.ts';
import { assertVersion } from './run-milestone-command.ts';

const UNFINISHED = new Set(['proposed', 'accepted', 'in_progress', 'submitted']);

/**
 * Either party closes a live contract. Escrow still held is settled in the same transaction:
 * refunded to the client, or (by the client or the admin) released to the contractor, or split;
 * the split is spread pro rata over the funded milestones. Unfinished unfunded milestones are
 * cancelled; approved ones keep their draft payments. Refused while a dispute is open, while a
 * deposit is still settling, and for the client while work awaits review.
 */
export async function closeContract(ctx: UseCaseCtx, contractId: string, input: { release?: number; refund?: number; expectedVersion?: number }) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const createdByRole = contract.created_by === contract.client_id ? 'client' : 'contractor';
  const t = contractTransition({ status: contract.status, createdByRole }, { type: 'close' }, { role });
  if (!t.ok) throw t.error;
  assertVersion(contract, input.expectedVersion);
  if (role === 'contractor' && (input.release ?? 0) > 0) throw forbidden('only the client releases escrow to the contractor');
  const milestones = await listContractMilestones(ctx.tx, contract.id);
  const disputed = milestones.find((m) => m.status === 'disputed');
  if (disputed) throw invalidState('milestone', 'disputed', `milestone ${disputed.id} is disputed; it must be resolved before closing`);
  const pending = milestones.find((m) => m.funding_pending);
  if (pending) throw new AppError('funding_pending', `the deposit for milestone ${pending.id} has not settled yet`, { state: pending.status });
  const submitted = milestones.find((m) => m.status === 'submitted');
  if (role === 'client' && submitted) throw invalidState('milestone', 'submitted', `review submitted milestone ${submitted.id} before closing`);

  const held = milestones.filter((m) => escrowHeld(toState(m)) > 0);
  const plan = planCloseSettlement(held.map((m) => ({ id: m.id, held: escrowHeld(toState(m)) })), input, allocate);
  if (plan instanceof AppError) throw plan;

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
  await recordEvent(ctx, saved, { kind: 'contract.closed', actorRole: role, data: { released, refunded } });
  return saved;
}
