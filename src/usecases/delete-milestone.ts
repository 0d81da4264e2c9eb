import { toState } from '../db/repos/milestones.ts';
import { changeMode, transition } from '../domain/milestone-machine.ts';
import { actorName, assertNoOpenChangeRequest, loadMilestone } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { openChangeRequestOn } from './open-change-request.ts';
import { applyMilestoneCommand, assertVersion } from './run-milestone-command.ts';

/**
 * A party removes a milestone. Proposals are withdrawn by their author; an agreed milestone
 * is removed at once or through a change request, as the policy says; a funded milestone
 * (only where the policy allows deleting until paid) is removed with its escrow refunded.
 */
export async function deleteMilestone(ctx: UseCaseCtx, milestoneId: string, expectedVersion?: number) {
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  assertVersion(milestone, expectedVersion);
  const check = transition(toState(milestone), { type: 'delete' }, { role }, contract.policy, { contractStatus: contract.status, currency: contract.currency, otherOpenFunded: 0 });
  if (!check.ok) throw check.error;
  await assertNoOpenChangeRequest(ctx, contract.id);
  const party = role as 'client' | 'contractor';
  const agreedUnfunded = milestone.status === 'accepted' || milestone.status === 'in_progress';
  if (agreedUnfunded && changeMode(contract.policy, party, milestone.status) === 'change_request') {
    const opened = await openChangeRequestOn(ctx, contract, party, { operations: [{ op: 'remove', milestoneId }] });
    return { kind: 'change_request' as const, ...opened };
  }
  const done = await applyMilestoneCommand(ctx, contract, milestone, party, { type: 'delete' }, { event: 'milestone.deleted', data: { by: await actorName(ctx) } });
  return { kind: 'applied' as const, ...done };
}
