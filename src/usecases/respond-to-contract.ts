import { setContractStatus } from '../db/repos/contracts.ts';
import { contractTransition, type ContractCommand } from '../domain/contract-machine.ts';
import type { EventKind } from '../notify/templates.ts';
import { loadContractWithMilestones } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { recordEvent } from './record.ts';
import { chargeOnAcceptance } from './accept-milestone.ts';
import { applyMilestoneCommand, assertVersion } from './run-milestone-command.ts';

const EVENTS: Record<'activate' | 'withdraw' | 'decline', EventKind> = {
  activate: 'contract.activated',
  withdraw: 'contract.withdrawn',
  decline: 'contract.declined',
};

/**
 * Answers a contract proposal: the party who did not create it activates it (it goes live,
 * and the milestones its creator proposed with it are accepted with it) or declines it, or its
 * creator withdraws it. Milestones the other party proposed meanwhile stay for the creator to
 * answer.
 */
export async function respondToContract(ctx: UseCaseCtx, contractId: string, command: Exclude<ContractCommand['type'], 'close'>, expectedVersion?: number) {
  // The milestones come with the lock (one round trip): activation goes through them below.
  const { contract, role, milestones } = await loadContractWithMilestones(ctx, contractId);
  const createdByRole = contract.created_by === contract.contractor_id ? 'contractor' : 'client';
  const t = contractTransition({ status: contract.status, createdByRole }, { type: command } as ContractCommand, { role });
  if (!t.ok) throw t.error;
  assertVersion(contract, expectedVersion);
  const saved = await setContractStatus(ctx.tx, contract.id, t.next, ctx.now, contract);
  if (t.next !== 'active') {
    // A proposal that ends takes its unfinished milestones with it.
    await ctx.tx.query(
      "UPDATE milestones SET status = 'cancelled', version = version + 1, updated_at = $2 WHERE contract_id = $1 AND status IN ('proposed','accepted')",
      [contract.id, ctx.now],
    );
    await ctx.tx.query("UPDATE change_requests SET status = 'withdrawn', resolved_at = $2, updated_at = $2, version = version + 1 WHERE contract_id = $1 AND status = 'open'", [contract.id, ctx.now]);
  }
  await recordEvent(ctx, saved, { kind: EVENTS[command], actorRole: role });
  if (t.next === 'active' && (role === 'client' || role === 'contractor')) {
    for (const m of milestones) {
      if (m.status !== 'proposed' || m.proposed_by !== createdByRole) continue;
      // `m` was read under the contract's lock and nothing wrote it since: fresh.
      const accepted = await applyMilestoneCommand(ctx, saved, m, role, { type: 'accept' }, { event: 'milestone.accepted', data: { withContract: true } }, true);
      await chargeOnAcceptance(ctx, accepted);
    }
  }
  return saved;
}
