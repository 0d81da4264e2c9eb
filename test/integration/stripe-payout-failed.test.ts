import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { startMailbox } from '../support/mailbox.ts';
import { runJobs } from '../support/negotiation-helpers.ts';
import { FakeStripe } from '../support/stripe-server.ts';

/**
 * payout.failed (issue 14, item 3): a payout of a contractor's Express account to their bank
 * failed at Stripe. Nothing of ours moves; the contractor sees it on their payout account and is
 * told — in the app, by email and with a `payout.failed` webhook — once per payout, whether the
 * event is redelivered, sent again under another event id, or arrives after a newer failure.
 */
describe.each(engines())('payout.failed with Stripe on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  beforeAll(async () => {
    [stripe, mailbox] = await Promise.all([FakeStripe.start(), startMailbox()]);
    s = await startTestServer(engine, { ...stripe.env(), SMTP_URL: mailbox.url, TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1' });
    stripe.webhookUrl = `${s.url}/v1/providers/stripe/webhooks`;
    expect((await s.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', events: ['payout.failed'] })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await stripe?.stop();
    await mailbox?.close();
  });

  type Notification = { kind: string; contractId: string | null; title: string; body: string; data: Record<string, unknown> };
  const payoutNotifications = async (api: TestServer['admin']) =>
    ((await api.get('/v1/notifications?limit=100')).body.data as Notification[]).filter((n) => n.kind === 'payout.failed');
  const hooksFor = (payoutId: string) =>
    s.db.query<{ payload: { type: string; data: Record<string, unknown> } }>("SELECT payload FROM webhook_messages WHERE event_type = 'payout.failed' AND payload->'data'->>'payoutId' = $1", [payoutId]);

  it('tells the contractor once per failed payout: a replay, the same payout under a new event id and an older failure arriving late', async () => {
    const contractor = await newUser(s, 'contractor');
    const other = await newUser(s, 'contractor');
    expect((await contractor.api.post('/v1/me/payout-account')).status).toBe(200);
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id);

    const failed = stripe.failPayout(account!.id, 12345, 'usd', 'account_closed');
    expect((await stripe.send(failed)).body).toEqual({ received: true, duplicate: false });
    await runJobs(s);
    const told = await payoutNotifications(contractor.api);
    expect(told).toEqual([
      expect.objectContaining({
        contractId: null,
        title: 'A payout to your bank failed',
        data: expect.objectContaining({ payoutId: failed.data.object.id, amount: 12345, currency: 'USD', code: 'account_closed' }),
      }),
    ]);
    expect(told[0]!.body).toContain('123.45 USD');
    expect(await hooksFor(failed.data.object.id)).toEqual([
      { payload: expect.objectContaining({ type: 'payout.failed', data: expect.objectContaining({ userId: contractor.id, payoutId: failed.data.object.id, amount: 12345, currency: 'USD' }) }) },
    ]);
    // The email job ran: one mail to the contractor with the notification's words.
    await runJobs(s);
    const mails = () => mailbox.mails.filter((m) => m.to.includes(contractor.email) && m.raw.includes('A payout to your bank failed'));
    expect(mails()).toHaveLength(1);

    // Redelivered (the same event id): stored once, nothing more.
    expect((await stripe.replay(failed.id)).body).toEqual({ received: true, duplicate: true });
    // The same payout under another event id (e.g. delivered to a second endpoint, recorded again): applied, no second notification.
    const again = stripe.record('payout.failed', failed.data.object, { account: account!.id });
    expect((await stripe.send(again)).body).toEqual({ received: true, duplicate: false });
    await runJobs(s);
    await runJobs(s);
    expect(await payoutNotifications(contractor.api)).toHaveLength(1);
    expect(await hooksFor(failed.data.object.id)).toHaveLength(1);
    expect(mails()).toHaveLength(1);
    const outcome = await s.db.query<{ outcome: string }>('SELECT outcome FROM provider_events WHERE event_id = $1', [again.id]);
    expect(outcome).toEqual([{ outcome: 'payout failure recorded; already told' }]);

    // An older failure of another payout, arriving after this one: told (it is another payout), but the account keeps the newer one.
    const older = stripe.failPayout(account!.id, 500, 'usd', 'no_account');
    await stripe.send({ ...older, created: failed.created - 60, data: { object: { ...older.data.object, created: failed.created - 60 } } });
    await runJobs(s);
    expect((await payoutNotifications(contractor.api)).map((n) => n.data.payoutId)).toEqual([older.data.object.id, failed.data.object.id]);
    expect((await contractor.api.get('/v1/me/payout-account')).body.lastPayoutFailure).toEqual({ amount: 12345, currency: 'USD', code: 'account_closed', message: 'The bank account has been closed.' });

    // Nobody else is told; nothing of ours moved.
    expect(await payoutNotifications(other.api)).toEqual([]);
    expect((await contractor.api.get('/v1/me/balance')).body.data).toEqual([]);
    await expectLedgerClean(s);
  });

  it('a payout of an account that is not ours, or of the platform itself, tells nobody', async () => {
    const foreign = stripe.failPayout('acct_1notOneOfOurs', 1000, 'usd');
    const platform = stripe.failPayout('acct_1platform', 1000, 'usd');
    await stripe.deliver([foreign, { ...platform, account: undefined } as typeof platform]);
    await runJobs(s);
    const rows = await s.db.query<{ outcome: string }>('SELECT outcome FROM provider_events WHERE event_id = ANY($1) ORDER BY outcome', [[foreign.id, platform.id]]);
    expect(rows).toEqual([{ outcome: 'a payout of the platform, not of a connected account' }, { outcome: 'not one of our accounts' }]);
    expect(await s.db.query("SELECT 1 FROM notifications WHERE kind = 'payout.failed' AND data->>'payoutId' = ANY($1)", [[foreign.data.object.id, platform.data.object.id]])).toEqual([]);
  });
});
