import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/**
 * The client approves the work. Under escrow the rest of the escrow is released to the
 * contractor as a paid payment; without escrow a draft payment is created for the client to pay.
 */
export async function approveMilestone(ctx: UseCaseCtx, milestoneId: string, input: { expectedVersion?: number } = {}) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'approve' }, { event: 'milestone.approved', expectedVersion: input.expectedVersion });
}
