import type Stripe from 'stripe';
import type { Queryable } from '../db/client.ts';
import type { Clock } from '../domain/clock.ts';
import { fromStripeAmount } from './stripe-amounts.ts';

/**
 * Reporting: what the payment provider says happened in a period, in the provider's words made
 * neutral. Reconciliation (src/usecases/payments/reconciliation.ts) compares it with the
 * provider operations and the ledger. Read-only, and never inside a database transaction.
 */
export type ProviderObjectKind = 'charge' | 'refund' | 'transfer' | 'payout';

export type ProviderObject = {
  kind: ProviderObjectKind;
  /** The provider's id (a sandbox reference, a PaymentIntent, Refund, Transfer or Payout id). */
  id: string;
  /** Other ids the same movement is known by (a PaymentIntent's charge), matched as well. */
  aliases: string[];
  amount: number;
  /** Upper case (Stripe answers lower case). */
  currency: string;
  status: 'succeeded' | 'pending' | 'failed';
  created: Date;
  /** The idempotency key of the operation that made it, when the provider keeps it (metadata). */
  idempotencyKey: string | null;
  /**
   * Made by the provider on its own, not on our request (Stripe's automatic payouts of the
   * platform's balance): listed, but no operation of ours is expected for it.
   */
  foreign: boolean;
};

export type Period = { from: Date; to: Date };

/** A provider that can list what it did (the sandbox, Stripe). */
export interface ProviderReporting {
  listObjects(period: Period): Promise<ProviderObject[]>;
}

export const canReport = (p: object): p is ProviderReporting => typeof (p as Partial<ProviderReporting>).listObjects === 'function';

type SandboxRecord = {
  kind: ProviderObjectKind;
  id: string;
  idempotencyKey: string;
  amount: number;
  currency: string;
  status: 'succeeded' | 'pending' | 'failed';
  chargeReference?: string | null;
};

/**
 * The sandbox's own record of what it did (table `sandbox_objects`, migration 0023), kept the
 * way a real provider keeps its books: written after each call, outside any transaction of
 * ours, once per idempotency key (a repeated call is the same object). A few legacy paths still
 * call the provider inside a transaction; on the embedded database a write awaited there would
 * wait for that transaction to end, so writes are queued and the listing waits for them.
 */
export class SandboxStore {
  private writes = new Set<Promise<unknown>>();
  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
  ) {}

  record(r: SandboxRecord): void {
    const now = this.clock.now();
    this.track(
      this.db.query(
        `INSERT INTO sandbox_objects (id, kind, idempotency_key, amount, currency, status, charge_reference, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT DO NOTHING`,
        [r.id, r.kind, r.idempotencyKey, r.amount, r.currency.toUpperCase(), r.status, r.chargeReference ?? null, now],
      ),
    );
  }

  /** A charge accepted as pending reached its outcome. */
  settled(id: string, status: 'succeeded' | 'failed'): void {
    this.track(this.db.query("UPDATE sandbox_objects SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'", [id, status, this.clock.now()]));
  }

  async list(period: Period): Promise<ProviderObject[]> {
    await Promise.allSettled([...this.writes]);
    const rows = await this.db.query<{ id: string; kind: ProviderObjectKind; idempotency_key: string; amount: number; currency: string; status: ProviderObject['status']; created_at: Date }>(
      'SELECT * FROM sandbox_objects WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id',
      [period.from, period.to],
    );
    return rows.map((r) => ({
      kind: r.kind, id: r.id, aliases: [], amount: Number(r.amount), currency: r.currency, status: r.status,
      created: new Date(r.created_at), idempotencyKey: r.idempotency_key, foreign: false,
    }));
  }

  private track(p: Promise<unknown>) {
    // A write that fails (the database closing at shutdown) loses a sandbox record, not money:
    // reconciliation reports it as an operation the provider does not know.
    const w = p.catch(() => undefined).finally(() => this.writes.delete(w));
    this.writes.add(w);
  }
}

/**
 * What Stripe did in a period (the platform account): PaymentIntents (our charges), Refunds,
 * Transfers to connected accounts, and the platform's Payouts — each list filtered by
 * `created[gte]`/`created[lt]` and read to its end with the SDK's auto-pagination. Operations
 * are found again by the key the adapter puts in `metadata.tranche_operation_key`; payouts
 * Stripe makes of the platform's own balance carry none and are `foreign`.
 */
export async function listStripeObjects(stripe: Stripe, period: Period): Promise<ProviderObject[]> {
  const created = { gte: Math.floor(period.from.getTime() / 1000), lt: Math.ceil(period.to.getTime() / 1000) };
  const out: ProviderObject[] = [];
  const add = (kind: ProviderObjectKind, o: { id: string; amount: number; currency: string; created: number; metadata?: Record<string, string> | null }, status: ProviderObject['status'], aliases: (string | null | undefined)[] = []) => {
    const currency = o.currency.toUpperCase();
    const key = o.metadata?.tranche_operation_key ?? null;
    out.push({
      kind, id: o.id, aliases: aliases.filter((a): a is string => Boolean(a)), amount: fromStripeAmount(o.amount, currency), currency, status,
      created: new Date(o.created * 1000), idempotencyKey: key, foreign: kind === 'payout' && !key,
    });
  };
  for await (const pi of stripe.paymentIntents.list({ created, limit: 100 })) {
    const status = pi.status === 'succeeded' ? 'succeeded' : pi.status === 'requires_payment_method' || pi.status === 'canceled' ? 'failed' : 'pending';
    add('charge', pi, status, [typeof pi.latest_charge === 'string' ? pi.latest_charge : pi.latest_charge?.id]);
  }
  for await (const r of stripe.refunds.list({ created, limit: 100 })) {
    add('refund', r, r.status === 'succeeded' ? 'succeeded' : r.status === 'failed' || r.status === 'canceled' ? 'failed' : 'pending');
  }
  for await (const t of stripe.transfers.list({ created, limit: 100 })) add('transfer', t, 'succeeded');
  for await (const p of stripe.payouts.list({ created, limit: 100 })) add('payout', p, p.status === 'paid' ? 'succeeded' : p.status === 'failed' || p.status === 'canceled' ? 'failed' : 'pending');
  return out;
}
