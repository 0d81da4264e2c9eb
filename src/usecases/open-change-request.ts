import { isDeletable } from '../domain/milestone-machine.ts';
import type { ContractRow } from '../db/repos/contracts.ts';
import { agreedTotals, describeDiff, planChangeSet, type ChangeOperation, type Diff } from '../domain/change-set.ts';
import { formatMoney } from '../domain/money.ts';
import { assertContractLimits } from '../domain/limits.ts';
import { forbidden, invalidState } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { mayCreateMilestones, needsAcceptance, type Role } from '../domain/policy.ts';
import { assertFilesUsable } from './files.ts';
import { actorName, assertNoOpenChangeRequest, loadContract, requireParty } from './access.ts';
import { applyPlan, currentViews } from './apply-change-set.ts';
import type { UseCaseCtx } from './context.ts';
import { assertDueDates } from './milestone-input.ts';
import { recordEvent } from './record.ts';

export type ChangeRequestRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  author_id: string;
  author_role: Role;
  status: 'open' | 'accepted' | 'declined' | 'withdrawn' | 'failed' | 'superseded';
  operations: ChangeOperation[];
  message: string | null;
  diff: unknown;
  decline_reason: string | null;
  failure_reason: string | null;
  version: number;
  resolved_at: Date | null;
  /** The change request this one is a counter-proposal to, and the one that superseded this one. */
  supersedes: string | null;
  superseded_by: string | null;
  created_at: Date;
  updated_at: Date;
};

function checkDates(ops: ChangeOperation[], now: Date) {
  assertDueDates(
    ops.flatMap((op, i) =>
      op.op === 'add' ? [{ dueDate: op.milestone.dueDate, field: `operations[${i}].milestone.dueDate` }] : op.op === 'update' ? [{ dueDate: op.changes.dueDate, field: `operations[${i}].changes.dueDate` }] : [],
    ),
    now,
  );
}

/**
 * A party proposes a change set. When the policy lets the author change milestones alone it
 * is applied at once (status `accepted`, `applied: true`); otherwise it stays `open` for the
 * other party, and no other milestone change is possible on the contract until it is answered.
 */
export async function openChangeRequest(ctx: UseCaseCtx, contractId: string, input: ChangeRequestInput) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  return openChangeRequestOn(ctx, contract, requireParty(role), input);
}

export type ChangeRequestInput = { operations: ChangeOperation[]; message?: string };

/**
 * Everything sending a change set checks, and its plan, without writing anything: the dry run
 * (preview) and the real thing share it, so a preview fails exactly where sending would.
 */
async function planChangeRequest(ctx: UseCaseCtx, contract: ContractRow, author: Role, input: ChangeRequestInput, counterTo?: string) {
  if (contract.status !== 'proposal' && contract.status !== 'active') throw invalidState('contract', contract.status);
  // The same rule as adding a milestone directly: only the policy's creators add milestones.
  if (input.operations.some((o) => o.op === 'add') && !mayCreateMilestones(contract.policy, author)) {
    throw forbidden(`under this contract’s policy only the ${contract.policy.milestoneCreators} adds milestones`);
  }
  // A counter-proposal's preview runs while the request it would supersede is still open.
  await assertNoOpenChangeRequest(ctx, contract.id, counterTo);
  checkDates(input.operations, ctx.now);
  await assertFilesUsable(ctx, contract, input.operations.flatMap((o) => (o.op === 'add' ? (o.milestone.attachmentIds ?? []) : o.op === 'update' ? (o.changes.attachmentIds ?? []) : [])));
  const current = await currentViews(ctx, contract.id);
  const plan = planChangeSet(current, input.operations, (st) => isDeletable(contract.policy, st));
  assertContractLimits(plan.after.length, plan.diff.totalAfter, 'operations');
  return { plan, current, direct: !needsAcceptance(contract.policy, author) };
}

/**
 * The author's dry run: what sending this change set would do — applied at once (`direct`) or
 * sent for acceptance (`change_request`) — with its diff and the agreed total before and after.
 * Nothing is written.
 */
export async function previewChangeRequest(ctx: UseCaseCtx, contractId: string, input: ChangeRequestInput) {
  const { contract, role } = await loadContract(ctx, contractId, false);
  const { plan, current, direct } = await planChangeRequest(ctx, contract, requireParty(role), input);
  return { contract, mode: direct ? ('direct' as const) : ('change_request' as const), diff: plan.diff, ...agreedTotals(current, plan) };
}

/**
 * The dry run of a counter-proposal (modify): checked as modifying `cr` would check it — the
 * request open, the caller its other party — and planned against the milestones as they are.
 * A counter always waits for the first party, so its mode is `change_request`. Nothing is written.
 */
export async function previewCounterProposal(ctx: UseCaseCtx, contract: ContractRow, role: Role, cr: ChangeRequestRow, input: ChangeRequestInput) {
  if (cr.status !== 'open') throw invalidState('change request', cr.status);
  if (role === cr.author_role) throw forbidden('the other party modifies this change request; withdraw it and propose another instead');
  const { plan, current } = await planChangeRequest(ctx, contract, role, input, cr.id);
  return { contract, mode: 'change_request' as const, diff: plan.diff, ...agreedTotals(current, plan) };
}

/** Words for notifications: who changed what (`Ana`, `add “Logo” (300.00 USD), remove “Draft”`). */
export async function changeWords(ctx: UseCaseCtx, contract: ContractRow, diff: Diff) {
  return { by: await actorName(ctx), summary: describeDiff(diff, (a) => formatMoney(a, contract.currency)) };
}

export async function openChangeRequestOn(ctx: UseCaseCtx, contract: ContractRow, author: Role, input: ChangeRequestInput & { supersedes?: string }) {
  const { plan, direct: mayApply } = await planChangeRequest(ctx, contract, author, input);
  // A counter-proposal always waits for the party whose request it supersedes.
  const direct = mayApply && !input.supersedes;
  const id = newId('changeRequest');
  let createdIds: string[] = [];
  if (direct) createdIds = await applyPlan(ctx, contract, plan, { status: 'accepted', proposedBy: null });
  const diff = withCreatedIds(plan.diff, createdIds);
  const [row] = await ctx.tx.query<ChangeRequestRow>(
    `INSERT INTO change_requests (id, platform_id, contract_id, author_id, author_role, status, operations, message, diff, resolved_at, supersedes, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12) RETURNING *`,
    [id, contract.platform_id, contract.id, ctx.principal.userId, author, direct ? 'accepted' : 'open', JSON.stringify(input.operations), input.message ?? null, JSON.stringify(diff), direct ? ctx.now : null, input.supersedes ?? null, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: direct ? 'change_request.accepted' : input.supersedes ? 'change_request.modified' : 'change_request.opened',
    actorRole: author,
    data: {
      changeRequestId: id, totalBefore: diff.totalBefore, totalAfter: diff.totalAfter, applied: direct,
      ...(input.supersedes ? { supersedes: input.supersedes } : {}), ...(await changeWords(ctx, contract, diff)),
    },
  });
  return { contract, changeRequest: row!, applied: direct };
}

/** Fills the ids of milestones created by applying the set into the `added` rows of its diff. */
export function withCreatedIds<D extends { milestones: { milestoneId: string | null; change: string }[] }>(diff: D, ids: string[]): D {
  let k = 0;
  return { ...diff, milestones: diff.milestones.map((r) => (r.change === 'added' && r.milestoneId === null && k < ids.length ? { ...r, milestoneId: ids[k++]! } : r)) };
}
