import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/** The other party declines a proposed milestone. */
export async function declineMilestone(ctx: UseCaseCtx, milestoneId: string, input: { reason?: string } = {}) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'decline' }, { event: 'milestone.declined', data: { reason: input.reason ?? null } });
}
