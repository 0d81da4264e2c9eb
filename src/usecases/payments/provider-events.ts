import type { Db, Queryable, Tx } from '../../db/client.ts';
import { fromStripeAmount } from '../../payments/stripe-amounts.ts';
import { accountStatusOf, refundOutcome } from '../../payments/stripe.ts';
import type { Deps, Principal, UseCaseCtx } from '../context.ts';
import { applyChargebackClosed, applyChargebackCreated, type DisputeObject } from './chargebacks.ts';
import type { OperationRow } from './operations.ts';
import { applyAccountStatus, recordPayoutFailure, recordProviderPayout } from './payout-accounts.ts';
import { awaitOperations, bookAnswer, type ProviderAnswer } from './perform-operation.ts';
import { applyTransferReversal } from './transfers.ts';

/**
 * Inbound provider events (issue 14, item 3). The webhook route verifies an event and stores it
 * once by the provider's id (a redelivery is the same row) and answers at once; the worker
 * applies stored events, oldest first, each in a transaction of its own. Applying reads the state
 * it would change — an operation already booked, a reversal amount already known, an account
 * state newer than the event — so a replayed or late event changes nothing twice; an event that
 * fails to apply is retried with backoff.
 */
export type ProviderEvent = { id: string; type: string; created?: number; account?: string; data: { object: Record<string, any> } };

/** Stores a verified event unless it is already stored; true when it is new. */
export async function storeProviderEvent(q: Queryable, provider: string, event: ProviderEvent, now: Date): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO provider_events (provider, event_id, type, payload, received_at, next_attempt_at) VALUES ($1,$2,$3,$4::jsonb,$5,$5)
     ON CONFLICT (provider, event_id) DO NOTHING RETURNING 1`,
    [provider, event.id, event.type, JSON.stringify(event), now],
  );
  return rows.length > 0;
}

const backoffMs = (attempts: number) => Math.min(3_600_000, 1000 * 2 ** attempts);

/** Applies the stored events that are due, oldest first; returns how many were applied. */
export async function applyDueProviderEvents(db: Db, deps: Deps, max = 100): Promise<number> {
  const due = await db.query<{ provider: string; event_id: string }>(
    'SELECT provider, event_id FROM provider_events WHERE applied_at IS NULL AND next_attempt_at <= $1 ORDER BY received_at, event_id LIMIT $2',
    [deps.clock.now(), max],
  );
  let applied = 0;
  for (const e of due) {
    const operations: string[] = [];
    try {
      const done = await db.tx(async (tx) => {
        operations.length = 0;
        const [row] = await tx.query<{ payload: ProviderEvent }>(
          'SELECT payload FROM provider_events WHERE provider = $1 AND event_id = $2 AND applied_at IS NULL FOR UPDATE SKIP LOCKED',
          [e.provider, e.event_id],
        );
        if (!row) return false;
        const now = deps.clock.now();
        const outcome = await applyEvent(tx, deps, now, operations, row.payload);
        await tx.query('UPDATE provider_events SET applied_at = $3, outcome = $4, attempts = attempts + 1, last_error = NULL WHERE provider = $1 AND event_id = $2', [
          e.provider, e.event_id, now, outcome.slice(0, 1000),
        ]);
        return true;
      });
      if (done) applied++;
    } catch (err) {
      const now = deps.clock.now();
      await db.query(
        'UPDATE provider_events SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4 WHERE provider = $1 AND event_id = $2',
        [e.provider, e.event_id, String((err as Error)?.message ?? err).slice(0, 1000), new Date(now.getTime() + backoffMs(1))],
      );
      continue;
    }
    // The provider calls the event requested (transfers an account can now receive), after commit.
    if (operations.length) await awaitOperations(db, deps, operations, false).catch(() => undefined);
  }
  return applied;
}

const system = (platformId: string): Principal => ({ platformId, userId: null, viaAdmin: true, key: 'system' });

/** The one platform an event of no operation of ours belongs to: the default one. */
async function defaultPlatform(tx: Tx): Promise<string> {
  const [p] = await tx.query<{ id: string }>('SELECT id FROM platforms ORDER BY is_default DESC, created_at LIMIT 1');
  return p!.id;
}

/** What an event does (Stripe's types; others are stored and ignored). Returns what it did, for the row. */
async function applyEvent(tx: Tx, deps: Deps, now: Date, operations: string[], event: ProviderEvent): Promise<string> {
  const object = event.data.object;
  const ctxFor = (platformId: string): UseCaseCtx => ({ tx, principal: system(platformId), deps, now, operations });
  switch (event.type) {
    case 'payment_intent.succeeded':
      return settleOperation(tx, ctxFor, 'charge', object, { status: 'succeeded', reference: object.id });
    case 'payment_intent.processing':
      return settleOperation(tx, ctxFor, 'charge', object, { status: 'processing', reference: object.id });
    case 'payment_intent.payment_failed':
      return settleOperation(tx, ctxFor, 'charge', object, {
        status: 'failed',
        code: object.last_payment_error?.decline_code ?? object.last_payment_error?.code ?? 'payment_failed',
        reference: object.id,
      });
    case 'charge.refunded': {
      // Refunds answer when made; this books one whose answer a crash cut off.
      const refunds: Record<string, any>[] = object.refunds?.data ?? [];
      const outcomes = [];
      for (const r of refunds) outcomes.push(await settleOperation(tx, ctxFor, 'refund', r, refundAnswer(r)));
      return outcomes.join('; ') || 'no refunds listed';
    }
    // A refund Stripe answered `pending` ends here (or in the sweep, retrieving it), as does one it failed later.
    case 'refund.updated':
    case 'refund.failed':
    case 'charge.refund.updated':
      return settleOperation(tx, ctxFor, 'refund', object, refundAnswer(object));
    case 'account.updated':
      return applyAccountStatus(ctxFor(await defaultPlatform(tx)), object.id, accountStatusOf(object as never), event.created ?? null);
    case 'transfer.reversed':
      return applyTransferReversal(ctxFor(await defaultPlatform(tx)), object.id, fromStripeAmount(Number(object.amount_reversed), String(object.currency).toUpperCase()));
    // A connected account's payouts to the contractor's bank: one row each, as its newest event said (issue 14, item 5).
    case 'payout.created':
    case 'payout.updated':
    case 'payout.paid':
    case 'payout.canceled':
    case 'payout.failed': {
      if (!event.account) return 'a payout of the platform, not of a connected account';
      const ctx = ctxFor(await defaultPlatform(tx));
      const currency = String(object.currency).toUpperCase();
      const amount = fromStripeAmount(Number(object.amount), currency);
      const recorded = await recordProviderPayout(ctx, event.account, {
        id: object.id, amount, currency, status: String(object.status ?? event.type.slice('payout.'.length)),
        arrivalDate: object.arrival_date == null ? null : Number(object.arrival_date), created: Number(object.created ?? event.created ?? 0), failureCode: object.failure_code ?? null,
      }, Number(event.created ?? object.created ?? 0));
      if (event.type !== 'payout.failed') return recorded;
      return recordPayoutFailure(ctx, event.account, {
        id: object.id, amount, currency, code: object.failure_code ?? null, message: object.failure_message ?? null, at: now.toISOString(),
      }, Number(object.created ?? event.created ?? 0));
    }
    case 'charge.dispute.created':
    case 'charge.dispute.closed': {
      const dispute: DisputeObject = { ...(object as DisputeObject), amount: fromStripeAmount(Number(object.amount), String(object.currency).toUpperCase()), currency: String(object.currency).toUpperCase() };
      const refs = [object.payment_intent, object.charge].map((x) => (typeof x === 'string' ? x : x?.id)).filter((x): x is string => Boolean(x));
      const [op] = await tx.query<{ platform_id: string }>("SELECT platform_id FROM provider_operations WHERE operation = 'charge' AND provider_ref = ANY($1) LIMIT 1", [refs]);
      const ctx = ctxFor(op?.platform_id ?? (await defaultPlatform(tx)));
      const cb = event.type === 'charge.dispute.created' ? await applyChargebackCreated(ctx, { id: event.id, data: { object: dispute } }) : await applyChargebackClosed(ctx, { id: event.id, data: { object: dispute } });
      return `chargeback ${cb.id} ${cb.status}`;
    }
    default:
      return 'ignored';
  }
}

/** A Refund as the answer to its operation: made, failed (its failure_reason), or still pending. */
function refundAnswer(r: Record<string, any>): ProviderAnswer {
  const outcome = refundOutcome(r as { status: string | null });
  if (outcome === 'failed') return { status: 'failed', code: r.failure_reason ?? r.status ?? 'refund_failed', reference: r.id };
  return { status: outcome === 'pending' ? 'processing' : 'succeeded', reference: r.id };
}

/**
 * A PaymentIntent's or Refund's outcome, for the operation that made it (found by the provider's
 * reference, or by the operation's key in its metadata when a crash cut off the call's answer):
 * booked as the call's answer would have been, unless the operation is already final.
 */
async function settleOperation(
  tx: Tx,
  ctxFor: (platformId: string) => UseCaseCtx,
  operation: 'charge' | 'refund',
  object: Record<string, any>,
  answer: ProviderAnswer | null,
): Promise<string> {
  const key = typeof object.metadata?.tranche_operation_key === 'string' ? object.metadata.tranche_operation_key : null;
  const [op] = await tx.query<OperationRow>(
    'SELECT * FROM provider_operations WHERE operation = $1 AND (provider_ref = $2 OR ($3::text IS NOT NULL AND idempotency_key = $3)) ORDER BY created_at LIMIT 1',
    [operation, object.id, key],
  );
  if (!op) return `${object.id}: no operation of ours`;
  if (!answer) return `${object.id}: nothing final yet`;
  if (op.status === 'succeeded' || op.status === 'failed') return `${object.id}: already ${op.status}`;
  if (op.status === 'processing' && answer.status === 'processing') return `${object.id}: already processing`;
  const booked = await bookAnswer(ctxFor(op.platform_id), op.id, answer);
  return `${object.id}: ${booked?.status ?? 'gone'}`;
}
