import { toMilestone } from '../db/repos/milestones.ts';
import { AppError, forbidden, invalidState } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { initialStatus } from '../domain/milestone-machine.ts';
import { mayCreateMilestones } from '../domain/policy.ts';
import { actorName, assertContractRoom, assertNoOpenChangeRequest, loadContract, requireParty } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { assertFilesUsable } from './files.ts';
import { assertDueDates } from './milestone-input.ts';
import { assertExternalIdFree, assertMayWriteOperatorFields } from './operator-fields.ts';
import { recordEvent } from './record.ts';

export type NewMilestone = { title: string; amount: number; dueDate: string; description?: string | null; attachmentIds?: string[]; externalId?: string; metadata?: Record<string, string> };

/**
 * A party adds a milestone. It is `accepted` at once when the policy lets that party change
 * alone, otherwise `proposed` until the other side accepts or declines it.
 */
export async function addMilestone(ctx: UseCaseCtx, contractId: string, input: NewMilestone) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const party = requireParty(role);
  if (!mayCreateMilestones(contract.policy, party)) throw forbidden(`under this contract’s policy only the ${contract.policy.milestoneCreators} adds milestones`);
  if (contract.status !== 'proposal' && contract.status !== 'active') throw invalidState('contract', contract.status);
  if (contract.type !== 'fixed') throw new AppError('invalid_state', 'milestones are added to fixed-price contracts', { state: contract.status });
  await assertNoOpenChangeRequest(ctx, contract.id);
  await assertContractRoom(ctx, contract.id, { added: 1, delta: input.amount }, 'amount');
  assertDueDates([{ dueDate: input.dueDate, field: 'dueDate' }], ctx.now);
  await assertFilesUsable(ctx, contract, input.attachmentIds ?? []);
  assertMayWriteOperatorFields(ctx.principal, input, 'externalId');
  await assertExternalIdFree(ctx.tx, 'milestone', contract.platform_id, input.externalId);
  const [pos] = await ctx.tx.query<{ next: number }>('SELECT COALESCE(MAX(position), 0)::int + 1 AS next FROM milestones WHERE contract_id = $1', [contract.id]);
  const init = initialStatus(contract.policy, party);
  const [row] = await ctx.tx.query<Parameters<typeof toMilestone>[0]>(
    `INSERT INTO milestones (id, platform_id, contract_id, position, title, description, amount, due_date, status, proposed_by, attachment_ids, created_at, updated_at, external_id, metadata)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12,$13,$14) RETURNING *`,
    [newId('milestone'), contract.platform_id, contract.id, pos!.next, input.title, input.description ?? null, input.amount, input.dueDate, init.status, init.proposedBy, JSON.stringify(input.attachmentIds ?? []), ctx.now, input.externalId ?? null, JSON.stringify(input.metadata ?? {})],
  );
  await recordEvent(ctx, contract, { kind: 'milestone.added', actorRole: party, milestoneId: row!.id, data: { title: input.title, amount: input.amount, status: init.status, by: await actorName(ctx) } });
  return { contract, milestone: row! };
}
