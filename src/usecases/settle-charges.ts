import { findContract } from '../db/repos/contracts.ts';
import { findMilestone } from '../db/repos/milestones.ts';
import { AppError } from '../domain/errors.ts';
import type { UseCaseCtx } from './context.ts';
import { recordEvent } from './record.ts';
import { applyMilestoneCommand } from './run-milestone-command.ts';

export class RetryLater extends Error {}

/**
 * Asks the provider how a pending escrow deposit ended (deposits a release moved to the next
 * milestone, release-milestone.ts; every other deposit is a provider operation). Settled: the milestone's escrow is
 * confirmed. Failed: the hold is reversed in the ledger, the milestone is unfunded again and
 * both parties are told.
 */
export async function settleFunding(ctx: UseCaseCtx, fundingId: string): Promise<string> {
  const [peek] = await ctx.tx.query<{ contract_id: string; milestone_id: string }>('SELECT contract_id, milestone_id FROM fundings WHERE id = $1', [fundingId]);
  if (!peek) return 'missing';
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, true))!;
  const [funding] = await ctx.tx.query<{ status: string; provider_ref: string; amount: number }>('SELECT * FROM fundings WHERE id = $1 FOR UPDATE', [fundingId]);
  if (!funding || funding.status !== 'pending') return 'already settled';
  // Deposits made through provider operations are settled by the worker's operation sweep.
  const [op] = await ctx.tx.query('SELECT 1 FROM provider_operations WHERE platform_id = $1 AND provider_ref = $2', [contract.platform_id, funding.provider_ref]);
  if (op) return 'settled by its provider operation';
  const outcome = await ctx.deps.provider.settle(funding.provider_ref);
  if (outcome === 'pending') throw new RetryLater('charge still pending');
  const milestone = (await findMilestone(ctx.tx, contract.platform_id, peek.milestone_id, true))!;
  if (outcome === 'succeeded') {
    await ctx.tx.query("UPDATE fundings SET status = 'succeeded', updated_at = $2 WHERE id = $1", [fundingId, ctx.now]);
    await applyMilestoneCommand(ctx, contract, milestone, 'system', { type: 'funding_settled' }, { event: 'milestone.funding_settled' });
    return 'succeeded';
  }
  await applyMilestoneCommand(ctx, contract, milestone, 'system', { type: 'funding_failed' }, { event: 'milestone.funding_failed', data: { fundingId } });
  return 'failed';
}

/**
 * Timer: a submitted milestone still unreviewed at the end of the review period is approved
 * by the system. Keyed by submission number: a later resubmission has its own timer.
 */
export async function autoApprove(ctx: UseCaseCtx, milestoneId: string, submission: number): Promise<string> {
  const peek = await findMilestone(ctx.tx, ctx.principal.platformId, milestoneId);
  if (!peek) return 'missing';
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, true))!;
  const m = (await findMilestone(ctx.tx, contract.platform_id, milestoneId, true))!;
  // A first approval under four eyes does not stop the review period: silence still approves.
  if ((m.status !== 'submitted' && m.status !== 'approval_pending') || m.submission_count !== submission) return 'no longer due';
  try {
    await applyMilestoneCommand(ctx, contract, m, 'system', { type: 'auto_approve' }, { event: 'milestone.auto_approved', data: { submission } });
  } catch (e) {
    if (e instanceof AppError && e.code === 'funding_pending') throw new RetryLater('deposit still settling');
    if (e instanceof AppError && e.code === 'escrow_frozen') throw new RetryLater('escrow frozen by a chargeback');
    if (e instanceof AppError) return `skipped: ${e.code}`;
    throw e;
  }
  return 'approved';
}

/** Timer: 48 hours before auto-approval, both parties are told. */
export async function warnAutoApproval(ctx: UseCaseCtx, milestoneId: string, submission: number, dueAt: string): Promise<string> {
  const m = await findMilestone(ctx.tx, ctx.principal.platformId, milestoneId);
  if (!m || m.status !== 'submitted' || m.submission_count !== submission) return 'no longer due';
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, m.contract_id))!;
  await recordEvent(ctx, contract, { kind: 'milestone.auto_approval_due', actorRole: 'system', milestoneId, data: { title: m.title, dueAt } });
  return 'warned';
}
