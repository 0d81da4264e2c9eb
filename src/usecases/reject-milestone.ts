import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/** The client sends submitted work back with a reason, which reaches the contractor. */
export async function rejectMilestone(ctx: UseCaseCtx, milestoneId: string, input: { reason: string; expectedVersion?: number }) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'reject', reason: input.reason }, {
    event: 'milestone.rejected',
    expectedVersion: input.expectedVersion,
    data: { reason: input.reason },
    columns: { last_reject_reason: input.reason },
  });
}
