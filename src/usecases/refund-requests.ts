import type { ContractRow } from '../db/repos/contracts.ts';
import { listContractMilestones, toState } from '../db/repos/milestones.ts';
import { AppError, forbidden, invalidState, notFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { escrowHeld } from '../domain/milestone-machine.ts';
import type { Role } from '../domain/policy.ts';
import { loadContract, requireParty, type ContractRole } from './access.ts';
import { assertOneMemberMayRelease } from './organizations/four-eyes.ts';
import { planClose, settleAndClose } from './close-contract.ts';
import type { UseCaseCtx } from './context.ts';
import { openDisputeOn } from './disputes.ts';
import { enqueueJob, recordEvent, type ActorRole } from './record.ts';
import { assertVersion } from './run-milestone-command.ts';

export type RefundRequestStatus = 'open' | 'accepted' | 'countered' | 'declined' | 'withdrawn' | 'escalated' | 'failed';

export type RefundRequestRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  requested_by: string | null;
  requester_role: Role;
  status: RefundRequestStatus;
  refund_amount: number;
  release_amount: number;
  message: string | null;
  respond_by: Date;
  counter_of: string | null;
  answered_by: string | null;
  answer_reason: string | null;
  version: number;
  resolved_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const DAY = 86_400_000;

/** 409 refund_request_open while the contract has an open refund request. */
export async function assertNoOpenRefundRequest(ctx: UseCaseCtx, contractId: string): Promise<void> {
  const [open] = await ctx.tx.query<{ id: string }>("SELECT id FROM refund_requests WHERE contract_id = $1 AND status = 'open'", [contractId]);
  if (open) throw new AppError('refund_request_open', 'answer or withdraw the open refund request first', { refundRequestId: open.id });
}

/**
 * Opens a request to close the contract with `refund` of its escrow going back to the client
 * and `release` to the contractor. The other party has the policy's `disputeResponseDays` to
 * accept it or propose another split; declined or unanswered, it becomes a dispute.
 */
export async function openRefundRequest(
  ctx: UseCaseCtx,
  contract: ContractRow,
  by: Role,
  split: { refund: number; release: number; message: string | null },
  counterOf: string | null = null,
): Promise<RefundRequestRow> {
  const id = newId('refundRequest');
  const respondBy = new Date(ctx.now.getTime() + contract.policy.disputeResponseDays * DAY);
  const [row] = await ctx.tx.query<RefundRequestRow>(
    `INSERT INTO refund_requests (id, platform_id, contract_id, requested_by, requester_role, status, refund_amount, release_amount, message, respond_by, counter_of, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,'open',$6,$7,$8,$9,$10,$11,$11) RETURNING *`,
    [id, contract.platform_id, contract.id, by === 'client' ? contract.client_id : contract.contractor_id, by, split.refund, split.release, split.message, respondBy, counterOf, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: counterOf ? 'refund_request.countered' : 'refund_request.opened',
    actorRole: by,
    data: { refundRequestId: id, refund: split.refund, release: split.release, respondBy: respondBy.toISOString(), reason: split.message },
  });
  await enqueueJob(ctx, { kind: 'refund_request_timeout', payload: { refundRequestId: id }, platformId: contract.platform_id, contractId: contract.id, runAt: respondBy, dedupeKey: `refund-timeout:${id}` });
  return row!;
}

/** Loads a refund request the caller may see (a party or the platform admin), locking its contract. */
export async function loadRefundRequest(ctx: UseCaseCtx, id: string, lock: boolean): Promise<{ request: RefundRequestRow; contract: ContractRow; role: ContractRole }> {
  const [peek] = await ctx.tx.query<RefundRequestRow>('SELECT * FROM refund_requests WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  if (!peek) throw notFound('refund request');
  const { contract, role } = await loadContract(ctx, peek.contract_id, lock).catch((e: unknown) => {
    throw e instanceof AppError && e.code === 'not_found' ? notFound('refund request') : e;
  });
  const [request] = lock ? await ctx.tx.query<RefundRequestRow>('SELECT * FROM refund_requests WHERE id = $1 FOR UPDATE', [id]) : [peek];
  return { request: request!, contract, role };
}

async function resolve(ctx: UseCaseCtx, id: string, status: RefundRequestStatus, answerReason: string | null = null): Promise<RefundRequestRow> {
  const [row] = await ctx.tx.query<RefundRequestRow>(
    `UPDATE refund_requests SET status = $2, answered_by = $3, answer_reason = $4, resolved_at = $5, updated_at = $5, version = version + 1 WHERE id = $1 RETURNING *`,
    [id, status, ctx.principal.userId, answerReason, ctx.now],
  );
  return row!;
}

/** The party a request waits for; anyone else is out of turn. */
async function loadForAnswer(ctx: UseCaseCtx, id: string, expectedVersion?: number) {
  const loaded = await loadRefundRequest(ctx, id, true);
  const party = requireParty(loaded.role);
  if (party === loaded.request.requester_role) throw forbidden('the other party answers this refund request; you may withdraw it');
  if (loaded.request.status !== 'open') throw invalidState('refund request', loaded.request.status);
  assertVersion(loaded.request, expectedVersion);
  return { ...loaded, party };
}

/**
 * The other party accepts: the contract closes with the agreed split, in this transaction. If
 * the escrow changed since the request (a release, a dispute), the request fails instead and
 * nothing moves: the split no longer describes the money.
 */
export async function acceptRefundRequest(ctx: UseCaseCtx, id: string, expectedVersion?: number): Promise<{ request: RefundRequestRow; contract: ContractRow }> {
  const { request, contract, party } = await loadForAnswer(ctx, id, expectedVersion);
  const split = { refund: request.refund_amount, release: request.release_amount };
  if (party === 'client') await assertOneMemberMayRelease(ctx, contract, split.release);
  let planned;
  try {
    // Planned with the client's authority: the client either asked for this split or is accepting it.
    planned = await planClose(ctx, contract, 'client', split);
  } catch (e) {
    if (!(e instanceof AppError) || e.status >= 500) throw e;
    const failed = await resolve(ctx, id, 'failed', e.message);
    await recordEvent(ctx, contract, { kind: 'refund_request.failed', actorRole: 'system', data: { refundRequestId: id, reason: e.message } });
    return { request: failed, contract };
  }
  const accepted = await resolve(ctx, id, 'accepted');
  const closed = await settleAndClose(ctx, contract, party, planned.milestones, planned.plan, 'refund_request.accepted', { refundRequestId: id, refund: split.refund, release: split.release });
  return { request: accepted, contract: closed };
}

/** The other party proposes another split instead: the request is countered and a new one waits for the first party. */
export async function counterRefundRequest(ctx: UseCaseCtx, id: string, input: { refund: number; message?: string | null; expectedVersion?: number }): Promise<RefundRequestRow> {
  const { request, contract, party } = await loadForAnswer(ctx, id, input.expectedVersion);
  const total = request.refund_amount + request.release_amount;
  if (input.refund > total) {
    throw new AppError('validation_failed', `the refund cannot exceed the ${total} held in escrow`, { inEscrow: total }, [{ field: 'refund', message: `must be at most ${total}` }]);
  }
  if (input.refund === request.refund_amount) throw new AppError('validation_failed', 'a counter-proposal must change the refund; accept the request instead', {}, [{ field: 'refund', message: 'is the refund already requested' }]);
  if (party === 'client') await assertOneMemberMayRelease(ctx, contract, total - input.refund);
  await resolve(ctx, id, 'countered');
  return openRefundRequest(ctx, contract, party, { refund: input.refund, release: total - input.refund, message: input.message ?? null }, id);
}

/** The other party declines: the disagreement goes to the platform as a dispute on the escrow. */
export async function declineRefundRequest(ctx: UseCaseCtx, id: string, input: { reason?: string | null; expectedVersion?: number }): Promise<RefundRequestRow> {
  const { request, contract, party } = await loadForAnswer(ctx, id, input.expectedVersion);
  const row = await resolve(ctx, id, 'declined', input.reason ?? null);
  await recordEvent(ctx, contract, { kind: 'refund_request.declined', actorRole: party, data: { refundRequestId: id, reason: input.reason ?? null } });
  await escalate(ctx, contract, request, party);
  return row;
}

/** The party who asked takes the request back; nothing moves. */
export async function withdrawRefundRequest(ctx: UseCaseCtx, id: string, expectedVersion?: number): Promise<RefundRequestRow> {
  const { request, contract, role } = await loadRefundRequest(ctx, id, true);
  const party = requireParty(role);
  if (party !== request.requester_role) throw forbidden('only the party who asked may withdraw a refund request');
  if (request.status !== 'open') throw invalidState('refund request', request.status);
  assertVersion(request, expectedVersion);
  const row = await resolve(ctx, id, 'withdrawn');
  await recordEvent(ctx, contract, { kind: 'refund_request.withdrawn', actorRole: party, data: { refundRequestId: id } });
  return row;
}

/** Timer: a request still open at its deadline becomes a dispute. */
export async function escalateUnansweredRefundRequest(ctx: UseCaseCtx, id: string): Promise<'escalated' | 'skipped'> {
  const { request, contract } = await loadRefundRequest(ctx, id, true);
  if (request.status !== 'open' || ctx.now < request.respond_by) return 'skipped';
  await resolve(ctx, id, 'escalated');
  await recordEvent(ctx, contract, { kind: 'refund_request.escalated', actorRole: 'system', data: { refundRequestId: id } });
  await escalate(ctx, contract, request, 'system');
  return 'escalated';
}

/**
 * A refund the parties did not agree on becomes a dispute, opened in the client's name, on
 * every milestone still holding escrow; the platform admin resolves each (or the policy's
 * silence default applies), after which either party can close the contract.
 */
async function escalate(ctx: UseCaseCtx, contract: ContractRow, request: RefundRequestRow, actor: ActorRole): Promise<void> {
  const reason = `Refund at close not agreed${request.message ? `: ${request.message}` : ''}`;
  for (const m of await listContractMilestones(ctx.tx, contract.id)) {
    if (escrowHeld(toState(m)) === 0 || !['funded', 'submitted', 'approval_pending'].includes(m.status)) continue;
    await openDisputeOn(ctx, contract, m, 'client', { reason }, actor === 'client' ? 'client' : 'system');
  }
}
