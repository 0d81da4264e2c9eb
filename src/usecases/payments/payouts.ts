import { AppError, forbidden } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { Accounts } from '../../ledger/accounts.ts';
import { balanceOf, lockBook, payoutBook, postBookEntry } from '../../ledger/books.ts';
import type { UseCaseCtx } from '../context.ts';
import { requestOperation, type OperationRow } from './operations.ts';
import type { BookingCtx, ProviderAnswer } from './perform-operation.ts';

export type PayoutRow = {
  id: string;
  platform_id: string;
  contractor_id: string;
  amount: number;
  currency: string;
  status: 'processing' | 'paid' | 'failed';
  operation_id: string;
  provider_ref: string | null;
  failure_code: string | null;
  paid_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type Balance = { currency: string; available: number; pending: number };

/**
 * A user's money per currency: `available` is their contractor balance (what releases and paid
 * payments left them, less payouts), `pending` what is on its way to their bank.
 */
export async function balancesOf(ctx: UseCaseCtx, userId: string): Promise<Balance[]> {
  const rows = await ctx.tx.query<{ currency: string; address: string; net: number }>(
    `SELECT currency, address, (COALESCE(SUM(amount) FILTER (WHERE destination = address), 0) - COALESCE(SUM(amount) FILTER (WHERE source = address), 0))::bigint AS net
     FROM postings CROSS JOIN unnest($2::text[]) AS a(address)
     WHERE platform_id = $1 AND (source = address OR destination = address)
     GROUP BY currency, address`,
    [ctx.principal.platformId, [Accounts.contractorBalance(userId), Accounts.contractorPayouts(userId)]],
  );
  const out = new Map<string, Balance>();
  for (const r of rows) {
    const b = out.get(r.currency) ?? { currency: r.currency, available: 0, pending: 0 };
    if (r.address === Accounts.contractorBalance(userId)) b.available = Number(r.net);
    else b.pending = Number(r.net);
    out.set(r.currency, b);
  }
  return [...out.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

/**
 * A contractor pays out part of their balance to their bank. First phase: the payout book is
 * locked (one payout of a contractor at a time, so two can never spend the same balance), the
 * amount leaves the balance for the payouts on their way, and the provider's payout is written
 * as an operation made after commit (bookPayout).
 */
export async function requestPayout(ctx: UseCaseCtx, input: { amount: number; currency: string }): Promise<PayoutRow> {
  const userId = ctx.principal.userId;
  if (!userId) throw forbidden('act for a user with the Acting-User header');
  // With connected accounts (Stripe) released money is transferred to the contractor's account,
  // which the provider pays out to their bank itself: there is nothing to pay out from here.
  if (ctx.deps.provider.transfersReleases) throw new AppError('invalid_state', 'payouts are made by the payment provider from your payout account (GET /v1/me/payout-account)', { state: 'provider_payouts' });
  const { platformId } = ctx.principal;
  const book = payoutBook(userId);
  await lockBook(ctx.tx, platformId, book, userId, ctx.now);
  const available = await balanceOf(ctx.tx, platformId, Accounts.contractorBalance(userId), input.currency);
  if (input.amount > available) {
    throw new AppError('insufficient_balance', `the available ${input.currency} balance is ${available}`, { available, currency: input.currency }, [
      { field: 'amount', message: `must be at most ${available}` },
    ]);
  }
  const id = newId('payout');
  const operationId = await requestOperation(ctx, {
    operation: 'payout',
    purpose: 'payout',
    platformId,
    subjectId: id,
    amount: input.amount,
    currency: input.currency,
    idempotencyKey: `payout:${id}`,
    details: { contractorId: userId, actorId: userId, description: `Payout ${id}` },
  });
  await postBookEntry(ctx.tx, {
    platformId, bookId: book, currency: input.currency, kind: 'payout_requested', reference: `payout:${id}`, at: ctx.now,
    postings: [{ source: Accounts.contractorBalance(userId), destination: Accounts.contractorPayouts(userId), amount: input.amount }],
  });
  const [row] = await ctx.tx.query<PayoutRow>(
    `INSERT INTO payouts (id, platform_id, contractor_id, amount, currency, status, operation_id, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,'processing',$6,$7,$7) RETURNING *`,
    [id, platformId, userId, input.amount, input.currency, operationId, ctx.now],
  );
  return toNumbers(row!);
}

/** Second phase: paid, the money leaves for the world; refused or failed, it is back in the balance. */
export async function bookPayout(ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer): Promise<{ entryReference?: string | null }> {
  const contractorId = String(op.details.contractorId);
  const book = payoutBook(contractorId);
  await lockBook(ctx.tx, op.platform_id, book, contractorId, ctx.now);
  const base = { platformId: op.platform_id, bookId: book, currency: op.currency, at: ctx.now };
  if (answer.status === 'processing') {
    await ctx.tx.query('UPDATE payouts SET provider_ref = $2, updated_at = $3 WHERE id = $1', [op.subject_id, answer.reference, ctx.now]);
    return {};
  }
  if (answer.status === 'failed') {
    await postBookEntry(ctx.tx, {
      ...base, kind: 'payout_returned', reference: `payout_returned:${op.subject_id}`,
      postings: [{ source: Accounts.contractorPayouts(contractorId), destination: Accounts.contractorBalance(contractorId), amount: op.amount }],
    });
    await ctx.tx.query("UPDATE payouts SET status = 'failed', failure_code = $2, updated_at = $3 WHERE id = $1", [op.subject_id, answer.code, ctx.now]);
    return {};
  }
  const reference = await postBookEntry(ctx.tx, {
    ...base, kind: 'payout_paid', reference: `payout_paid:${answer.reference}`,
    postings: [{ source: Accounts.contractorPayouts(contractorId), destination: Accounts.world(), amount: op.amount }],
  });
  await ctx.tx.query("UPDATE payouts SET status = 'paid', provider_ref = $2, paid_at = $3, updated_at = $3 WHERE id = $1", [op.subject_id, answer.reference, ctx.now]);
  return { entryReference: reference };
}

export async function listPayouts(ctx: UseCaseCtx, userId: string, cursor: string | null, limit: number): Promise<PayoutRow[]> {
  const rows = await ctx.tx.query<PayoutRow>(
    'SELECT * FROM payouts WHERE platform_id = $1 AND contractor_id = $2 AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4',
    [ctx.principal.platformId, userId, cursor, limit],
  );
  return rows.map(toNumbers);
}

export const findPayout = async (ctx: UseCaseCtx, id: string) =>
  (await ctx.tx.query<PayoutRow>('SELECT * FROM payouts WHERE id = $1', [id])).map(toNumbers)[0];

const toNumbers = (r: PayoutRow): PayoutRow => ({ ...r, amount: Number(r.amount) });
