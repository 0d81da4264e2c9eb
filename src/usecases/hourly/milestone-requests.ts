import { findContract, type ContractRow } from '../../db/repos/contracts.ts';
import type { MilestoneRow } from '../../db/repos/milestones.ts';
import type { MilestoneRequestRow } from '../../db/repos/hourly.ts';
import { AppError, forbidden, invalidState, notFound } from '../../domain/errors.ts';
import { localDate } from '../../domain/hourly.ts';
import { transition, type MilestoneState } from '../../domain/milestone-machine.ts';
import { feeOf } from '../../domain/money.ts';
import { newId } from '../../domain/ids.ts';
import { assertContractRoom, partyRole, type ContractRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordEvent } from '../record.ts';
import { applyMilestoneCommand, assertVersion, countOtherOpenFunded } from '../run-milestone-command.ts';
import { resolvePaymentMethod, type BookedCharge } from '../money.ts';
import { bookFunding } from '../payments/funding.ts';
import { nextAttempt, requestOperation, type OperationRow } from '../payments/operations.ts';
import type { BookingCtx, ProviderAnswer } from '../payments/perform-operation.ts';
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
 * The client accepts (a milestone is created and funded from their payment method once the
 * provider accepted the charge, made after commit) or declines (with a reason); the contractor withdraws.
 * Only an open request can be answered: a second accept is a 409 and moves nothing.
 */
export async function answerMilestoneRequest(ctx: UseCaseCtx, id: string, answer: 'accept' | 'decline' | 'withdraw', input: AnswerInput = {}) {
  const { request, contract, role } = await loadMilestoneRequest(ctx, id, true);
  assertHourly(contract);
  const want = answer === 'withdraw' ? 'contractor' : 'client';
  if (role !== want) throw forbidden(answer === 'withdraw' ? 'only the contractor who asked withdraws a request' : `only the client may ${answer} a milestone request`);
  assertVersion(request, input.expectedVersion);
  if (request.status !== 'open') throw invalidState('milestone request', request.status);
  // An acceptance whose card charge has not been answered yet holds the request.
  const [inFlight] = await ctx.tx.query("SELECT 1 FROM provider_operations WHERE subject_id = $1 AND purpose = 'milestone_request' AND status = 'pending'", [id]);
  if (inFlight) throw new AppError('funding_pending', 'the acceptance of this request waits for its card charge', { state: request.status });
  if (answer === 'accept') {
    assertActive(contract);
    await requestAcceptance(ctx, contract, request, input.paymentMethod);
    // The milestone is created and funded, and the request accepted, with the provider's answer (bookAcceptance).
    return { request, contract, milestone: null };
  }
  const row = await closeRequest(ctx, contract, request, role as 'client' | 'contractor', answer === 'decline' ? 'declined' : 'withdrawn', input.reason ?? null, null);
  return { request: row, contract, milestone: null };
}

async function closeRequest(
  ctx: UseCaseCtx,
  contract: ContractRow,
  request: MilestoneRequestRow,
  role: 'client' | 'contractor',
  status: 'accepted' | 'declined' | 'withdrawn',
  reason: string | null,
  milestone: MilestoneRow | null,
): Promise<MilestoneRequestRow> {
  const [row] = await ctx.tx.query<MilestoneRequestRow>(
    `UPDATE milestone_requests SET status = $2, decline_reason = $3, milestone_id = $4, answered_by = $5, answered_at = $6, updated_at = $6, version = version + 1
     WHERE id = $1 RETURNING *`,
    [request.id, status, status === 'declined' ? reason : null, milestone?.id ?? null, ctx.principal.userId, ctx.now],
  );
  await recordEvent(ctx, contract, {
    kind: `milestone_request.${status}` as 'milestone_request.accepted',
    actorRole: role,
    milestoneId: milestone?.id ?? null,
    data: { requestId: request.id, amount: request.amount, description: request.description, reason },
  });
  return row!;
}

/**
 * Acceptance, first phase: what the new milestone's funding would be refused for is checked
 * (the policy's rules, the contract's room, a payment method), and the card charge written as a
 * provider operation. The request stays open until its answer.
 */
async function requestAcceptance(ctx: UseCaseCtx, contract: ContractRow, request: MilestoneRequestRow, paymentMethod: string | undefined): Promise<void> {
  await assertContractRoom(ctx, contract.id, { added: 1, delta: request.amount }, 'amount');
  const fresh = { status: 'accepted', amount: request.amount, fundedAmount: 0, releasedAmount: 0, refundedAmount: 0, proposedBy: null, revisionCount: 0, fundingPending: false } as MilestoneState;
  const t = transition(fresh, { type: 'fund' }, { role: 'client' }, contract.policy, {
    contractStatus: contract.status,
    currency: contract.currency,
    otherOpenFunded: await countOtherOpenFunded(ctx, contract.id, ''),
  });
  if (!t.ok) throw t.error;
  const method = await resolvePaymentMethod(ctx, contract, paymentMethod);
  const fee = feeOf(request.amount, contract.policy.platformFee.clientBps);
  const attempt = await nextAttempt(ctx.tx, 'milestone_request', 'subject_id', request.id);
  await requestOperation(ctx, {
    operation: 'charge',
    purpose: 'milestone_request',
    platformId: contract.platform_id,
    contractId: contract.id,
    subjectId: request.id,
    amount: request.amount + fee,
    currency: contract.currency,
    idempotencyKey: `request:${request.id}:v${request.version}:${attempt}`,
    paymentMethod: method,
    details: { fee, actorId: ctx.principal.userId, clientId: contract.client_id, description: `Escrow for ${titleOf(request.description)}` },
  });
}

/**
 * Acceptance, second phase: the provider accepted the charge, so the milestone is created and
 * funded with it, and the request accepted; declined, the request stays open (the caller
 * answers 402, or both parties are told). A charge that settles later is then the milestone's.
 */
export async function bookAcceptance(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  if (op.status === 'processing') return bookFunding(ctx, op, answer);
  const contract = (await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [op.contract_id]))[0]!;
  const [request] = await ctx.tx.query<MilestoneRequestRow>('SELECT * FROM milestone_requests WHERE id = $1 FOR UPDATE', [op.subject_id]);
  if (answer.status === 'failed') {
    if (!ctx.told) {
      await recordEvent(ctx, contract, {
        kind: 'milestone.funding_failed',
        actorRole: 'system',
        notify: ['client', 'contractor'],
        data: { requestId: request!.id, amount: request!.amount, reason: 'payment_declined', declineCode: answer.code },
      });
    }
    return {};
  }
  const fee = Number(op.details.fee ?? 0);
  const milestone = await createFundedMilestone(ctx, contract, request!, { reference: answer.reference, status: answer.status === 'processing' ? 'pending' : 'succeeded', paymentMethod: op.payment_method!, fee });
  await ctx.tx.query('UPDATE provider_operations SET milestone_id = $2 WHERE id = $1', [op.id, milestone.id]);
  await closeRequest(ctx, contract, request!, 'client', 'accepted', null, milestone);
  return { entryReference: `charge:${answer.reference}` };
}

async function createFundedMilestone(ctx: UseCaseCtx, contract: ContractRow, request: MilestoneRequestRow, charge: BookedCharge): Promise<MilestoneRow> {
  const tz = await platformTimeZone(ctx.tx, contract.platform_id);
  const [pos] = await ctx.tx.query<{ next: number }>('SELECT COALESCE(MAX(position), 0)::int + 1 AS next FROM milestones WHERE contract_id = $1', [contract.id]);
  const [created] = await ctx.tx.query<MilestoneRow>(
    `INSERT INTO milestones (id, platform_id, contract_id, position, title, description, amount, due_date, status, proposed_by, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'accepted',NULL,$9,$9) RETURNING *`,
    [newId('milestone'), contract.platform_id, contract.id, pos!.next, titleOf(request.description), request.description, request.amount, localDate(ctx.now, tz), ctx.now],
  );
  // The client funds it as any milestone: the policy's rules, the card charge and the escrow entry.
  const funded = await applyMilestoneCommand(ctx, contract, created!, 'client', { type: 'fund' }, { event: 'milestone.funded', charge, data: { requestId: request.id } });
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
