import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, newUser, type TestServer } from '../support/harness.ts';
import { contractInvoices, hourlyContract, logTime, plusDays, runAt, weeks } from '../support/hourly-helpers.ts';
import { runJobs } from '../support/negotiation-helpers.ts';
import type { FakeStripe } from '../support/stripe-server.ts';
import { startWithStripe, stopWithStripe } from '../support/stripe-world.ts';

/**
 * Hourly invoices under Stripe Connect (issue 14 with issue 9): what Wednesday's payment leaves
 * the contractor — the part drawn from escrowed milestone payments and the part charged to the
 * card — goes on to the contractor's Express account as Transfers, as a milestone's release
 * does; until the account can receive them, they wait, and account.updated sends them. An
 * invoice Stripe cannot charge (under its minimum) is left past due without failing the batch.
 */
describe.each(engines())('hourly invoices under Stripe on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ s, stripe } = await startWithStripe(engine, { clientBps: 0, contractorBps: 1000 }));
  });
  afterAll(() => stopWithStripe(s, stripe));

  it('Wednesday: the escrow part and the card part each become a Transfer once the account can receive them; an amount under the minimum is past due, not a failed batch', async () => {
    const client = await newUser(s, 'client');
    const contractor = await newUser(s, 'contractor');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_visa' })).status).toBe(200);
    const p = { client, contractor };
    const c = await hourlyContract(p, { hourlyRate: 6000 });
    // An hour at 0.30: under Stripe's 0.50 minimum, so it cannot be charged.
    const tiny = await hourlyContract(p, { hourlyRate: 30 });
    const w = await weeks(s).next();
    for (const i of [0, 1, 2]) await logTime(p, c.id, w.day(i), 300);
    await logTime(p, tiny.id, w.day(0), 60);
    // 200.00 held in escrow through an accepted milestone request (a PaymentIntent of its own).
    const req = await contractor.api.post(`/v1/contracts/${c.id}/milestone-requests`, { amount: 20000, description: 'Advance' });
    expect((await client.api.post(`/v1/milestone-requests/${req.body.id}/accept`)).status).toBe(200);

    await runAt(s, plusDays(w.monday, 7));
    await runAt(s, plusDays(w.monday, 9));
    const [inv] = await contractInvoices(client.api, c.id);
    // 15 h × 60.00 = 900.00: 200.00 from escrow, 700.00 by card.
    expect(inv).toMatchObject({ status: 'paid', amount: 90000, paidFromEscrow: 20000, charged: 70000 });
    const cardPis = stripe.all('payment_intent', (pi) => pi.transfer_group === c.id && pi.amount === 70000);
    expect(cardPis).toHaveLength(1);
    // The invoice under the minimum is past due with the reason, in the same batch; no PaymentIntent was tried.
    const [small] = await contractInvoices(client.api, tiny.id);
    expect(small).toMatchObject({ status: 'past_due', amount: 30, pastDueReason: 'amount_below_minimum' });
    expect(stripe.all('payment_intent', (pi) => pi.transfer_group === tiny.id)).toEqual([]);

    // No payout account yet: both payments wait (less the contractor's 10 % fee), both parties told.
    const waiting = await s.db.query<{ amount: number; status: string; milestone_id: string | null }>(
      'SELECT amount::int AS amount, status, milestone_id FROM transfers WHERE contract_id = $1 ORDER BY amount',
      [c.id],
    );
    expect(waiting.map((t) => [t.amount, t.status, t.milestone_id === null ? 'card' : 'escrow'])).toEqual([[18000, 'waiting', 'escrow'], [63000, 'waiting', 'card']]);
    expect((await contractor.api.get('/v1/me/payout-account')).body).toMatchObject({ status: 'none', waiting: [{ currency: 'USD', amount: 81000, count: 2 }] });

    // Onboarding done: account.updated sends both, the card part from its own charge.
    expect((await contractor.api.post('/v1/me/payout-account')).status).toBe(200);
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id);
    await stripe.enableTransfers(account!.id);
    await runJobs(s);
    const transfers = stripe.all('transfer', (t) => t.destination === account!.id);
    expect(transfers.map((t) => t.amount).sort((a, b) => a - b)).toEqual([18000, 63000]);
    expect(transfers.find((t) => t.amount === 63000)).toMatchObject({ transfer_group: c.id, source_transaction: cardPis[0]!.latest_charge });
    expect((await contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 0, pending: 0 }]);
    await expectLedgerClean(s);
  });
});
