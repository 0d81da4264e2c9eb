import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/** The contractor (or the platform admin) returns the milestone's escrow to the client. */
export async function refundMilestone(ctx: UseCaseCtx, milestoneId: string, input: { expectedVersion?: number } = {}) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'refund' }, { event: 'milestone.refunded', expectedVersion: input.expectedVersion });
}
