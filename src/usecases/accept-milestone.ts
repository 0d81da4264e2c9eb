import { AppError } from '../domain/errors.ts';
import type { UseCaseCtx } from './context.ts';
import { recordEvent } from './record.ts';
import { requestFunding } from './payments/funding.ts';
import { runMilestoneCommand, type CommandResult } from './run-milestone-command.ts';

/**
 * The other party accepts a proposed milestone. Under `fundingTrigger: on_acceptance` the
 * contractor's acceptance on a live contract also charges the client's saved payment method;
 * if that charge cannot happen the milestone stays accepted and the client is told to fund it.
 */
export async function acceptMilestone(ctx: UseCaseCtx, milestoneId: string, input: { expectedVersion?: number } = {}) {
  const accepted = await runMilestoneCommand(ctx, milestoneId, { type: 'accept' }, { event: 'milestone.accepted', expectedVersion: input.expectedVersion });
  return chargeOnAcceptance(ctx, accepted);
}

/**
 * Under `fundingTrigger: on_acceptance`, a milestone the contractor just accepted on a live
 * contract is charged to the client's saved payment method; if that charge cannot happen the
 * milestone stays accepted and both parties are told.
 */
export async function chargeOnAcceptance(ctx: UseCaseCtx, accepted: CommandResult): Promise<CommandResult> {
  const { contract } = accepted;
  const milestoneId = accepted.milestone.id;
  const p = contract.policy;
  if (!(p.escrow === 'required' && p.fundingTrigger === 'on_acceptance' && contract.status === 'active' && accepted.role === 'contractor')) {
    return accepted;
  }
  try {
    // The charge is made after commit; its answer funds the milestone, or tells both parties it failed.
    const requested = await requestFunding(ctx, contract, accepted.milestone, 'client', {
      event: 'milestone.funded',
      // The charge is the system's doing, not the caller's: both parties are told.
      eventActor: 'system',
      data: { trigger: 'on_acceptance' },
    });
    return { ...accepted, milestone: requested.milestone };
  } catch (e) {
    if (!(e instanceof AppError) || e.status >= 500) throw e;
    // The acceptance stands; the charge did not happen. Nothing of the charge was written.
    await recordEvent(ctx, contract, {
      kind: 'milestone.funding_failed',
      actorRole: 'system',
      milestoneId,
      notify: ['client', 'contractor'],
      data: { title: accepted.milestone.title, amount: accepted.milestone.amount, reason: e.code },
    });
    return accepted;
  }
}
