import { saveMilestoneState, toState } from '../db/repos/milestones.ts';
import { describeFieldChanges, type MilestoneFields } from '../domain/change-set.ts';
import { formatMoney } from '../domain/money.ts';
import type { MilestoneRow } from '../db/repos/milestones.ts';
import { changeMode, transition } from '../domain/milestone-machine.ts';
import { actorName, assertContractRoom, assertNoOpenChangeRequest, loadMilestone, requireParty } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { assertFilesUsable } from './files.ts';
import { assertDueDates } from './milestone-input.ts';
import { openChangeRequestOn } from './open-change-request.ts';
import { recordEvent } from './record.ts';
import { assertVersion } from './run-milestone-command.ts';

export type MilestoneChanges = Partial<MilestoneFields>;

const fieldsOf = (m: MilestoneRow): MilestoneFields => ({ title: m.title, amount: m.amount, dueDate: m.due_date, description: m.description, attachmentIds: m.attachment_ids });

/**
 * A party edits a milestone. A proposed milestone is edited in place (an edit by the other
 * side is a counter-proposal that now waits for the first). An agreed milestone changes at
 * once when the policy lets this party change alone; otherwise the edit becomes a change
 * request for the other party (answered 202).
 */
export async function editMilestone(ctx: UseCaseCtx, milestoneId: string, changes: MilestoneChanges, expectedVersion?: number) {
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  const party = requireParty(role);
  assertVersion(milestone, expectedVersion);
  const t = transition(toState(milestone), { type: 'edit' }, { role: party }, contract.policy, { contractStatus: contract.status, currency: contract.currency, otherOpenFunded: 0 });
  if (!t.ok) throw t.error;
  await assertNoOpenChangeRequest(ctx, contract.id);
  assertDueDates([{ dueDate: changes.dueDate, field: 'dueDate' }], ctx.now);
  if (changes.attachmentIds) await assertFilesUsable(ctx, contract, changes.attachmentIds);

  const { attachmentIds, ...fields } = changes;
  if (changeMode(contract.policy, party, milestone.status) === 'change_request') {
    const opened = await openChangeRequestOn(ctx, contract, party, { operations: [{ op: 'update', milestoneId, changes }] });
    return { kind: 'change_request' as const, ...opened };
  }
  if (fields.amount !== undefined) await assertContractRoom(ctx, contract.id, { added: 0, delta: fields.amount - milestone.amount }, 'amount');
  const saved = await saveMilestoneState(ctx.tx, milestone.id, t.next, ctx.now, {
    ...(fields.title !== undefined && { title: fields.title }),
    ...(fields.amount !== undefined && { amount: fields.amount }),
    ...(fields.dueDate !== undefined && { due_date: fields.dueDate }),
    ...(fields.description !== undefined && { description: fields.description }),
    ...(attachmentIds !== undefined && { attachment_ids: attachmentIds }),
  });
  await recordEvent(ctx, contract, {
    kind: 'milestone.updated',
    actorRole: party,
    milestoneId,
    data: {
      title: saved.title, amount: saved.amount, status: saved.status, changes: fields, by: await actorName(ctx),
      summary: describeFieldChanges(fieldsOf(milestone), fieldsOf(saved), (a) => formatMoney(a, contract.currency)),
    },
  });
  return { kind: 'applied' as const, contract, milestone: saved };
}
