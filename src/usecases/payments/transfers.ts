import type { ContractRow } from '../../db/repos/contracts.ts';
import { Accounts } from '../../ledger/accounts.ts';
import { postEntry } from '../../ledger/postings.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordEvent } from '../record.ts';
import { requestOperation, type OperationRow } from './operations.ts';
import { payoutAccountOf } from './payout-accounts.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

/**
 * Transfers (Stripe Connect, "separate charges and transfers"): what a release — or a paid
 * payment — leaves the contractor goes on to their connected account as a Transfer, once that
 * account can receive transfers. Until then it waits in their balance (the payment
 * `processing`, both parties told why) and leaves when `account.updated` says the account can
 * receive money. The platform's fees never leave: they were booked to the platform's accounts
 * with the release.
 *
 * Ledger, in the contract's journal: the request moves the money from the contractor's balance
 * to their payouts on the way (`transfer_requested`); the provider's answer sends it to the world
 * (`transfer_paid`) or, refused, back to the balance (`transfer_returned`); a reversal the
 * platform made brings it back to the balance (`transfer_reversed`).
 */
export type TransferRow = {
  payment_id: string;
  platform_id: string;
  contract_id: string;
  milestone_id: string | null;
  contractor_id: string;
  amount: number;
  currency: string;
  status: 'waiting' | 'requested' | 'paid' | 'reversed';
  source_charge: string | null;
  operation_id: string | null;
  attempts: number;
  provider_ref: string | null;
  amount_reversed: number;
};

const toNumbers = (t: TransferRow): TransferRow => ({ ...t, amount: Number(t.amount), amount_reversed: Number(t.amount_reversed) });

/** Whether releases leave the platform as transfers (the provider has connected accounts). */
export const releasesTransfer = (ctx: UseCaseCtx) => ctx.deps.provider.transfersReleases;

/**
 * In the command's transaction (the contract locked): the payment's net amount, already in the
 * contractor's balance, is to be transferred — requested now if the account can receive it,
 * else waiting, and both parties are told why.
 */
export async function transferToContractor(
  ctx: UseCaseCtx,
  contract: ContractRow,
  p: { paymentId: string; milestoneId: string | null; amount: number; sourceCharge: string | null },
): Promise<void> {
  if (p.amount <= 0) return;
  const [row] = await ctx.tx.query<TransferRow>(
    `INSERT INTO transfers (payment_id, platform_id, contract_id, milestone_id, contractor_id, amount, currency, status, source_charge, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,'waiting',$8,$9,$9) RETURNING *`,
    [p.paymentId, contract.platform_id, contract.id, p.milestoneId, contract.contractor_id, p.amount, contract.currency, p.sourceCharge, ctx.now],
  );
  const account = await payoutAccountOf(ctx.tx, contract.platform_id, ctx.deps.provider.name, contract.contractor_id);
  if (account?.transfers_enabled) return requestTransfer(ctx, toNumbers(row!), account.reference);
  await tellWaiting(ctx, contract, toNumbers(row!), account ? 'payout_account_incomplete' : 'no_payout_account');
}

async function tellWaiting(ctx: UseCaseCtx, contract: ContractRow, t: TransferRow, reason: string) {
  await recordEvent(ctx, contract, {
    kind: 'payment.transfer_waiting',
    actorRole: 'system',
    milestoneId: t.milestone_id,
    notify: ['client', 'contractor'],
    data: { paymentId: t.payment_id, amount: t.amount, reason },
  });
}

/** The transfer as a provider operation (made after commit), its money on the way out of the balance. */
async function requestTransfer(ctx: UseCaseCtx, t: TransferRow, destination: string): Promise<void> {
  const attempt = t.attempts + 1;
  const operationId = await requestOperation(ctx, {
    operation: 'transfer',
    purpose: 'transfer',
    platformId: t.platform_id,
    contractId: t.contract_id,
    milestoneId: t.milestone_id,
    subjectId: t.payment_id,
    amount: t.amount,
    currency: t.currency,
    idempotencyKey: `transfer:${t.payment_id}:${attempt}`,
    chargeReference: t.source_charge,
    details: { contractorId: t.contractor_id, destination, actorId: ctx.principal.userId, description: `Payment ${t.payment_id}` },
  });
  await postEntry(ctx.tx, {
    platformId: t.platform_id, contractId: t.contract_id, milestoneId: t.milestone_id, currency: t.currency, at: ctx.now,
    kind: 'transfer_requested', reference: `transfer:${operationId}`,
    postings: [{ source: Accounts.contractorBalance(t.contractor_id), destination: Accounts.contractorPayouts(t.contractor_id), amount: t.amount }],
  });
  await ctx.tx.query("UPDATE transfers SET status = 'requested', operation_id = $2, attempts = $3, updated_at = $4 WHERE payment_id = $1", [t.payment_id, operationId, attempt, ctx.now]);
}

/**
 * The contractor's account can receive transfers now: every transfer waiting for it is
 * requested, contract by contract (each locked, in id order, as commands lock them).
 * Requesting reads the waiting rows under the lock, so a second run requests nothing again.
 */
export async function releaseWaitingTransfers(ctx: UseCaseCtx, platformId: string, contractorId: string, destination: string): Promise<number> {
  const contracts = await ctx.tx.query<{ contract_id: string }>(
    "SELECT DISTINCT contract_id FROM transfers WHERE platform_id = $1 AND contractor_id = $2 AND status = 'waiting' ORDER BY contract_id",
    [platformId, contractorId],
  );
  let n = 0;
  for (const { contract_id } of contracts) {
    await ctx.tx.query('SELECT id FROM contracts WHERE id = $1 FOR UPDATE', [contract_id]);
    const waiting = await ctx.tx.query<TransferRow>(
      "SELECT * FROM transfers WHERE contract_id = $1 AND contractor_id = $2 AND status = 'waiting' ORDER BY payment_id FOR UPDATE",
      [contract_id, contractorId],
    );
    for (const t of waiting) {
      await requestTransfer(ctx, toNumbers(t), destination);
      n++;
    }
  }
  return n;
}

/**
 * A transfer's answer (the contract locked by the booking). Made: the money leaves for the
 * connected account and the payment is paid. Refused: it is back in the balance and waits again
 * (the next account.updated that says the account can receive money tries again, with a new key).
 */
export async function bookTransfer(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  const contractorId = String(op.details.contractorId);
  const base = { platformId: op.platform_id, contractId: op.contract_id!, milestoneId: op.milestone_id, currency: op.currency, at: ctx.now };
  if (answer.status === 'processing') {
    await ctx.tx.query('UPDATE transfers SET provider_ref = $2, updated_at = $3 WHERE payment_id = $1', [op.subject_id, answer.reference, ctx.now]);
    return {};
  }
  if (answer.status === 'failed') {
    await postEntry(ctx.tx, {
      ...base, kind: 'transfer_returned', reference: `transfer_returned:${op.id}`,
      postings: [{ source: Accounts.contractorPayouts(contractorId), destination: Accounts.contractorBalance(contractorId), amount: op.amount }],
    });
    const [t] = await ctx.tx.query<TransferRow>("UPDATE transfers SET status = 'waiting', updated_at = $2 WHERE payment_id = $1 RETURNING *", [op.subject_id, ctx.now]);
    const [contract] = await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [op.contract_id]);
    if (t && contract) await tellWaiting(ctx, contract, toNumbers(t), answer.code);
    return {};
  }
  const reference = `transfer_paid:${answer.reference}`;
  await postEntry(ctx.tx, {
    ...base, kind: 'transfer_paid', reference,
    postings: [{ source: Accounts.contractorPayouts(contractorId), destination: Accounts.world(), amount: op.amount }],
  });
  await ctx.tx.query("UPDATE transfers SET status = 'paid', provider_ref = $2, updated_at = $3 WHERE payment_id = $1", [op.subject_id, answer.reference, ctx.now]);
  await ctx.tx.query("UPDATE payments SET status = 'paid', paid_at = $2, version = version + 1, updated_at = $2 WHERE id = $1 AND status = 'processing'", [op.subject_id, ctx.now]);
  return { entryReference: reference };
}

/**
 * transfer.reversed: the platform took (part of) a transfer back from the connected account.
 * The provider says how much is reversed in all; what is more than we knew comes back to the
 * contractor's balance, so a replayed or older event moves nothing. Both parties are told.
 */
export async function applyTransferReversal(ctx: UseCaseCtx, reference: string, reversedInAll: number): Promise<string> {
  const [found] = await ctx.tx.query<{ contract_id: string }>('SELECT contract_id FROM transfers WHERE provider_ref = $1', [reference]);
  if (!found) return 'not one of our transfers';
  const [contract] = await ctx.tx.query<ContractRow>('SELECT * FROM contracts WHERE id = $1 FOR UPDATE', [found.contract_id]);
  const t = toNumbers((await ctx.tx.query<TransferRow>('SELECT * FROM transfers WHERE provider_ref = $1 FOR UPDATE', [reference]))[0]!);
  const back = Math.min(reversedInAll, t.amount) - t.amount_reversed;
  if (back <= 0) return 'nothing reversed since last known';
  await postEntry(ctx.tx, {
    platformId: t.platform_id, contractId: t.contract_id, milestoneId: t.milestone_id, currency: t.currency, at: ctx.now,
    kind: 'transfer_reversed', reference: `transfer_reversed:${reference}:${t.amount_reversed + back}`,
    postings: [{ source: Accounts.world(), destination: Accounts.contractorBalance(t.contractor_id), amount: back }],
  });
  const total = t.amount_reversed + back;
  await ctx.tx.query('UPDATE transfers SET amount_reversed = $2, status = $3, updated_at = $4 WHERE payment_id = $1', [t.payment_id, total, total >= t.amount ? 'reversed' : t.status, ctx.now]);
  await recordEvent(ctx, contract!, {
    kind: 'payment.transfer_reversed',
    actorRole: 'system',
    milestoneId: t.milestone_id,
    notify: ['client', 'contractor'],
    data: { paymentId: t.payment_id, amount: back },
  });
  return `reversed ${back}`;
}

/**
 * The charge a milestone's releases came in with, when all it released so far fits in it (a
 * transfer tied to its charge needs no available platform balance); none when part of the escrow
 * came from elsewhere (a rest moved from an earlier milestone).
 */
export async function fundingChargeOf(ctx: UseCaseCtx, milestoneId: string, releasedSoFar: number): Promise<string | null> {
  const [f] = await ctx.tx.query<{ provider_ref: string; amount: number }>(
    "SELECT provider_ref, amount FROM fundings WHERE milestone_id = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1",
    [milestoneId],
  );
  return f && Number(f.amount) >= releasedSoFar ? f.provider_ref : null;
}

/** How many of a contractor's transfers wait for their account, per currency. */
export async function waitingTransfers(q: UseCaseCtx['tx'], platformId: string, contractorId: string): Promise<{ currency: string; amount: number; count: number }[]> {
  const rows = await q.query<{ currency: string; amount: number; count: number }>(
    "SELECT currency, SUM(amount)::bigint AS amount, count(*)::int AS count FROM transfers WHERE platform_id = $1 AND contractor_id = $2 AND status = 'waiting' GROUP BY currency ORDER BY currency",
    [platformId, contractorId],
  );
  return rows.map((r) => ({ currency: r.currency, amount: Number(r.amount), count: r.count }));
}
