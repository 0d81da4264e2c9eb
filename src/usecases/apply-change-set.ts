import type { ContractRow } from '../db/repos/contracts.ts';
import { listContractMilestones, type MilestoneRow } from '../db/repos/milestones.ts';
import type { MilestoneView, Planned } from '../domain/change-set.ts';
import { newId } from '../domain/ids.ts';
import type { MilestoneStatus } from '../domain/milestone-machine.ts';
import type { Role } from '../domain/policy.ts';
import type { UseCaseCtx } from './context.ts';

export const toView = (m: MilestoneRow): MilestoneView => ({
  id: m.id,
  status: m.status,
  position: m.position,
  title: m.title,
  amount: m.amount,
  dueDate: m.due_date,
  description: m.description,
  attachmentIds: m.attachment_ids,
});

/** The contract's milestones as a change set sees them (call with the contract locked). */
export async function currentViews(ctx: UseCaseCtx, contractId: string): Promise<MilestoneView[]> {
  return (await listContractMilestones(ctx.tx, contractId)).map(toView);
}

/**
 * Writes a planned change set: field updates, removals (cancelled), new positions and added
 * milestones. Added milestones get `addedStatus` (accepted when the other side agreed or the
 * author may change alone; proposed when they still need acceptance). Returns new ids in order.
 */
export async function applyPlan(
  ctx: UseCaseCtx,
  contract: ContractRow,
  plan: Planned,
  added: { status: MilestoneStatus; proposedBy: Role | null },
): Promise<string[]> {
  const { tx, now } = ctx;
  for (const [id, c] of plan.updated) {
    await tx.query(
      `UPDATE milestones SET title = COALESCE($2, title), amount = COALESCE($3, amount), due_date = COALESCE($4::date, due_date),
         description = CASE WHEN $5 THEN $6 ELSE description END, attachment_ids = COALESCE($8::jsonb, attachment_ids),
         version = version + 1, updated_at = $7 WHERE id = $1`,
      [id, c.title ?? null, c.amount ?? null, c.dueDate ?? null, c.description !== undefined, c.description ?? null, now, c.attachmentIds ? JSON.stringify(c.attachmentIds) : null],
    );
  }
  for (const id of plan.removed) {
    await tx.query("UPDATE milestones SET status = 'cancelled', version = version + 1, updated_at = $2 WHERE id = $1", [id, now]);
  }
  const created: string[] = [];
  for (const m of plan.after) {
    if (m.id === null) {
      const id = newId('milestone');
      created.push(id);
      await tx.query(
        `INSERT INTO milestones (id, platform_id, contract_id, position, title, description, amount, due_date, status, proposed_by, attachment_ids, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$12,$11,$11)`,
        [id, contract.platform_id, contract.id, m.position, m.title, m.description, m.amount, m.dueDate, added.status, added.proposedBy, now, JSON.stringify(m.attachmentIds ?? [])],
      );
    } else {
      await tx.query('UPDATE milestones SET position = $2 WHERE id = $1 AND position <> $2', [m.id, m.position]);
    }
  }
  return created;
}
