import { findContract, type ContractRow } from '../../db/repos/contracts.ts';
import type { MilestoneRow } from '../../db/repos/milestones.ts';
import type { MilestoneRequestRow } from '../../db/repos/hourly.ts';
import { AppError, forbidden, invalidState, notFound } from '../../domain/errors.ts';
import { localDate } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import { assertContractRoom, partyRole, type ContractRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordEvent } from '../record.ts';
import { applyMilestoneCommand, assertVersion } from '../run-milestone-command.ts';
import { assertActive, assertHourly, loadHourlyContract, platformTimeZone } from './hourly-contract.ts';

/**
 * Milestone payment requests (seed 003): the contractor asks for an amount; only the client
 * creates the milestone payment, by accepting. A request never moves money by itself: the
 * money moves in the acceptance, as the funding of the milestone it creates.
 */
export async function requestMilestone(ctx: UseCaseCtx, contractId: string, input: { amount: number; description: string }): Promise<MilestoneRequestRow> {
  const { contract, role } = await loadHourlyContract(ctx, contractId, true);
  if (role !== 'contractor') throw forbidden('only the contractor requests milestone payments; the client adds milestones directly');
  assertActive(contract);
  const min = contract.policy.minFundingAmount[contract.currency] ?? 0;
  if (input.amount < min) throw new AppError('amount_below_minimum', `the smallest milestone payment is ${min}`, { minimum: min, currency: contract.currency });
  const [row] = await ctx.tx.query<MilestoneRequestRow>(
    `INSERT INTO milestone_requests (id, platform_id, contract_id, requested_by, amount, description, status, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,'open',$7,$7) RETURNING *`,
    [newId('milestoneRequest'), contract.platform_id, contract.id, ctx.principal.userId, input.amount, input.description, ctx.now],
  );
  await recordEvent(ctx, contract, { kind: 'milestone_request.created', actorRole: 'contractor', data: { requestId: row!.id, amount: input.amount, description: input.description } });
  return row!;
}

/** Loads a request its contract's parties (or the admin) may see; with `lock`, the contract first, then the request. */
export async function loadMilestoneRequest(ctx: UseCaseCtx, id: string, lock: boolean): Promise<{ request: MilestoneRequestRow; contract: ContractRow; role: ContractRole }> {
  const [peek] = await ctx.tx.query<MilestoneRequestRow>('SELECT * FROM milestone_requests WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
  if (!peek) throw notFound('milestone request');
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, lock))!;
  const role = partyRole(ctx, contract, 'milestone request');
  const [request] = lock ? await ctx.tx.query<MilestoneRequestRow>('SELECT * FROM milestone_requests WHERE id = $1 FOR UPDATE', [id]) : [peek];
  return { request: request!, contract, role };
}

/** A milestone title from the request's description: its first line, at most 200 characters. */
const titleOf = (description: string) => {
  const line = description.trim().split('\n')[0]!.trim();
  return line.length <= 200 ? line : `${line.slice(0, 199)}…`;
};

export type AnswerInput = { paymentMethod?: string; reason?: string; expectedVersion?: number };

/**
 * The client accepts (a milestone is created and funded from their payment method, in this
 * transaction with its ledger entry) or declines (with a reason); the contractor withdraws.
 * Only an open request can be answered: a second accept is a 409 and moves nothing.
 */
export async function answerMilestoneRequest(ctx: UseCaseCtx, id: string, answer: 'accept' | 'decline' | 'withdraw', input: AnswerInput = {}) {
  const { request, contract, role } = await loadMilestoneRequest(ctx, id, true);
  assertHourly(contract);
  const want = answer === 'withdraw' ? 'contractor' : 'client';
  if (role !== want) throw forbidden(answer === 'withdraw' ? 'only the contractor who asked withdraws a request' : `only the client may ${answer} a milestone request`);
  assertVersion(request, input.expectedVersion);
  if (request.status !== 'open') throw invalidState('milestone request', request.status);
  let milestone: MilestoneRow | null = null;
  if (answer === 'accept') {
    assertActive(contract);
    milestone = await createFundedMilestone(ctx, contract, request, input.paymentMethod);
  }
  const status = { accept: 'accepted', decline: 'declined', withdraw: 'withdrawn' }[answer];
  const [row] = await ctx.tx.query<MilestoneRequestRow>(
    `UPDATE milestone_requests SET status = $2, decline_reason = $3, milestone_id = $4, answered_by = $5, answered_at = $6, updated_at = $6, version = version + 1
     WHERE id = $1 RETURNING *`,
    [id, status, answer === 'decline' ? (input.reason ?? null) : null, milestone?.id ?? null, ctx.principal.userId, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: `milestone_request.${status}` as 'milestone_request.accepted',
    actorRole: role as 'client' | 'contractor',
    milestoneId: milestone?.id ?? null,
    data: { requestId: id, amount: request.amount, description: request.description, reason: input.reason ?? null },
  });
  return { request: row!, contract, milestone };
}

async function createFundedMilestone(ctx: UseCaseCtx, contract: ContractRow, request: MilestoneRequestRow, paymentMethod: string | undefined): Promise<MilestoneRow> {
  await assertContractRoom(ctx, contract.id, { added: 1, delta: request.amount }, 'amount');
  const tz = await platformTimeZone(ctx.tx, contract.platform_id);
  const [pos] = await ctx.tx.query<{ next: number }>('SELECT COALESCE(MAX(position), 0)::int + 1 AS next FROM milestones WHERE contract_id = $1', [contract.id]);
  const [created] = await ctx.tx.query<MilestoneRow>(
    `INSERT INTO milestones (id, platform_id, contract_id, position, title, description, amount, due_date, status, proposed_by, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'accepted',NULL,$9,$9) RETURNING *`,
    [newId('milestone'), contract.platform_id, contract.id, pos!.next, titleOf(request.description), request.description, request.amount, localDate(ctx.now, tz), ctx.now],
  );
  // The client funds it as any milestone: the policy's rules, the card charge and the escrow entry.
  const funded = await applyMilestoneCommand(ctx, contract, created!, 'client', { type: 'fund' }, { event: 'milestone.funded', paymentMethod, data: { requestId: request.id } });
  return funded.milestone;
}

/** A contract's milestone requests, newest first (optionally one status). */
export async function listMilestoneRequests(ctx: UseCaseCtx, contractId: string, status?: MilestoneRequestRow['status']) {
  const { contract } = await loadHourlyContract(ctx, contractId, false);
  const rows = await ctx.tx.query<MilestoneRequestRow>(
    'SELECT * FROM milestone_requests WHERE contract_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT 500',
    [contract.id, status ?? null],
  );
  return { contract, rows };
}
