import { isDeletable } from '../domain/milestone-machine.ts';
import { planChangeSet } from '../domain/change-set.ts';
import { invalidState } from '../domain/errors.ts';
import { needsAcceptance } from '../domain/policy.ts';
import { actorName, assertNoOpenChangeRequest, loadContract, requireParty } from './access.ts';
import { applyPlan, currentViews } from './apply-change-set.ts';
import type { UseCaseCtx } from './context.ts';
import { openChangeRequestOn } from './open-change-request.ts';
import { recordEvent } from './record.ts';

/**
 * A party puts the milestones in a new order. The list must name every current milestone
 * once; funded and later milestones keep their place. Applied at once or as a change request.
 */
export async function reorderMilestones(ctx: UseCaseCtx, contractId: string, milestoneIds: string[]) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const party = requireParty(role);
  if (contract.status !== 'proposal' && contract.status !== 'active') throw invalidState('contract', contract.status);
  await assertNoOpenChangeRequest(ctx, contract.id);
  const operations = [{ op: 'reorder' as const, milestoneIds }];
  const plan = planChangeSet(await currentViews(ctx, contract.id), operations, (st) => isDeletable(contract.policy, st));
  if (needsAcceptance(contract.policy, party)) {
    const opened = await openChangeRequestOn(ctx, contract, party, { operations });
    return { kind: 'change_request' as const, ...opened };
  }
  await applyPlan(ctx, contract, plan, { status: 'accepted', proposedBy: null });
  await recordEvent(ctx, contract, { kind: 'milestone.reordered', actorRole: party, data: { milestoneIds, by: await actorName(ctx) } });
  return { kind: 'applied' as const, contract };
}
