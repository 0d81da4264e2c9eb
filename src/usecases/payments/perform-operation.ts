import type { Db } from '../../db/client.ts';
import { PaymentDeclinedError, type PaymentProvider } from '../../payments/provider.ts';
import type { Deps, Principal, UseCaseCtx } from '../context.ts';
import { bookAcceptance } from '../hourly/milestone-requests.ts';
import { bookInvoiceAnswer, bookInvoiceAnswers } from '../hourly/pay-invoice.ts';
import { bookDirectPayment } from './direct-payment.ts';
import { bookFunding } from './funding.ts';
import { findOperation, operationsOf, type OperationPurpose, type OperationRow } from './operations.ts';
import { bookPayout } from './payouts.ts';
import { bookRefund } from './refunds.ts';
import { bookTransfer } from './transfers.ts';

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
  invoice: bookInvoiceAnswer,
  transfer: bookTransfer,
};

/** Books many answers of one purpose at once (returns each one's entry reference, in order). */
export type BatchBooker = (ctx: BookingCtx, answered: Answered[]) => Promise<{ entryReference?: string | null }[]>;
type Answered = { op: OperationRow; answer: ProviderAnswer };

/**
 * Purposes whose answers a job books together, set-based: Wednesday's invoice charges (a few
 * statements for a batch of hundreds instead of a transaction each).
 */
const BATCH_BOOKERS: Partial<Record<OperationPurpose, BatchBooker>> = {
  invoice: bookInvoiceAnswers,
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
        return { status: r.status === 'pending' ? 'processing' : 'succeeded', reference: r.reference };
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
      case 'transfer': {
        const r = await provider.transfer({
          amount: op.amount,
          currency: op.currency,
          destination: String(op.details.destination),
          idempotencyKey: op.idempotency_key,
          description: String(op.details.description ?? 'Transfer'),
          group: op.contract_id ?? undefined,
          sourceCharge: op.charge_reference ?? undefined,
        });
        return { status: 'succeeded', reference: r.reference };
      }
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
  const answer = await ask(db, deps, op);
  if (!answer) return op;
  // A booking may itself request operations (a failed deposit refunding a rest moved into it, an
  // unusable charge refunded): they are made after its commit, as a command's are.
  const requested: string[] = [];
  const booked = await db.tx(async (tx) => {
    requested.length = 0;
    // The row read before the call names the contract to lock; bookAnswers locks and reads it again.
    return (await bookAnswers({ tx, principal: principalFor(op), deps, now: deps.clock.now(), operations: requested }, [{ op, answer }], waiter))[0];
  });
  if (waiter) waiter.claimed = false;
  for (const next of requested) {
    // Not answered now: the worker's sweep retries it with the same key.
    await performOperation(db, deps, next).catch(() => undefined);
  }
  return booked;
}

/** The provider's answer to an operation; no answer is recorded on the row (retried later with the same key) and thrown. */
async function ask(db: Db, deps: Deps, op: OperationRow): Promise<ProviderAnswer | null> {
  let answer: ProviderAnswer | null;
  try {
    answer = await callProvider(deps.provider, op);
  } catch (e) {
    // No answer (network, provider down): nothing is known, the row stays open and is retried with the same key.
    const now = deps.clock.now();
    await db.query('UPDATE provider_operations SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1 AND status = $5', [
      op.id, String((e as Error)?.message ?? e).slice(0, 1000), new Date(now.getTime() + backoffMs(op.attempts + 1)), now, op.status,
    ]);
    throw e;
  }
  if (!answer) {
    const now = deps.clock.now();
    await db.query("UPDATE provider_operations SET attempts = attempts + 1, next_attempt_at = $2, updated_at = $3 WHERE id = $1 AND status = 'processing'", [
      op.id, new Date(now.getTime() + backoffMs(op.attempts + 1)), now,
    ]);
  }
  return answer;
}

/** Provider calls a job's batch makes at once (each waits for the network with a real provider). */
const CALLS_AT_ONCE = 8;

/**
 * Makes operations nobody waits for one by one (a job's), as performOperation does, except that
 * the answers of a purpose with a batch booker are booked together, in one transaction per
 * platform and purpose. Throws, once all were tried, if any got no answer.
 */
export async function performOperations(db: Db, deps: Deps, ids: readonly string[]): Promise<void> {
  const open = (await operationsOf(db, ids)).filter((o) => o.status === 'pending' || o.status === 'processing');
  const answered = new Map<string, Answered[]>();
  let unanswered: unknown;
  let next = 0;
  const lane = async () => {
    while (next < open.length) {
      const op = open[next++]!;
      try {
        if (!BATCH_BOOKERS[op.purpose]) await performOperation(db, deps, op.id);
        else {
          const answer = await ask(db, deps, op);
          const group = `${op.platform_id} ${op.purpose}`;
          if (answer) answered.set(group, [...(answered.get(group) ?? []), { op, answer }]);
        }
      } catch (e) {
        unanswered = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CALLS_AT_ONCE, open.length) }, lane));
  for (const group of answered.values()) await db.tx((tx) => bookAnswers({ tx, principal: principalFor(group[0]!.op), deps, now: deps.clock.now() }, group));
  if (unanswered !== undefined) throw unanswered;
}

/** Books a provider's answer once, in the caller's transaction. */
export async function bookAnswer(ctx: UseCaseCtx, id: string, answer: ProviderAnswer, waiter?: Waiter): Promise<OperationRow | undefined> {
  const peek = await findOperation(ctx.tx, id);
  if (!peek) return undefined;
  return (await bookAnswers(ctx, [{ op: peek, answer }], waiter))[0];
}

/**
 * Books answers once, in the caller's transaction: the contracts first (in id order, as every
 * command locks them: the booking changes their ledger and milestones), then the rows; only
 * what is still open is booked — by the purpose's batch booker when all are of one such
 * purpose, else one by one. Returns the rows as they are then, in order.
 */
async function bookAnswers(ctx: UseCaseCtx, answered: Answered[], waiter?: Waiter): Promise<OperationRow[]> {
  const contractIds = [...new Set(answered.flatMap((a) => (a.op.contract_id ? [a.op.contract_id] : [])))].sort();
  // The contracts' locks, then the rows' — in this order, sent together (one round trip).
  const lockRows = await ctx.tx.batch([
    ...(contractIds.length > 0 ? [['SELECT id FROM contracts WHERE id = ANY($1) ORDER BY id FOR UPDATE', [contractIds]] as const] : []),
    ['SELECT * FROM provider_operations WHERE id = ANY($1) ORDER BY id FOR UPDATE', [answered.map((a) => a.op.id)]],
  ]);
  const locked = new Map((lockRows[lockRows.length - 1] as OperationRow[]).map((r) => [r.id, { ...r, amount: Number(r.amount) }]));
  const open = answered.flatMap(({ op, answer }) => {
    const row = locked.get(op.id)!;
    const done = row.status === 'succeeded' || row.status === 'failed' || (row.status === 'processing' && answer.status === 'processing');
    return done ? [] : [{ op: row, answer }];
  });
  if (open.length === 0) return answered.map((a) => locked.get(a.op.id)!);
  let told = false;
  if (waiter?.answering) {
    waiter.claimed = true;
    told = true;
  }
  const purpose = open[0]!.op.purpose;
  const batch = open.every((o) => o.op.purpose === purpose) ? BATCH_BOOKERS[purpose] : undefined;
  const refs: { entryReference?: string | null }[] = [];
  if (batch) refs.push(...(await batch({ ...ctx, told }, open)));
  else for (const o of open) refs.push(await BOOKERS[o.op.purpose]({ ...ctx, told }, o.op, o.answer));
  // Written behind (no RETURNING): the rows are known. A booker's own change to its row (the
  // milestone a request's acceptance made) is in the table, not in the rows returned here.
  await ctx.tx.query(
    `UPDATE provider_operations o SET status = x.status, provider_ref = COALESCE(x.provider_ref, o.provider_ref), failure_code = x.failure_code,
       entry_reference = COALESCE(x.entry_reference, o.entry_reference), attempts = o.attempts + 1, last_error = NULL,
       next_attempt_at = $1, settled_at = CASE WHEN x.status IN ('succeeded', 'failed') THEN $1::timestamptz END, updated_at = $1
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, status, provider_ref, failure_code, entry_reference)
     WHERE o.id = x.id`,
    [
      ctx.now, open.map((o) => o.op.id), open.map((o) => o.answer.status), open.map((o) => o.answer.reference ?? null),
      open.map((o) => (o.answer.status === 'failed' ? o.answer.code : null)), refs.map((r) => r.entryReference ?? null),
    ],
  );
  const settled = (status: string) => status === 'succeeded' || status === 'failed';
  const booked = new Map(
    open.map(({ op, answer }, i): [string, OperationRow] => [
      op.id,
      {
        ...op,
        status: answer.status,
        provider_ref: answer.reference ?? op.provider_ref,
        failure_code: answer.status === 'failed' ? answer.code : null,
        entry_reference: refs[i]!.entryReference ?? op.entry_reference,
        attempts: op.attempts + 1,
        last_error: null,
        next_attempt_at: ctx.now,
        settled_at: settled(answer.status) ? ctx.now : null,
        updated_at: ctx.now,
      },
    ]),
  );
  return answered.map((a) => booked.get(a.op.id) ?? locked.get(a.op.id)!);
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
  // The rows as the bookings left them (or found them done), to answer without reading them again.
  const known = new Map<string, OperationRow>();
  const drive = (async () => {
    let todo = ids;
    if (!answering && ids.length > 1) {
      // Nobody waits for one answer in particular (a job's operations): all at once, a batch's
      // answers booked together; what got no answer is retried one by one below.
      try {
        await performOperations(db, deps, ids);
        todo = [];
      } catch {
        /* retried below (a booked one returns at once) */
      }
    }
    for (const id of todo) {
      // A lost database connection (or a provider that did not answer) is retried with the same
      // key while the caller still waits; after that the worker's sweep takes over.
      for (let attempt = 1; ; attempt++) {
        try {
          const row = await performOperation(db, deps, id, waiter);
          if (row) known.set(id, row);
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
  if (ids.every((id) => known.has(id))) return ids.map((id) => known.get(id)!).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
