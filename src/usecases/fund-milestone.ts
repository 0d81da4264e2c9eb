import { loadMilestone } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { requestFunding } from './payments/funding.ts';

/**
 * The client moves the milestone's amount into escrow by charging a payment method. The
 * charge is made after commit (payments/funding.ts): the result's `operationId` tells the
 * caller which provider answer the deposit waits for.
 */
export async function fundMilestone(ctx: UseCaseCtx, milestoneId: string, input: { paymentMethod?: string; expectedVersion?: number }) {
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  return requestFunding(ctx, contract, milestone, role, { paymentMethod: input.paymentMethod, expectedVersion: input.expectedVersion });
}
