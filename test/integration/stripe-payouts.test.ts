import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, newUser, type TestServer } from '../support/harness.ts';
import { runJobs } from '../support/negotiation-helpers.ts';
import type { FakeStripe } from '../support/stripe-server.ts';
import { startWithStripe, stopWithStripe } from '../support/stripe-world.ts';

/**
 * Stripe's payouts (issue 14, item 5): transfers land in the contractor's Express account and
 * Stripe pays the account out to their bank; its payout.created/updated/paid/canceled/failed
 * events keep one row per payout, as its newest event said, shown to the contractor in
 * `GET /v1/me/payout-account`. A late older event, a redelivery and the same event again under
 * another id change nothing; nobody else sees the payout; nothing of ours moves.
 */
describe.each(engines())('Stripe payouts shown to the contractor on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ s, stripe } = await startWithStripe(engine));
  });
  afterAll(() => stopWithStripe(s, stripe));

  type Payout = { id: string; amount: number; currency: string; status: string; arrivalDate: string | null };
  const rowsOf = (payoutId: string) => s.db.query('SELECT * FROM provider_payouts WHERE payout_id = $1', [payoutId]);
  const outcomeOf = async (eventId: string) => (await s.db.query<{ outcome: string }>('SELECT outcome FROM provider_events WHERE event_id = $1', [eventId]))[0]?.outcome;

  it('created then paid is one paid payout; a late older event, a redelivery and a replay change nothing; another contractor sees none', async () => {
    const contractor = await newUser(s, 'contractor');
    const other = await newUser(s, 'contractor');
    expect((await contractor.api.post('/v1/me/payout-account')).status).toBe(200);
    expect((await other.api.post('/v1/me/payout-account')).status).toBe(200);
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id);
    const payouts = async (api: TestServer['admin']) => {
      const res = await api.get('/v1/me/payout-account');
      expect(res.status).toBe(200);
      return res.body.payouts as Payout[];
    };
    expect(await payouts(contractor.api)).toEqual([]);

    const created = stripe.createPayout(account!.id, 12345, 'usd');
    const po = created.data.object;
    expect((await stripe.send(created)).body).toEqual({ received: true, duplicate: false });
    await runJobs(s);
    const arrivalDate = new Date(po.arrival_date * 1000).toISOString();
    expect(await payouts(contractor.api)).toEqual([{ id: po.id, amount: 12345, currency: 'USD', status: 'pending', arrivalDate }]);

    const paid = stripe.settlePayout(po.id, 'paid');
    await stripe.send(paid);
    await runJobs(s);
    expect(await payouts(contractor.api)).toEqual([{ id: po.id, amount: 12345, currency: 'USD', status: 'paid', arrivalDate }]);
    expect(await rowsOf(po.id)).toHaveLength(1);
    const [settled] = await rowsOf(po.id);

    // payout.created under another event id, older than payout.paid, arriving after it: still paid.
    const late = stripe.record('payout.created', { ...po, status: 'pending' }, { account: account!.id });
    await stripe.send({ ...late, created: paid.created - 60 });
    // payout.paid redelivered (the same event id): stored once.
    expect((await stripe.replay(paid.id)).body).toEqual({ received: true, duplicate: true });
    // payout.paid again under another event id (the same time): applied, the row as it was.
    const again = stripe.record('payout.paid', paid.data.object, { account: account!.id });
    await stripe.send({ ...again, created: paid.created });
    await runJobs(s);
    expect(await outcomeOf(late.id)).toBe(`payout ${po.id}: older than or the same as what we know`);
    expect(await outcomeOf(again.id)).toBe(`payout ${po.id}: older than or the same as what we know`);
    expect(await rowsOf(po.id)).toEqual([settled]);
    expect(await payouts(contractor.api)).toEqual([{ id: po.id, amount: 12345, currency: 'USD', status: 'paid', arrivalDate }]);

    // Another contractor does not see it; nothing of ours moved.
    expect(await payouts(other.api)).toEqual([]);
    expect((await contractor.api.get('/v1/me/balance')).body.data).toEqual([]);
    await expectLedgerClean(s);
  });

  it('amounts in our minor units (ISK), newest first, in transit and failed', async () => {
    const contractor = await newUser(s, 'contractor');
    expect((await contractor.api.post('/v1/me/payout-account')).status).toBe(200);
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id);

    // Stripe counts ISK in hundredths: 50000 is 500 ISK, ours is zero-decimal.
    const first = stripe.createPayout(account!.id, 50000, 'isk');
    const second = stripe.createPayout(account!.id, 2000, 'eur');
    const later = { ...second, data: { object: { ...second.data.object, created: first.data.object.created + 10 } } };
    await stripe.deliver([first, later]);
    await runJobs(s);
    // Moving on: the ISK payout in transit, the EUR payout fails (and the failure is kept and told as before).
    await stripe.send(stripe.settlePayout(first.data.object.id, 'in_transit'));
    const failed = stripe.settlePayout(second.data.object.id, 'failed');
    await stripe.send({ ...failed, data: { object: { ...failed.data.object, created: first.data.object.created + 10 } } });
    await runJobs(s);
    const body = (await contractor.api.get('/v1/me/payout-account')).body;
    expect(body.payouts.map((p: Payout) => [p.id, p.amount, p.currency, p.status])).toEqual([
      [second.data.object.id, 2000, 'EUR', 'failed'],
      [first.data.object.id, 500, 'ISK', 'in_transit'],
    ]);
    expect(body.lastPayoutFailure).toEqual(expect.objectContaining({ amount: 2000, currency: 'EUR', code: 'account_closed' }));
    const told = (await contractor.api.get('/v1/notifications?limit=100')).body.data.filter((n: { kind: string }) => n.kind === 'payout.failed');
    expect(told).toHaveLength(1);
  });
});
