import type { Queryable } from '../../db/client.ts';
import type { Deps } from '../context.ts';

/**
 * A client's customer at the payment provider (Stripe: a Customer), one per client — a user
 * or an organisation — made when they first save a payment method. Provider calls, so never
 * inside a transaction: the route checks the request in its transaction and calls this after
 * commit.
 */
export async function customerOf(q: Queryable, provider: string, clientId: string): Promise<string | null> {
  const [row] = await q.query<{ reference: string }>('SELECT reference FROM payment_customers WHERE provider = $1 AND client_id = $2', [provider, clientId]);
  return row?.reference ?? null;
}

export type Payer = { platformId: string; id: string; name: string; email?: string | null };

/**
 * Makes the client's customer if there is none yet (the key is the client's, so two requests at
 * once make one customer), attaches the payment method to it as its default, and answers the
 * method's id to save and charge from now on (Stripe makes a new one from a test token).
 */
export async function attachPaymentMethod(q: Queryable, deps: Deps, payer: Payer, paymentMethod: string): Promise<string> {
  const provider = deps.provider;
  let customer = await customerOf(q, provider.name, payer.id);
  if (!customer) {
    const made = await provider.ensureCustomer({ clientId: payer.id, name: payer.name, email: payer.email ?? null, idempotencyKey: `customer:${payer.platformId}:${payer.id}` });
    await q.query('INSERT INTO payment_customers (platform_id, provider, client_id, reference, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING', [
      payer.platformId, provider.name, payer.id, made.reference, deps.clock.now(),
    ]);
    customer = (await customerOf(q, provider.name, payer.id))!;
  }
  return (await provider.attachPaymentMethod({ customer, paymentMethod })).paymentMethod;
}
