import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, liveContract, newUser, type TestServer } from '../support/harness.ts';
import { activityKinds, runJobs } from '../support/negotiation-helpers.ts';
import { dbSnapshot, expectProblem, expectUnchanged } from '../support/scenario-helpers.ts';
import type { FakeStripe } from '../support/stripe-server.ts';
import { startWithStripe, stopWithStripe } from '../support/stripe-world.ts';

/**
 * The Stripe Connect adapter (issue 14, items 2 and 3) against a Stripe-compatible server the
 * test starts (test/support/stripe-server.ts; STRIPE_TEST_LIVE=1 uses Stripe's test mode
 * instead, see docs/payments.md): the product talks to it with the official SDK, and its events
 * come back signed with the SDK's test-header helper.
 */
type Op = { operation: string; purpose: string; status: string; idempotency_key: string; provider_ref: string | null; entry_reference: string | null; amount: number };
const opsOf = (s: TestServer, milestoneId: string) =>
  s.db.query<Op>('SELECT operation, purpose, status, idempotency_key, provider_ref, entry_reference, amount::int AS amount FROM provider_operations WHERE milestone_id = $1 ORDER BY created_at, id', [milestoneId]);
const kindsOf = async (s: TestServer, milestoneId: string) =>
  (await s.db.query<{ kind: string }>('SELECT kind FROM journal_entries WHERE milestone_id = $1 ORDER BY seq', [milestoneId])).map((e) => e.kind);

describe.each(engines())('Stripe Connect on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ s, stripe } = await startWithStripe(engine, { clientBps: 300, contractorBps: 500 }));
  });
  afterAll(() => stopWithStripe(s, stripe));

  /** A client with `method` saved (attached to their Stripe customer) and a contractor. */
  const parties = async (method = 'pm_card_visa') => {
    const client = await newUser(s, 'client');
    const contractor = await newUser(s, 'contractor');
    const pm = await client.api.put('/v1/me/payment-method', { paymentMethod: method });
    expect(pm.status).toBe(200);
    return { client, contractor };
  };
  const paymentIntents = (group: string) => stripe.all('payment_intent', (pi) => pi.transfer_group === group);

  it('fund: a PaymentIntent confirmed off-session on the client’s customer, with the contract as transfer group and the operation’s key', async () => {
    const p = await parties();
    // The test token was attached to a customer of the client and saved as the method Stripe made of it.
    const [customer] = stripe.all('customer', (c) => c.metadata.tranche_client === p.client.id);
    const saved = (await p.client.api.get('/v1/me')).body.user.defaultPaymentMethod as string;
    expect(saved).toMatch(/^pm_1/);
    expect(customer!.invoice_settings.default_payment_method).toBe(saved);
    expect(stripe.get(saved)).toMatchObject({ customer: customer!.id });

    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    const f = await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `fund-${m}` });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', fundingPending: false, inEscrow: 10000 });
    const [op] = await opsOf(s, m);
    expect(op).toMatchObject({ operation: 'charge', status: 'succeeded', amount: 10300 });
    const pis = paymentIntents(c.id);
    expect(pis).toHaveLength(1);
    expect(pis[0]).toMatchObject({ id: op!.provider_ref, amount: 10300, currency: 'usd', customer: customer!.id, payment_method: saved, status: 'succeeded', metadata: { tranche_operation_key: op!.idempotency_key } });
    expect(stripe.requests.filter((r) => r.path === '/v1/payment_intents')).toEqual([expect.objectContaining({ method: 'POST', idempotencyKey: op!.idempotency_key, status: 200 })]);
    // A retry of the command replays its answer: no second PaymentIntent.
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `fund-${m}` })).headers.get('idempotent-replayed')).toBe('true');
    expect(paymentIntents(c.id)).toHaveLength(1);
    expect(await kindsOf(s, m)).toEqual(['escrow_funding']);
    await expectLedgerClean(s);
  });

  it('a decline is 402 payment_declined and changes nothing; a card Stripe refuses to attach is refused as well', async () => {
    const p = await parties('pm_card_chargeCustomerFail');
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    let before = await dbSnapshot(s);
    const declined = await p.client.api.post(`/v1/milestones/${m}/fund`);
    expectProblem(declined, 402, 'payment_declined');
    expect(declined.body.declineCode).toBe('generic_decline');
    await expectUnchanged(s, before);
    // A test token named for one charge, with its own decline code.
    const insufficient = await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds' });
    expectProblem(insufficient, 402, 'payment_declined');
    expect(insufficient.body.declineCode).toBe('insufficient_funds');
    await expectUnchanged(s, before);
    expect(paymentIntents(c.id).map((pi) => pi.status)).toEqual(['requires_payment_method', 'requires_payment_method']);
    expect(await activityKinds(p.client.api, c.id)).not.toContain('milestone.funding_failed');
    // Saving a card Stripe declines when attaching: 402, the saved method unchanged.
    before = await dbSnapshot(s);
    const saved = (await p.client.api.get('/v1/me')).body.user.defaultPaymentMethod;
    expectProblem(await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_chargeDeclined' }), 402, 'payment_declined');
    expect((await p.client.api.get('/v1/me')).body.user.defaultPaymentMethod).toBe(saved);
    // A good card next: funded, a new operation with a new key.
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_mastercard' })).status).toBe(200);
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['failed', 'failed', 'succeeded']);
    await expectLedgerClean(s);
  });

  it('Stripe’s minimum charge is a 422 before anything is written; a zero-decimal currency is charged as is', async () => {
    const p = await parties();
    // 0.40 CHF with its 3 % fee (1): the escrow policy allows it, Stripe's 0.50 CHF minimum does not.
    const small = await liveContract(s, p, 'sequential_escrow', [{ title: 'Tiny', amount: 40 }], { currency: 'CHF' });
    const m = small.milestones[0].id as string;
    const before = await dbSnapshot(s);
    const requests = stripe.requests.length;
    const r = await p.client.api.post(`/v1/milestones/${m}/fund`);
    expectProblem(r, 422, 'amount_below_minimum');
    expect(r.body).toMatchObject({ minimum: 50, currency: 'CHF' });
    await expectUnchanged(s, before);
    expect(stripe.requests.length).toBe(requests);
    expect(await opsOf(s, m)).toEqual([]);

    const yen = await liveContract(s, p, 'sequential_escrow', [{ title: 'Yen', amount: 5000 }], { currency: 'JPY' });
    expect((await p.client.api.post(`/v1/milestones/${yen.milestones[0].id}/fund`)).status).toBe(200);
    // 5,000 JPY and the 3 % fee (150 JPY): Stripe's amount is the minor-unit amount.
    expect(paymentIntents(yen.id)).toEqual([expect.objectContaining({ amount: 5150, currency: 'jpy', status: 'succeeded' })]);
    await expectLedgerClean(s);
  });

  it('a refund is a Refund of the milestone’s PaymentIntent, booked with Stripe’s answer', async () => {
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 20000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const r = await p.contractor.api.post(`/v1/milestones/${m}/refund`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'refunded', inEscrow: 0 });
    const ops = await opsOf(s, m);
    expect(ops.map((o) => [o.operation, o.status, o.amount])).toEqual([['charge', 'succeeded', 20600], ['refund', 'succeeded', 20600]]);
    const [pi] = paymentIntents(c.id);
    expect(stripe.all('refund', (x) => x.payment_intent === pi!.id)).toEqual([expect.objectContaining({ id: ops[1]!.provider_ref, amount: 20600, status: 'succeeded', metadata: { tranche_operation_key: ops[1]!.idempotency_key } })]);
    expect(stripe.get(pi!.latest_charge)).toMatchObject({ refunded: true, amount_refunded: 20600 });
    expect(await kindsOf(s, m)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    // Stripe's charge.refunded for it, delivered (twice): nothing more is booked.
    const refunded = stripe.eventsOf('charge.refunded').find((e) => e.data.object.id === pi!.latest_charge)!;
    expect((await stripe.send(refunded)).status).toBe(200);
    expect((await stripe.replay(refunded.id)).body).toEqual({ received: true, duplicate: true });
    await runJobs(s);
    expect(await kindsOf(s, m)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    await expectLedgerClean(s);
  });

  it('a release waits for the contractor’s Express account (both told why) and becomes a Transfer once account.updated says it can receive money', async () => {
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Build', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);

    // No account yet: the release (less the 5 % fee) waits in the balance, the payment processing.
    const [payment] = await s.db.query<{ id: string; status: string; amount: number; fee: number }>('SELECT id, status, amount::int AS amount, fee::int AS fee FROM payments WHERE milestone_id = $1', [m]);
    expect(payment).toMatchObject({ status: 'processing', amount: 10000, fee: 500 });
    expect(await activityKinds(p.client.api, c.id)).toContain('payment.transfer_waiting');
    for (const who of [p.client, p.contractor]) {
      const n = (await who.api.get('/v1/notifications')).body.data as { kind: string; data: Record<string, unknown> }[];
      expect(n.find((x) => x.kind === 'payment.transfer_waiting')).toMatchObject({ data: { reason: 'no_payout_account', amount: 9500 } });
    }
    expect((await p.contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 9500, pending: 0 }]);
    expect((await p.contractor.api.get('/v1/me/payout-account')).body).toMatchObject({ status: 'none', url: null, waiting: [{ currency: 'USD', amount: 9500, count: 1 }] });
    // With Stripe, the provider pays the account out: no payout from the balance.
    expectProblem(await p.contractor.api.post('/v1/payouts', { amount: 100, currency: 'USD' }), 409, 'invalid_state');

    // The onboarding link: one Express account, asking for transfers.
    const open = await p.contractor.api.post('/v1/me/payout-account', {}, { 'idempotency-key': `acct-${p.contractor.id}` });
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({ status: 'onboarding', transfersEnabled: false });
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === p.contractor.id);
    expect(account).toMatchObject({ type: 'express', capabilities: { transfers: 'inactive' } });
    expect(open.body.url).toMatch(new RegExp(`^${stripe.url}/setup/e/${account!.id}/`));
    expect((await p.contractor.api.post('/v1/me/payout-account')).status).toBe(200);
    expect(stripe.all('account', (a) => a.metadata.tranche_contractor === p.contractor.id)).toHaveLength(1);
    expect(stripe.all('transfer', (t) => t.destination === account!.id)).toEqual([]);

    // Onboarding done: Stripe's account.updated, stored at once and applied by the worker.
    const { event, delivery } = await stripe.enableTransfers(account!.id);
    expect(delivery).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect(stripe.all('transfer', (t) => t.destination === account!.id)).toEqual([]);
    await runJobs(s);
    const [pi] = paymentIntents(c.id);
    const transfers = stripe.all('transfer', (t) => t.destination === account!.id);
    expect(transfers).toEqual([expect.objectContaining({ amount: 9500, currency: 'usd', transfer_group: c.id, source_transaction: pi!.latest_charge })]);
    expect((await s.db.query('SELECT status FROM payments WHERE id = $1', [payment!.id]))[0]).toEqual({ status: 'paid' });
    expect(await kindsOf(s, m)).toEqual(['escrow_funding', 'escrow_release', 'transfer_requested', 'transfer_paid']);
    // Landed in the connected account: nothing left here; the platform keeps its fees.
    expect((await p.contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 0, pending: 0 }]);
    expect((await p.contractor.api.get('/v1/me/payout-account')).body).toMatchObject({ status: 'enabled', transfersEnabled: true, waiting: [] });

    // The same event again, and an older one (onboarding not done) arriving late: nothing more.
    expect((await stripe.replay(event.id)).body).toEqual({ received: true, duplicate: true });
    const stale = { ...event, id: `${event.id}_stale`, created: event.created - 60, data: { object: { ...event.data.object, capabilities: { transfers: 'inactive' } } } };
    expect((await stripe.send(stale)).status).toBe(200);
    await runJobs(s);
    expect(stripe.all('transfer', (t) => t.destination === account!.id)).toHaveLength(1);
    expect((await p.contractor.api.get('/v1/me/payout-account')).body.status).toBe('enabled');

    // A later release goes at once.
    const c2 = await liveContract(s, p, 'sequential_escrow', [{ title: 'More', amount: 4000 }]);
    const m2 = c2.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m2}/fund`)).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m2}/approve`)).status).toBe(200);
    expect(stripe.all('transfer', (t) => t.transfer_group === c2.id)).toEqual([expect.objectContaining({ amount: 3800, destination: account!.id })]);
    await expectLedgerClean(s);
  });

  it('replayed and out-of-order events change nothing twice (a processing charge, a reversed transfer, a failed payout)', async () => {
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Slow', amount: 8000 }]);
    const m = c.milestones[0].id as string;
    stripe.processNext();
    const f = await p.client.api.post(`/v1/milestones/${m}/fund`);
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', fundingPending: true });
    const [pi] = paymentIntents(c.id);
    expect(pi!.status).toBe('processing');
    const processing = stripe.eventsOf('payment_intent.processing').find((e) => e.data.object.id === pi!.id)!;
    const succeeded = stripe.settlePaymentIntent(pi!.id, 'succeeded');
    // Out of order (succeeded before processing), and each twice.
    const answers = await stripe.deliver([succeeded, processing, succeeded, processing]);
    expect(answers.map((a) => (a.body as { duplicate: boolean }).duplicate)).toEqual([false, false, true, true]);
    await runJobs(s);
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['succeeded']);
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'funded', fundingPending: false, inEscrow: 8000 });
    expect(await kindsOf(s, m)).toEqual(['escrow_funding']);
    const applied = await s.db.query<{ type: string; outcome: string }>('SELECT type, outcome FROM provider_events WHERE event_id = ANY($1) ORDER BY type', [[succeeded.id, processing.id]]);
    expect(applied).toEqual([
      { type: 'payment_intent.processing', outcome: `${pi!.id}: already succeeded` },
      { type: 'payment_intent.succeeded', outcome: `${pi!.id}: succeeded` },
    ]);

    // A transfer the platform reverses in two steps; the events come late, twice and out of order.
    const open = await p.contractor.api.post('/v1/me/payout-account');
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === p.contractor.id);
    expect(open.body.status).toBe('onboarding');
    await stripe.enableTransfers(account!.id);
    await runJobs(s);
    expect((await p.client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    const [transfer] = stripe.all('transfer', (t) => t.transfer_group === c.id);
    expect(transfer).toMatchObject({ amount: 7600 });
    const first = stripe.reverseTransfer(transfer!.id, 2000);
    const second = stripe.reverseTransfer(transfer!.id);
    await stripe.deliver([second, first, second, first]);
    await runJobs(s);
    expect((await s.db.query<{ kind: string }>("SELECT kind FROM journal_entries WHERE milestone_id = $1 AND kind = 'transfer_reversed'", [m])).length).toBe(1);
    expect((await p.contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 7600, pending: 0 }]);
    expect(await activityKinds(p.client.api, c.id)).toContain('payment.transfer_reversed');

    // A payout of the account to the bank failed: the contractor sees it; an older failure never replaces a newer one.
    const older = stripe.failPayout(account!.id, 1000, 'usd', 'no_account');
    const newer = stripe.failPayout(account!.id, 3000, 'usd', 'account_closed');
    await stripe.deliver([{ ...newer, created: older.created + 1, data: { object: { ...newer.data.object, created: older.created + 1 } } }, older]);
    await runJobs(s);
    expect((await p.contractor.api.get('/v1/me/payout-account')).body.lastPayoutFailure).toEqual({ amount: 3000, currency: 'USD', code: 'account_closed', message: 'The bank account has been closed.' });
    await expectLedgerClean(s);
  });

  it('charge.dispute.created / closed reach the chargebacks (amounts in minor units, found by the PaymentIntent), once', async () => {
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Disputed', amount: 6000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_createDispute' })).status).toBe(200);
    const [pi] = paymentIntents(c.id);
    const opened = stripe.eventsOf('charge.dispute.created').find((e) => e.data.object.payment_intent === pi!.id)!;
    await stripe.deliver([opened, opened]);
    await runJobs(s);
    const list = (await s.admin.get('/v1/admin/chargebacks')).body.data as { status: string; amount: number; milestoneId: string | null }[];
    expect(list.filter((x) => x.milestoneId === m)).toEqual([expect.objectContaining({ status: 'open', amount: 6180 })]);
    expectProblem(await p.client.api.post(`/v1/milestones/${m}/approve`), 409, 'escrow_frozen');
    const won = stripe.record('charge.dispute.closed', { ...opened.data.object, status: 'won' });
    await stripe.deliver([won, opened, won]);
    await runJobs(s);
    expect(((await s.admin.get('/v1/admin/chargebacks')).body.data as { status: string; milestoneId: string | null }[]).filter((x) => x.milestoneId === m)).toEqual([
      expect.objectContaining({ status: 'won' }),
    ]);
    await expectLedgerClean(s);
  });

  it('an event whose signature does not verify is a 400 problem and is not stored', async () => {
    const p = await parties();
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'X', amount: 5000 }]);
    expect((await p.client.api.post(`/v1/milestones/${c.milestones[0].id}/fund`)).status).toBe(200);
    const event = stripe.eventsOf('payment_intent.succeeded').at(-1)!;
    const count = async () => (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_events'))[0]!.n;
    const stored = await count();
    const refused = [
      await stripe.send(event, { secret: 'whsec_someoneElsesSecret' }),
      await stripe.send(event, { payload: JSON.stringify({ ...event, type: 'payment_intent.payment_failed' }), signature: undefined, secret: 'whsec_x' }),
      await stripe.send(event, { signature: 't=1,v1=00' }),
    ];
    // The body altered after signing.
    const body = JSON.stringify(event, null, 2);
    const { default: Stripe } = await import('stripe');
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripe.webhookSecret });
    refused.push(await stripe.send(event, { payload: body.replace('"livemode": false', '"livemode": true'), signature: header }));
    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'malformed_request' });
    }
    const noHeader = await fetch(stripe.webhookUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(noHeader.status).toBe(400);
    expect(await count()).toBe(stored);
    // Signed with the right secret: stored.
    expect((await stripe.send(event)).status).toBe(200);
    expect(await count()).toBe(stored + 1);
  });
});
