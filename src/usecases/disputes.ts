import type { ContractRow } from '../db/repos/contracts.ts';
import { escrowHeld } from '../domain/milestone-machine.ts';
import { AppError, forbidden, invalidState, notFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { toState } from '../db/repos/milestones.ts';
import type { Role } from '../domain/policy.ts';
import { loadContract, loadMilestone, requireParty } from './access.ts';
import { isPlatformAdmin, type UseCaseCtx } from './context.ts';
import { assertFilesUsable } from './files.ts';
import { enqueueJob, recordEvent } from './record.ts';
import { applyMilestoneCommand } from './run-milestone-command.ts';
import { findMilestone, type MilestoneRow } from '../db/repos/milestones.ts';
import { invoiceAtStake, resolveInvoiceDispute } from './hourly/invoice-disputes.ts';

export type DisputeRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  /** A dispute is about a milestone's escrow, or (hourly contracts) about an invoice. */
  milestone_id: string | null;
  invoice_id: string | null;
  opened_by: string;
  opener_role: Role;
  reason: string;
  evidence_ids: string[];
  previous_status: string;
  status: 'open' | 'responded' | 'resolved';
  respond_by: Date;
  response_message: string | null;
  response_ids: string[];
  responded_at: Date | null;
  release_amount: number | null;
  refund_amount: number | null;
  resolution: string | null;
  resolved_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const DAY = 86_400_000;

/**
 * Either party disputes a funded or submitted milestone: its escrow is frozen, the other party
 * has `disputeResponseDays` to answer, and a timer resolves silence by the policy's default.
 */
export async function openDispute(ctx: UseCaseCtx, milestoneId: string, input: { reason: string; evidenceIds?: string[] }) {
  const { contract, milestone, role } = await loadMilestone(ctx, milestoneId, true);
  const party = requireParty(role);
  await assertFilesUsable(ctx, contract, input.evidenceIds ?? []);
  return openDisputeOn(ctx, contract, milestone, party, input);
}

/**
 * Opens a dispute on a milestone already loaded and locked, in the name of `opener` (the
 * caller, or the client when a refund at close is escalated by the system).
 */
export async function openDisputeOn(
  ctx: UseCaseCtx,
  contract: ContractRow,
  milestone: MilestoneRow,
  opener: Role,
  input: { reason: string; evidenceIds?: string[] },
  actor: Role | 'system' = opener,
) {
  const id = newId('dispute');
  const respondBy = new Date(ctx.now.getTime() + contract.policy.disputeResponseDays * DAY);
  const result = await applyMilestoneCommand(ctx, contract, milestone, actor === 'system' ? opener : actor, { type: 'dispute' }, {
    event: 'dispute.opened',
    data: { disputeId: id, reason: input.reason, respondBy: respondBy.toISOString() },
    ...(actor === 'system' && { eventActor: 'system' as const }),
  });
  const openedBy = opener === 'client' ? contract.client_id : contract.contractor_id;
  const [row] = await ctx.tx.query<DisputeRow>(
    `INSERT INTO disputes (id, platform_id, contract_id, milestone_id, opened_by, opener_role, reason, evidence_ids, previous_status, status, respond_by, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'open',$10,$11,$11) RETURNING *`,
    [id, contract.platform_id, contract.id, milestone.id, openedBy, opener, input.reason, JSON.stringify(input.evidenceIds ?? []), milestone.status, respondBy, ctx.now],
  );
  await enqueueJob(ctx, { kind: 'dispute_timeout', payload: { disputeId: id }, platformId: contract.platform_id, contractId: contract.id, runAt: respondBy, dedupeKey: `dispute-timeout:${id}` });
  return { ...result, dispute: row! };
}

/** Loads a dispute the caller may see (a party or the platform admin), locking its contract. */
export async function loadDispute(ctx: UseCaseCtx, id: string, lock: boolean): Promise<{ dispute: DisputeRow; contract: ContractRow; role: Role | 'admin' }> {
  const [peek] = await ctx.tx.query<DisputeRow>('SELECT * FROM disputes WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  if (!peek) throw notFound('dispute');
  const { contract, role } = await loadContract(ctx, peek.contract_id, lock).catch((e: unknown) => {
    throw e instanceof AppError && e.code === 'not_found' ? notFound('dispute') : e;
  });
  const [dispute] = lock ? await ctx.tx.query<DisputeRow>('SELECT * FROM disputes WHERE id = $1 FOR UPDATE', [id]) : [peek];
  return { dispute: dispute!, contract, role };
}

/** The other party answers the dispute (a message and evidence) before the deadline. */
export async function respondToDispute(ctx: UseCaseCtx, id: string, input: { message: string; attachmentIds?: string[] }) {
  const { dispute, contract, role } = await loadDispute(ctx, id, true);
  const party = requireParty(role);
  if (party === dispute.opener_role) throw forbidden('the other party answers the dispute');
  if (dispute.status !== 'open') throw invalidState('dispute', dispute.status);
  // Past the deadline silence has already decided (the timer may just not have run yet).
  if (ctx.now >= dispute.respond_by) throw invalidState('dispute', dispute.status, 'the response period of this dispute has ended');
  await assertFilesUsable(ctx, contract, input.attachmentIds ?? []);
  const [row] = await ctx.tx.query<DisputeRow>(
    `UPDATE disputes SET status = 'responded', response_message = $2, response_ids = $3, responded_at = $4, updated_at = $4, version = version + 1
     WHERE id = $1 RETURNING *`,
    [id, input.message, JSON.stringify(input.attachmentIds ?? []), ctx.now],
  );
  await recordEvent(ctx, contract, { kind: 'dispute.responded', actorRole: party, milestoneId: dispute.milestone_id, data: { disputeId: id, message: input.message } });
  return row!;
}

/**
 * The platform admin (or the response timer) settles a dispute by splitting the escrow
 * between release to the contractor and refund to the client; the ledger moves exactly once.
 */
export async function resolveDispute(
  ctx: UseCaseCtx,
  id: string,
  input: { releaseAmount: number; refundAmount: number },
  by: 'admin' | 'system' = 'admin',
  resolution = 'admin',
) {
  const { dispute, contract, role } = await loadDispute(ctx, id, true);
  if (by === 'admin' && !(role === 'admin' && isPlatformAdmin(ctx.principal))) throw forbidden('only the platform admin resolves disputes');
  if (dispute.status === 'resolved') throw invalidState('dispute', dispute.status);
  if (dispute.invoice_id) return { dispute: await resolveInvoiceDispute(ctx, contract, dispute, input, resolution) };
  const milestone = (await findMilestone(ctx.tx, contract.platform_id, dispute.milestone_id!, true))!;
  const result = await applyMilestoneCommand(ctx, contract, milestone, by, { type: 'resolve', ...input }, {
    event: 'dispute.resolved',
    paymentKind: 'dispute_release',
    data: { disputeId: id, releaseAmount: input.releaseAmount, refundAmount: input.refundAmount, resolution },
  });
  const [row] = await ctx.tx.query<DisputeRow>(
    `UPDATE disputes SET status = 'resolved', release_amount = $2, refund_amount = $3, resolution = $4, resolved_at = $5, updated_at = $5, version = version + 1
     WHERE id = $1 RETURNING *`,
    [id, input.releaseAmount, input.refundAmount, resolution, ctx.now],
  );
  return { ...result, dispute: row! };
}

/** Timer: a dispute left unanswered past its deadline resolves to the policy's default outcome. */
export async function resolveUnansweredDispute(ctx: UseCaseCtx, id: string): Promise<'resolved' | 'skipped'> {
  const { dispute, contract } = await loadDispute(ctx, id, true);
  if (dispute.status !== 'open' || ctx.now < dispute.respond_by) return 'skipped';
  const held = dispute.invoice_id
    ? await invoiceAtStake(ctx, dispute)
    : escrowHeld(toState((await findMilestone(ctx.tx, contract.platform_id, dispute.milestone_id!, true))!));
  const outcome = contract.policy.disputeDefaultOutcome;
  const release = outcome === 'release' || (outcome === 'opener_wins' && dispute.opener_role === 'contractor');
  await resolveDispute(ctx, id, release ? { releaseAmount: held, refundAmount: 0 } : { releaseAmount: 0, refundAmount: held }, 'system', `default:${outcome}`);
  return 'resolved';
}
