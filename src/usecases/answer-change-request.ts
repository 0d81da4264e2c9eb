import { isDeletable } from '../domain/milestone-machine.ts';
import { planChangeSet, type Diff } from '../domain/change-set.ts';
import { AppError, forbidden, invalidState, notFound } from '../domain/errors.ts';
import { loadContract, requireParty } from './access.ts';
import { applyPlan, currentViews } from './apply-change-set.ts';
import type { UseCaseCtx } from './context.ts';
import { changeWords, openChangeRequestOn, previewCounterProposal, withCreatedIds, type ChangeRequestInput, type ChangeRequestRow } from './open-change-request.ts';
import { recordEvent } from './record.ts';

/** Loads a change request and locks its contract (then the request) for an answer. */
export async function loadChangeRequest(ctx: UseCaseCtx, id: string, lock: boolean) {
  const [peek] = await ctx.tx.query<ChangeRequestRow>('SELECT * FROM change_requests WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  if (!peek) throw notFound('change request');
  const { contract, role } = await loadContract(ctx, peek.contract_id, lock).catch((e: unknown) => {
    throw e instanceof AppError && e.code === 'not_found' ? notFound('change request') : e;
  });
  const [cr] = lock ? await ctx.tx.query<ChangeRequestRow>('SELECT * FROM change_requests WHERE id = $1 FOR UPDATE', [id]) : [peek];
  return { contract, role, cr: cr! };
}

async function finish(ctx: UseCaseCtx, id: string, status: ChangeRequestRow['status'], cols: { decline_reason?: string | null; failure_reason?: string; diff?: unknown } = {}) {
  const [row] = await ctx.tx.query<ChangeRequestRow>(
    `UPDATE change_requests SET status = $2, decline_reason = COALESCE($3, decline_reason), failure_reason = COALESCE($4, failure_reason),
       diff = COALESCE($5::jsonb, diff), resolved_at = $6, updated_at = $6, version = version + 1 WHERE id = $1 RETURNING *`,
    [id, status, cols.decline_reason ?? null, cols.failure_reason ?? null, cols.diff === undefined ? null : JSON.stringify(cols.diff), ctx.now],
  );
  return row!;
}

/**
 * The other party accepts: the set is planned again against the milestones as they are now
 * and applied atomically. If something it touches was funded (or otherwise moved on) in the
 * meantime, nothing is applied and the request ends `failed`, with the reason.
 */
export async function acceptChangeRequest(ctx: UseCaseCtx, id: string, input: { expectedVersion?: number } = {}) {
  const { contract, role, cr } = await loadChangeRequest(ctx, id, true);
  const party = requireParty(role);
  if (cr.status !== 'open') throw invalidState('change request', cr.status);
  if (party === cr.author_role) throw forbidden('the other party answers this change request');
  if (input.expectedVersion !== undefined && cr.version !== input.expectedVersion) {
    throw new AppError('version_mismatch', `expected version ${input.expectedVersion}, the change request is at ${cr.version}`, { version: cr.version });
  }
  let plan;
  try {
    plan = planChangeSet(await currentViews(ctx, contract.id), cr.operations, (st) => isDeletable(contract.policy, st));
  } catch (e) {
    if (!(e instanceof AppError) || e.status >= 500) throw e;
    const failed = await finish(ctx, id, 'failed', { failure_reason: e.message });
    await recordEvent(ctx, contract, { kind: 'change_request.failed', actorRole: party, notify: ['client', 'contractor'], data: { changeRequestId: id, reason: e.message } });
    return { contract, changeRequest: failed, failure: e };
  }
  const created = await applyPlan(ctx, contract, plan, { status: 'accepted', proposedBy: null });
  const diff = withCreatedIds(plan.diff, created);
  const accepted = await finish(ctx, id, 'accepted', { diff });
  await recordEvent(ctx, contract, {
    kind: 'change_request.accepted',
    actorRole: party,
    data: { changeRequestId: id, totalBefore: diff.totalBefore, totalAfter: diff.totalAfter, ...(await changeWords(ctx, contract, diff)) },
  });
  return { contract, changeRequest: accepted, failure: null };
}

/** The other party declines, optionally saying why. */
export async function declineChangeRequest(ctx: UseCaseCtx, id: string, input: { reason?: string } = {}) {
  const { contract, role, cr } = await loadChangeRequest(ctx, id, true);
  const party = requireParty(role);
  if (cr.status !== 'open') throw invalidState('change request', cr.status);
  if (party === cr.author_role) throw forbidden('withdraw your own change request instead of declining it');
  const row = await finish(ctx, id, 'declined', { decline_reason: input.reason ?? null });
  await recordEvent(ctx, contract, { kind: 'change_request.declined', actorRole: party, data: { changeRequestId: id, reason: input.reason ?? null, ...(await changeWords(ctx, contract, cr.diff as Diff)) } });
  return { contract, changeRequest: row };
}

/** The author takes the change request back. */
export async function withdrawChangeRequest(ctx: UseCaseCtx, id: string) {
  const { contract, role, cr } = await loadChangeRequest(ctx, id, true);
  const party = requireParty(role);
  if (cr.status !== 'open') throw invalidState('change request', cr.status);
  if (party !== cr.author_role) throw forbidden('only the author may withdraw a change request');
  const row = await finish(ctx, id, 'withdrawn');
  await recordEvent(ctx, contract, { kind: 'change_request.withdrawn', actorRole: party, data: { changeRequestId: id, ...(await changeWords(ctx, contract, cr.diff as Diff)) } });
  return { contract, changeRequest: row };
}

/** The dry run of modifying a change request: the counter-proposal's diff and totals, nothing written. */
export async function previewModifyChangeRequest(ctx: UseCaseCtx, id: string, input: ChangeRequestInput) {
  const { contract, role, cr } = await loadChangeRequest(ctx, id, false);
  return previewCounterProposal(ctx, contract, requireParty(role), cr, input);
}

/**
 * The other party modifies an open change request (seed 001: "approve, decline, or modify"):
 * their counter-proposal — a whole change set against the milestones as they are — supersedes
 * it and waits for the first party, even where the policy would let its author change alone.
 * Checked like any change set; if the counter is refused, the original stays open.
 */
export async function modifyChangeRequest(ctx: UseCaseCtx, id: string, input: ChangeRequestInput & { expectedVersion?: number }) {
  const { contract, role, cr } = await loadChangeRequest(ctx, id, true);
  const party = requireParty(role);
  if (cr.status !== 'open') throw invalidState('change request', cr.status);
  if (party === cr.author_role) throw forbidden('the other party modifies this change request; withdraw it and propose another instead');
  if (input.expectedVersion !== undefined && cr.version !== input.expectedVersion) {
    throw new AppError('version_mismatch', `expected version ${input.expectedVersion}, the change request is at ${cr.version}`, { version: cr.version });
  }
  // Superseded first: one change request is open per contract, and the counter is the next one.
  await finish(ctx, id, 'superseded');
  const counter = await openChangeRequestOn(ctx, contract, party, { operations: input.operations, message: input.message, supersedes: id });
  const [original] = await ctx.tx.query<ChangeRequestRow>('UPDATE change_requests SET superseded_by = $2 WHERE id = $1 RETURNING *', [id, counter.changeRequest.id]);
  return { contract, changeRequest: counter.changeRequest, superseded: original! };
}
