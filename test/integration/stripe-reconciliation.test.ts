import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, liveContract, newUser, type TestServer } from '../support/harness.ts';
import { runJobs } from '../support/negotiation-helpers.ts';
import { expectProblem } from '../support/scenario-helpers.ts';
import type { FakeStripe, StripeEvent } from '../support/stripe-server.ts';
import { startWithStripe, stopWithStripe } from '../support/stripe-world.ts';

/**
 * Reconciliation and chargebacks with Stripe (issue 14, items 3 and 4), against the
 * Stripe-compatible server the tests start (test/support/stripe-server.ts): the product lists
 * PaymentIntents, Refunds, Transfers and Payouts with the official SDK (created[gte]/[lt],
 * auto-pagination) and compares them with its operations and ledger; chargebacks arrive as
 * signed charge.dispute.* events.
 */
describe.each(engines())('reconciliation and chargebacks with Stripe, on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ s, stripe } = await startWithStripe(engine, { clientBps: 300, contractorBps: 500 }));
  });
  afterAll(() => stopWithStripe(s, stripe));

  const parties = async (method = 'pm_card_visa') => {
    const client = await newUser(s, 'client');
    const contractor = await newUser(s, 'contractor');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: method })).status).toBe(200);
    return { client, contractor };
  };
  /** Whole seconds, as Stripe's `created`, a little before now. */
  const secondAgo = () => new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  const reconcile = async (from: Date) => {
    await new Promise((r) => setTimeout(r, 1100)); // `to` after the last object's second
    return s.admin.post('/v1/admin/reconciliations', { from: from.toISOString(), to: new Date().toISOString() });
  };

  it('a clean period finds nothing; a PaymentIntent nobody asked for is reported', async () => {
    const from = secondAgo();
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }, { title: 'Build', amount: 4000 }]);
    const [m1, m2] = c.milestones.map((m: { id: string }) => m.id) as [string, string];
    expect((await p.client.api.post(`/v1/milestones/${m1}/fund`)).status).toBe(200);
    expect((await p.contractor.api.post(`/v1/milestones/${m1}/refund`)).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m2}/fund`)).status).toBe(200);
    const clean = await reconcile(from);
    expect(clean.status, JSON.stringify(clean.body)).toBe(201);
    expect(clean.body).toMatchObject({ provider: 'stripe', status: 'completed', differenceCount: 0, providerObjects: 3, operations: 3 });
    // The SDK's list calls, each filtered by created.
    const lists = stripe.requests.filter((r) => r.method === 'GET' && /^\/v1\/(payment_intents|refunds|transfers|payouts)$/.test(r.path));
    expect(new Set(lists.map((r) => r.path))).toEqual(new Set(['/v1/payment_intents', '/v1/refunds', '/v1/transfers', '/v1/payouts']));

    const from2 = secondAgo();
    const orphan = stripe.plant('payment_intent', { amount: 777, currency: 'usd', status: 'succeeded', metadata: {} });
    const found = await reconcile(from2);
    expect(found.status).toBe(201);
    expect(found.body).toMatchObject({ differenceCount: 1, differences: [{ kind: 'provider_object_without_operation', objectKind: 'charge', providerRef: orphan.id, operationId: null }] });
    expect(found.body.differences[0].detail.provider).toMatchObject({ amount: 777, currency: 'USD', status: 'succeeded' });
    const [stored] = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM reconciliation_runs WHERE id = $1 AND differences = 1", [found.body.id]);
    expect(stored!.n).toBe(1);
    // The same period again: the same report.
    const again = await s.admin.post('/v1/admin/reconciliations', { from: found.body.periodStart, to: found.body.periodEnd });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(found.body.id);
    await expectLedgerClean(s);
  });

  it('a chargeback: charge.dispute.created freezes the escrow, replays change nothing, charge.dispute.closed (lost) is one entry', async () => {
    const p = await parties('pm_card_createDispute');
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const [op] = await s.db.query<{ provider_ref: string }>("SELECT provider_ref FROM provider_operations WHERE milestone_id = $1 AND status = 'succeeded'", [m]);
    const created = stripe.eventsOf('charge.dispute.created').find((e) => e.data.object.payment_intent === op!.provider_ref)!;
    expect(created).toBeDefined();
    expect((await stripe.send(created)).status).toBe(200);
    await runJobs(s);
    const [cb] = (await s.admin.get('/v1/admin/chargebacks?limit=100')).body.data.filter((x: { milestoneId: string }) => x.milestoneId === m);
    expect(cb).toMatchObject({ provider: 'stripe', status: 'open', amount: 10300, currency: 'USD', disputeId: created.data.object.id });
    expectProblem(await p.contractor.api.post(`/v1/milestones/${m}/refund`), 409, 'escrow_frozen');
    await expectLedgerClean(s);

    // Replayed: nothing twice.
    expect((await stripe.replay(created.id)).status).toBe(200);
    await runJobs(s);
    expect((await s.admin.get('/v1/admin/chargebacks?limit=100')).body.data.filter((x: { milestoneId: string }) => x.milestoneId === m)).toHaveLength(1);

    const closed: StripeEvent = stripe.record('charge.dispute.closed', { ...created.data.object, status: 'lost' });
    expect((await stripe.send(closed)).status).toBe(200);
    await runJobs(s);
    expect((await stripe.replay(closed.id)).status).toBe(200);
    await runJobs(s);
    expect((await s.admin.get(`/v1/admin/chargebacks/${cb.id}`)).body).toMatchObject({ status: 'lost', fromEscrow: 10000, feeBack: 300, platformLoss: 0 });
    const entries = await s.db.query<{ kind: string }>('SELECT kind FROM journal_entries WHERE reference = $1', [`chargeback:${cb.id}`]);
    expect(entries).toEqual([{ kind: 'chargeback_lost' }]);
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'refunded', inEscrow: 0 });
    await expectLedgerClean(s);
  });

  it('a dispute closed before it was opened (events out of order): recorded once, the late opening changes nothing', async () => {
    const p = await parties('pm_card_createDispute');
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 6000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const [op] = await s.db.query<{ provider_ref: string }>("SELECT provider_ref FROM provider_operations WHERE milestone_id = $1 AND status = 'succeeded'", [m]);
    const created = stripe.eventsOf('charge.dispute.created').find((e) => e.data.object.payment_intent === op!.provider_ref)!;
    const closed = stripe.record('charge.dispute.closed', { ...created.data.object, status: 'won' });
    await stripe.deliver([closed, created]);
    await runJobs(s);
    const mine = (await s.admin.get('/v1/admin/chargebacks?limit=100')).body.data.filter((x: { milestoneId: string }) => x.milestoneId === m);
    expect(mine).toMatchObject([{ status: 'won' }]);
    const [frozen] = await s.db.query<{ escrow_frozen_by: string | null }>('SELECT escrow_frozen_by FROM milestones WHERE id = $1', [m]);
    expect(frozen!.escrow_frozen_by).toBeNull();
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'funded', inEscrow: 6000 });
    await expectLedgerClean(s);
  });
});
