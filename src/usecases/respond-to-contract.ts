import { setContractStatus } from '../db/repos/contracts.ts';
import { contractTransition, type ContractCommand } from '../domain/contract-machine.ts';
import type { EventKind } from '../notify/templates.ts';
import { loadContract } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { recordEvent } from './record.ts';
import { assertVersion } from './run-milestone-command.ts';

const EVENTS: Record<'activate' | 'withdraw' | 'decline', EventKind> = {
  activate: 'contract.activated',
  withdraw: 'contract.withdrawn',
  decline: 'contract.declined',
};

/**
 * Answers a contract proposal: the client activates it (it goes live), the party who did not
 * create it declines it, or its creator withdraws it.
 */
export async function respondToContract(ctx: UseCaseCtx, contractId: string, command: Exclude<ContractCommand['type'], 'close'>, expectedVersion?: number) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const createdByRole = contract.created_by === contract.client_id ? 'client' : 'contractor';
  const t = contractTransition({ status: contract.status, createdByRole }, { type: command } as ContractCommand, { role });
  if (!t.ok) throw t.error;
  assertVersion(contract, expectedVersion);
  const saved = await setContractStatus(ctx.tx, contract.id, t.next, ctx.now);
  if (t.next !== 'active') {
    // A proposal that ends takes its unfinished milestones with it.
    await ctx.tx.query(
      "UPDATE milestones SET status = 'cancelled', version = version + 1, updated_at = $2 WHERE contract_id = $1 AND status IN ('proposed','accepted')",
      [contract.id, ctx.now],
    );
    await ctx.tx.query("UPDATE change_requests SET status = 'withdrawn', resolved_at = $2, updated_at = $2, version = version + 1 WHERE contract_id = $1 AND status = 'open'", [contract.id, ctx.now]);
  }
  await recordEvent(ctx, saved, { kind: EVENTS[command], actorRole: role });
  return saved;
}
