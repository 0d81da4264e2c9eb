import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/** The client releases part of the escrow to the contractor; the rest stays held. */
export async function releaseMilestone(ctx: UseCaseCtx, milestoneId: string, input: { amount: number; expectedVersion?: number }) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'release', amount: input.amount }, {
    event: 'milestone.released',
    paymentKind: 'partial_release',
    expectedVersion: input.expectedVersion,
  });
}
