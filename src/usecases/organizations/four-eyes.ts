import type { ContractRow } from '../../db/repos/contracts.ts';
import { approvalThresholdOf } from '../../db/repos/organizations.ts';
import { AppError } from '../../domain/errors.ts';
import type { UseCaseCtx } from '../context.ts';

/**
 * Four eyes where a command has no second step (a close, a refund split at close): one member
 * of the client organisation may not release to the contractor an amount at or above its
 * threshold. They release it on the milestones, where a second member approves, then close.
 * (Approvals and releases on milestones: `transition` in domain/milestone-machine.ts; drafts:
 * pay-payments.ts.)
 */
export async function assertOneMemberMayRelease(ctx: UseCaseCtx, contract: ContractRow, release: number): Promise<void> {
  const threshold = await approvalThresholdOf(ctx.tx, contract.client_id, contract.currency);
  if (threshold !== null && release >= threshold) {
    throw new AppError('second_approver_required', `releasing ${release} at close is at or above the organisation's approval threshold of ${threshold}: release it on the milestones, where a second member approves, then close`, {
      threshold,
    });
  }
}
