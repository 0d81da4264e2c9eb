import type { Db } from '../../db/client.ts';
import { findContract } from '../../db/repos/contracts.ts';
import { PaymentDeclinedError, type PaymentProvider } from '../../payments/provider.ts';
import type { Deps, Principal, UseCaseCtx } from '../context.ts';
import { bookAcceptance } from '../hourly/milestone-requests.ts';
import { bookDirectPayment } from './direct-payment.ts';
import { bookFunding } from './funding.ts';
import { findOperation, operationsOf, type OperationPurpose, type OperationRow } from './operations.ts';
import { bookPayout } from './payouts.ts';
import { bookRefund } from './refunds.ts';

/**
 * Provider operations, second phase: the call, outside any transaction, then its answer booked
 * in a transaction of its own (the operation's row, the journal entry, the subject's state).
 */
export type ProviderAnswer =
  | { status: 'succeeded' | 'processing'; reference: string }
  | { status: 'failed'; code: string; reference?: string | null };

/** What booking an answer is told: whether a caller waiting for it will tell the person (no notification then). */
export type BookingCtx = UseCaseCtx & { told: boolean };

/** Books a provider's answer for one purpose; returns the reference of the journal entry that books the provider's movement. */
export type Booker = (ctx: BookingCtx, op: OperationRow, answer: ProviderAnswer) => Promise<{ entryReference?: string | null }>;

const BOOKERS: Record<OperationPurpose, Booker> = {
  funding: bookFunding,
  milestone_request: bookAcceptance,
  payment: bookDirectPayment,
  refund: bookRefund,
  payout: bookPayout,
};

/**
 * A caller waiting for operations' answers (a command answering with the outcome). The booking
 * that finds it still waiting claims it (`claimed`): the caller will answer with this outcome,
 * so the booking sends no notification; the caller's timer no longer gives up meanwhile. Both
 * run on one thread, so the check-and-set cannot race.
 */
export type Waiter = { answering: boolean; claimed: boolean };

const backoffMs = (attempts: number) => Math.min(3_600_000, 1000 * 2 ** attempts);

/** The operation's principal: the system, on behalf of the person whose command requested it. */
const principalFor = (op: OperationRow): Principal => ({
  platformId: op.platform_id,
  userId: typeof op.details.actorId === 'string' ? op.details.actorId : null,
  viaAdmin: true,
  key: 'system',
});

/** One call to the provider. `null`: a pending settlement is still pending. Throws when there is no answer at all. */
async function callProvider(provider: PaymentProvider, op: OperationRow): Promise<ProviderAnswer | null> {
  if (op.status === 'processing') {
    const outcome = await provider.settle(op.provider_ref!);
    if (outcome === 'pending') return null;
    return outcome === 'succeeded' ? { status: 'succeeded', reference: op.provider_ref! } : { status: 'failed', code: 'settlement_failed', reference: op.provider_ref };
  }
  try {
    switch (op.operation) {
      case 'charge': {
        const r = await provider.charge({
          amount: op.amount,
          currency: op.currency,
          paymentMethod: op.payment_method!,
          idempotencyKey: op.idempotency_key,
          description: String(op.details.description ?? op.purpose),
          group: op.contract_id ?? undefined,
          customer: typeof op.details.clientId === 'string' ? op.details.clientId : undefined,
        });
        return { status: r.status === 'pending' ? 'processing' : 'succeeded', reference: r.reference };
      }
      case 'refund': {
        const r = await provider.refund({ chargeReference: op.charge_reference ?? 'none', amount: op.amount, currency: op.currency, idempotencyKey: op.idempotency_key });
        return { status: 'succeeded', reference: r.reference };
      }
      case 'payout': {
        const r = await provider.payout({
          amount: op.amount,
          currency: op.currency,
          idempotencyKey: op.idempotency_key,
          contractorId: String(op.details.contractorId),
          description: String(op.details.description ?? 'Payout'),
        });
        return { status: r.status === 'pending' ? 'processing' : 'succeeded', reference: r.reference };
      }
      case 'transfer':
        throw new Error(`provider ${provider.name} makes no transfers`);
    }
  } catch (e) {
    if (e instanceof PaymentDeclinedError) return { status: 'failed', code: e.declineCode };
    throw e;
  }
}

/**
 * Makes one operation (or asks how a processing one ended) and books the answer. Safe to run
 * twice at once, in one process or two: the provider sees the same idempotency key, and the
 * booking locks the contract, then the row, and books only what is still open.
 */
export async function performOperation(db: Db, deps: Deps, id: string, waiter?: Waiter): Promise<OperationRow | undefined> {
  const op = await findOperation(db, id);
  if (!op || op.status === 'succeeded' || op.status === 'failed') return op;
  let answer: ProviderAnswer | null;
  try {
    answer = await callProvider(deps.provider, op);
  } catch (e) {
    // No answer (network, provider down): nothing is known, the row stays open and is retried with the same key.
    const now = deps.clock.now();
    await db.query('UPDATE provider_operations SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1 AND status = $5', [
      id, String((e as Error)?.message ?? e).slice(0, 1000), new Date(now.getTime() + backoffMs(op.attempts + 1)), now, op.status,
    ]);
    throw e;
  }
  if (!answer) {
    const now = deps.clock.now();
    await db.query("UPDATE provider_operations SET attempts = attempts + 1, next_attempt_at = $2, updated_at = $3 WHERE id = $1 AND status = 'processing'", [
      id, new Date(now.getTime() + backoffMs(op.attempts + 1)), now,
    ]);
    return op;
  }
  // A booking may itself request operations (a failed deposit refunding a rest moved into it, an
  // unusable charge refunded): they are made after its commit, as a command's are.
  const requested: string[] = [];
  const booked = await db.tx((tx) => {
    requested.length = 0;
    return bookAnswer({ tx, principal: principalFor(op), deps, now: deps.clock.now(), operations: requested }, id, answer, waiter);
  });
  if (waiter) waiter.claimed = false;
  for (const next of requested) {
    // Not answered now: the worker's sweep retries it with the same key.
    await performOperation(db, deps, next).catch(() => undefined);
  }
  return booked;
}

/** Books a provider's answer once, in the caller's transaction. */
export async function bookAnswer(ctx: UseCaseCtx, id: string, answer: ProviderAnswer, waiter?: Waiter): Promise<OperationRow | undefined> {
  const peek = await findOperation(ctx.tx, id);
  if (!peek) return undefined;
  // The contract first, as every command locks it: the booking changes its ledger and milestones.
  if (peek.contract_id) await findContract(ctx.tx, peek.platform_id, peek.contract_id, true);
  const op = (await findOperation(ctx.tx, id, true))!;
  if (op.status === 'succeeded' || op.status === 'failed') return op;
  if (op.status === 'processing' && answer.status === 'processing') return op;
  let told = false;
  if (waiter?.answering) {
    waiter.claimed = true;
    told = true;
  }
  const { entryReference } = await BOOKERS[op.purpose]({ ...ctx, told }, op, answer);
  const final = answer.status === 'succeeded' || answer.status === 'failed';
  const [row] = await ctx.tx.query<OperationRow>(
    `UPDATE provider_operations SET status = $2, provider_ref = COALESCE($3, provider_ref), failure_code = $4,
       entry_reference = COALESCE($5, entry_reference), attempts = attempts + 1, last_error = NULL,
       next_attempt_at = $6, settled_at = $7, updated_at = $6
     WHERE id = $1 RETURNING *`,
    [id, answer.status, answer.reference ?? null, answer.status === 'failed' ? answer.code : null, entryReference ?? null, ctx.now, final ? ctx.now : null],
  );
  return row && { ...row, amount: Number(row.amount) };
}

/** Test-only fault injection: the crash test kills the process between commit and the provider call. */
function failpoint(name: string) {
  if (process.env.TRANCHE_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
}

export const DEFAULT_PROVIDER_WAIT_MS = 8000;

/**
 * Makes a command's operations after its commit and waits for their answers up to the wait
 * budget; what is not answered by then goes on in the background (and, if the process dies,
 * is finished by the worker). Returns the operations as they stand when the wait ends.
 */
export async function awaitOperations(db: Db, deps: Deps & { log?: { warn: (o: object, m: string) => void } }, ids: readonly string[], answering: boolean): Promise<OperationRow[]> {
  if (ids.length === 0) return [];
  failpoint('before_provider_call');
  const waiter: Waiter = { answering, claimed: false };
  let givenUp = false;
  const drive = (async () => {
    for (const id of ids) {
      // A lost database connection (or a provider that did not answer) is retried with the same
      // key while the caller still waits; after that the worker's sweep takes over.
      for (let attempt = 1; ; attempt++) {
        try {
          await performOperation(db, deps, id, waiter);
          break;
        } catch (err) {
          if (givenUp || attempt >= 20) {
            deps.log?.warn({ err, operation: id }, 'provider operation not answered; the worker retries it');
            break;
          }
          await new Promise((r) => setTimeout(r, 50 * attempt));
        }
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    const giveUp = () => {
      // A booking under way will be this answer: wait for it rather than answer 202 beside it.
      if (waiter.claimed) timer = setTimeout(giveUp, 10);
      else {
        waiter.answering = false;
        resolve();
      }
    };
    timer = setTimeout(giveUp, deps.providerWaitMs ?? DEFAULT_PROVIDER_WAIT_MS);
  });
  await Promise.race([drive, budget]);
  givenUp = true;
  clearTimeout(timer);
  for (let attempt = 1; ; attempt++) {
    try {
      return await operationsOf(db, ids);
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/**
 * The worker's sweep: operations due again (a processing charge to settle, a pending one a
 * crash or a silent provider left). `pendingOnly` at start-up: what a crash cut off between
 * commit and call, whatever its schedule.
 */
export async function finishDueOperations(db: Db, deps: Deps, opts: { pendingOnly?: boolean; max?: number } = {}): Promise<number> {
  const now = deps.clock.now();
  const rows = await db.query<{ id: string }>(
    opts.pendingOnly
      ? "SELECT id FROM provider_operations WHERE status = 'pending' ORDER BY created_at, id LIMIT $1"
      : "SELECT id FROM provider_operations WHERE status IN ('pending', 'processing') AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $1",
    opts.pendingOnly ? [opts.max ?? 1000] : [opts.max ?? 100, now],
  );
  let done = 0;
  for (const { id } of rows) {
    try {
      await performOperation(db, deps, id);
      done++;
    } catch {
      /* recorded on the row (last_error, next attempt); retried later */
    }
  }
  return done;
}
