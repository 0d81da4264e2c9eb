import { startTestServer, type TestServer } from './harness.ts';
import { FakeStripe } from './stripe-server.ts';

/**
 * A Stripe-compatible server and a product server configured for it (TRANCHE_PAYMENTS=stripe,
 * STRIPE_API_BASE at the fake), with the fake's events delivered to the product's webhook route.
 */
export async function startWithStripe(engine: 'pglite' | 'postgres', fees?: { clientBps: number; contractorBps: number }): Promise<{ s: TestServer; stripe: FakeStripe }> {
  const stripe = await FakeStripe.start();
  const s = await startTestServer(engine, stripe.env());
  stripe.webhookUrl = `${s.url}/v1/providers/stripe/webhooks`;
  if (fees) await s.admin.patch('/v1/admin/platform', { fees });
  return { s, stripe };
}

export async function stopWithStripe(s: TestServer | undefined, stripe: FakeStripe | undefined): Promise<void> {
  await s?.stop();
  await stripe?.stop();
}
