import type { Queryable, Statement, Tx } from '../../db/client.ts';
import { newId } from '../../domain/ids.ts';
import type { UseCaseCtx } from '../context.ts';

/**
 * Provider operations, first phase: a call to the payment provider is a row written in the
 * command's transaction, with a deterministic idempotency key. It is made after commit
 * (perform-operation.ts), never inside a transaction; its answer is booked in a second one.
 */
export type OperationKind = 'charge' | 'refund' | 'transfer' | 'payout';
export type OperationPurpose = 'funding' | 'milestone_request' | 'payment' | 'refund' | 'payout' | 'invoice' | 'transfer';
export type OperationStatus = 'pending' | 'processing' | 'succeeded' | 'failed';

export type OperationRow = {
  id: string;
  platform_id: string;
  provider: string;
  operation: OperationKind;
  purpose: OperationPurpose;
  contract_id: string | null;
  milestone_id: string | null;
  subject_id: string | null;
  amount: number;
  currency: string;
  idempotency_key: string;
  payment_method: string | null;
  charge_reference: string | null;
  details: Record<string, unknown>;
  status: OperationStatus;
  provider_ref: string | null;
  failure_code: string | null;
  entry_reference: string | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
  updated_at: Date;
  settled_at: Date | null;
};

export type OperationInput = {
  operation: OperationKind;
  purpose: OperationPurpose;
  platformId: string;
  contractId?: string | null;
  milestoneId?: string | null;
  subjectId?: string | null;
  amount: number;
  currency: string;
  idempotencyKey: string;
  paymentMethod?: string | null;
  chargeReference?: string | null;
  details?: Record<string, unknown>;
};

/**
 * The request that wrote an operation makes it at once after commit; the worker only picks a
 * `pending` one up after this grace (it was left by a crash, or by a provider that did not
 * answer). Both may run it: the key makes the provider do it once, and the answer is booked once.
 */
export const PENDING_GRACE_MS = 60_000;

/** Writes the operation in the command's transaction and hands its id to whoever commits it. */
export async function requestOperation(ctx: UseCaseCtx, input: OperationInput): Promise<string> {
  return (await requestOperations(ctx, [input]))[0]!;
}

/** requestOperation for any number of operations, in one statement (a Wednesday batch's invoice charges). */
export async function requestOperations(ctx: UseCaseCtx, inputs: OperationInput[]): Promise<string[]> {
  if (inputs.length === 0) return [];
  // A charge the provider would refuse for its amount (Stripe's minimums) is refused before anything is written.
  for (const i of inputs) if (i.operation === 'charge') ctx.deps.provider.assertChargeable(i.amount, i.currency);
  const ids = inputs.map(() => newId('operation'));
  const col = <T>(f: (i: OperationInput) => T) => inputs.map(f);
  await ctx.tx.query(
    `INSERT INTO provider_operations (id, platform_id, provider, operation, purpose, contract_id, milestone_id, subject_id, amount, currency,
       idempotency_key, payment_method, charge_reference, details, status, next_attempt_at, created_at, updated_at)
     SELECT x.id, x.platform_id, $1, x.operation, x.purpose, x.contract_id, x.milestone_id, x.subject_id, x.amount, x.currency,
       x.idempotency_key, x.payment_method, x.charge_reference, x.details::jsonb, 'pending', $2, $3, $3
     FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
       AS x(id, platform_id, operation, purpose, contract_id, milestone_id, subject_id, amount, currency, idempotency_key, payment_method, charge_reference, details)`,
    [
      ctx.deps.provider.name, new Date(ctx.now.getTime() + PENDING_GRACE_MS), ctx.now,
      ids, col((i) => i.platformId), col((i) => i.operation), col((i) => i.purpose), col((i) => i.contractId ?? null), col((i) => i.milestoneId ?? null),
      col((i) => i.subjectId ?? null), col((i) => i.amount), col((i) => i.currency), col((i) => i.idempotencyKey), col((i) => i.paymentMethod ?? null),
      col((i) => i.chargeReference ?? null), col((i) => JSON.stringify(i.details ?? {})),
    ],
  );
  ctx.operations?.push(...ids);
  return ids;
}

/**
 * The attempt number for the next key of a subject's operations of one purpose: a charge that
 * was declined leaves everything as it was (version included), and the next attempt must be a
 * new call to the provider, not the replay of the declined one.
 */
export async function nextAttempt(tx: Tx, purpose: OperationPurpose, column: 'milestone_id' | 'subject_id', id: string): Promise<number> {
  return attemptAfter(await tx.query(...nextAttemptStatement(purpose, column, id)));
}

/** nextAttempt's statement, for a caller that reads it in a batch with others; `attemptAfter` reads its rows. */
export const nextAttemptStatement = (purpose: OperationPurpose, column: 'milestone_id' | 'subject_id', id: string): Statement => [
  `SELECT count(*)::int AS n FROM provider_operations WHERE ${column} = $1 AND purpose = $2`,
  [id, purpose],
];
export const attemptAfter = (rows: readonly Record<string, unknown>[]): number => Number(rows[0]?.n ?? 0) + 1;

export async function findOperation(q: Queryable, id: string, lock = false): Promise<OperationRow | undefined> {
  const [row] = await q.query<OperationRow>(`SELECT * FROM provider_operations WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return row && { ...row, amount: Number(row.amount) };
}

/** The operations of a subject (a milestone's, a payment's), newest first. */
export async function operationsOf(q: Queryable, ids: readonly string[]): Promise<OperationRow[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<OperationRow>('SELECT * FROM provider_operations WHERE id = ANY($1) ORDER BY id', [ids]);
  return rows.map((r) => ({ ...r, amount: Number(r.amount) }));
}
