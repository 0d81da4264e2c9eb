import type { UseCaseCtx } from './context.ts';
import { runMilestoneCommand } from './run-milestone-command.ts';

/** The client moves the milestone's amount into escrow by charging a payment method. */
export async function fundMilestone(ctx: UseCaseCtx, milestoneId: string, input: { paymentMethod?: string; expectedVersion?: number }) {
  return runMilestoneCommand(ctx, milestoneId, { type: 'fund' }, { event: 'milestone.funded', paymentMethod: input.paymentMethod, expectedVersion: input.expectedVersion });
}
