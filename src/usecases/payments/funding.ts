import type { ContractRow } from '../../db/repos/contracts.ts';
import { toState, type MilestoneRow } from '../../db/repos/milestones.ts';
import { AppError } from '../../domain/errors.ts';
import { OPEN_FUNDED_STATUSES, transition } from '../../domain/milestone-machine.ts';
import { feeOf } from '../../domain/money.ts';
import type { EventData, EventKind } from '../../notify/templates.ts';
import type { ContractRole } from '../access.ts';
import { resolvePaymentMethod, savedPaymentMethodStatement } from '../money.ts';
import { recordEvent } from '../record.ts';
import { bookRestCharge, isRestCharge } from '../release-milestone.ts';
import { applyMilestoneCommand, assertVersion, countOtherOpenFundedStatement, type CommandResult } from '../run-milestone-command.ts';
import type { UseCaseCtx } from '../context.ts';
import { attemptAfter, nextAttemptStatement, requestOperation, type OperationRow } from './operations.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

/** What the fund command knew and the booking of the provider's answer needs. */
type FundingDetails = {
  amount: number;
  fee: number;
  version: number;
  actorId: string | null;
  clientId: string;
  description: string;
  event: EventKind;
  eventActor?: 'system';
  data?: EventData;
};

export type FundingRequest = { paymentMethod?: string; expectedVersion?: number; event?: EventKind; eventActor?: 'system'; data?: EventData };

/**
 * Escrow deposit, first phase (in the command's transaction): the fund transition is checked,
 * nothing of it is applied yet; the charge is written as a provider operation and the milestone
 * marked `fundingPending` (which refuses every other money command, an edit and a second
 * deposit meanwhile). Neither its version nor its status changes: a decline leaves it as it was.
 * The deposit is booked with the provider's answer (bookFunding).
 */
export async function requestFunding(
  ctx: UseCaseCtx,
  contract: ContractRow,
  m: MilestoneRow,
  role: ContractRole | 'system',
  req: FundingRequest,
): Promise<CommandResult & { operationId: string }> {
  assertVersion(m, req.expectedVersion);
  // What the deposit depends on, read together under the contract's lock (one round trip): the
  // contract's other deposits (those still waiting for the provider count against its limit as
  // if booked), the client's saved payment method and the attempt number of this deposit's key.
  const [[others], savedMethod, attempts] = (await ctx.tx.batch([
    [
      'SELECT count(*)::int AS n FROM milestones WHERE contract_id = $1 AND id <> $2 AND (status = ANY($3) OR funding_pending)',
      [contract.id, m.id, OPEN_FUNDED_STATUSES],
    ],
    savedPaymentMethodStatement(contract.client_id),
    nextAttemptStatement('funding', 'milestone_id', m.id),
  ])) as [{ n: number }[], Record<string, unknown>[], Record<string, unknown>[]];
  const t = transition(toState(m), { type: 'fund' }, { role: role === 'system' ? 'system' : role }, contract.policy, {
    contractStatus: contract.status,
    currency: contract.currency,
    otherOpenFunded: others?.n ?? 0,
  });
  if (!t.ok) throw t.error;
  if (m.funding_pending) throw new AppError('funding_pending', 'a deposit for this milestone is already on its way', { state: m.status });
  const method = await resolvePaymentMethod(ctx, contract, req.paymentMethod, savedMethod);
  // A charge always covers the milestone's whole amount (see money.ts).
  const fee = feeOf(m.amount, contract.policy.platformFee.clientBps);
  const details: FundingDetails = {
    amount: m.amount,
    fee,
    version: m.version,
    actorId: ctx.principal.userId,
    clientId: contract.client_id,
    description: `Escrow for ${m.title}`,
    event: req.event ?? 'milestone.funded',
    ...(req.eventActor ? { eventActor: req.eventActor } : {}),
    ...(req.data ? { data: req.data } : {}),
  };
  const attempt = attemptAfter(attempts);
  const operationId = await requestOperation(ctx, {
    operation: 'charge',
    purpose: 'funding',
    platformId: contract.platform_id,
    contractId: contract.id,
    milestoneId: m.id,
    amount: m.amount + fee,
    currency: contract.currency,
    idempotencyKey: `fund:${m.id}:v${m.version}:${attempt}`,
    paymentMethod: method,
    details,
  });
  // The row is locked and known: written behind, not read back.
  await ctx.tx.query('UPDATE milestones SET funding_pending = true WHERE id = $1', [m.id]);
  return { contract, milestone: { ...m, funding_pending: true }, before: m, role: role === 'system' ? 'admin' : role, paymentIds: [], operationId };
}

/**
 * Escrow deposit, second phase: the provider's answer. Accepted (at once or to settle later):
 * the fund transition is applied with the charge booked (money.ts). Declined: the milestone is
 * as it was; if nobody is waiting for the answer, both parties are told. A charge that was
 * accepted and then failed to settle is reversed; one that settled confirms the escrow.
 */
export async function bookFunding(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  // The contract is locked already (bookAnswers); its row, the milestone's under its lock and the
  // contract's other deposits are read together (one round trip).
  const [[contract], [m], [others]] = (await ctx.tx.batch([
    ['SELECT * FROM contracts WHERE id = $1', [op.contract_id]],
    ['SELECT * FROM milestones WHERE platform_id = $1 AND id = $2 FOR UPDATE', [op.platform_id, op.milestone_id]],
    countOtherOpenFundedStatement(op.contract_id!, op.milestone_id!),
  ])) as [ContractRow[], MilestoneRow[], { n: number }[]];
  if (!contract || !m) throw new Error(`funding operation ${op.id}: its milestone is gone`);
  const d = op.details as FundingDetails;
  if (op.status === 'processing') {
    // Settled meanwhile through the legacy settle_funding job: nothing left to book.
    if (!m.funding_pending) return {};
    const [funding] = await ctx.tx.query<{ id: string }>('SELECT id FROM fundings WHERE milestone_id = $1 AND provider_ref = $2', [m.id, op.provider_ref]);
    if (answer.status === 'succeeded') {
      await ctx.tx.query("UPDATE fundings SET status = 'succeeded', updated_at = $2 WHERE id = $1", [funding?.id, ctx.now]);
      await applyMilestoneCommand(ctx, contract, m, 'system', { type: 'funding_settled' }, { event: 'milestone.funding_settled' });
    } else {
      await applyMilestoneCommand(ctx, contract, m, 'system', { type: 'funding_failed' }, { event: 'milestone.funding_failed', data: { fundingId: funding?.id ?? null } });
    }
    return {};
  }
  // The difference a release's rest could not cover (release-milestone.ts): the release and the move book together.
  if (isRestCharge(op)) return bookRestCharge(ctx, op, answer);
  if (answer.status === 'failed') {
    await ctx.tx.query('UPDATE milestones SET funding_pending = false WHERE id = $1', [m.id]);
    if (!ctx.told) {
      await recordEvent(ctx, contract, {
        kind: 'milestone.funding_failed',
        actorRole: 'system',
        milestoneId: m.id,
        notify: ['client', 'contractor'],
        data: { title: m.title, amount: d.amount, reason: 'payment_declined', declineCode: answer.code },
      });
    }
    return {};
  }
  const unfunded = { ...m, funding_pending: false };
  await applyMilestoneCommand(
    ctx,
    contract,
    unfunded,
    'client',
    { type: 'fund' },
    {
      event: d.event,
      eventActor: d.eventActor,
      data: d.data,
      charge: { reference: answer.reference, status: answer.status === 'processing' ? 'pending' : 'succeeded', paymentMethod: op.payment_method!, fee: d.fee },
      otherOpenFunded: others?.n ?? 0,
    },
    true, // read under the lock above: saved without reading it back
  );
  return { entryReference: `charge:${answer.reference}` };
}
