import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { apiUser, createDatabase, freePort, rawRequest, ServerProcess } from '../support/reliability-helpers.ts';
import { FakeStripe } from '../support/stripe-server.ts';

/**
 * Stripe and the two ways a charge's answer can be lost (issue 14): the process dies between the
 * command's commit and the call (kill -9 at the `before_provider_call` failpoint), or Stripe made
 * the PaymentIntent and the answer never arrived. Either way the operation is made again with the
 * same idempotency key and Stripe has exactly one PaymentIntent.
 */
describe.each(engines())('a lost answer from Stripe on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    stripe = await FakeStripe.start();
    s = await startTestServer(engine, stripe.env());
  });
  afterAll(async () => {
    await s?.stop();
    await stripe?.stop();
  });

  it('Stripe made the PaymentIntent, the connection was cut: the SDK’s retry with the key gets the same one', async () => {
    const client = await newUser(s, 'client');
    const contractor = await newUser(s, 'contractor');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_visa' })).status).toBe(200);
    const c = await liveContract(s, { client, contractor }, 'sequential_escrow', [{ title: 'Design', amount: 12000 }]);
    const m = c.milestones[0].id as string;
    stripe.cutNextAnswer('/v1/payment_intents');
    const f = await client.api.post(`/v1/milestones/${m}/fund`);
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', inEscrow: 12000 });
    const calls = stripe.requests.filter((r) => r.path === '/v1/payment_intents');
    // The cut answer (status 0), then the retry replayed with the same key.
    expect(calls.map((r) => [r.status, r.replayed])).toEqual([[0, false], [200, true]]);
    expect(new Set(calls.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(stripe.all('payment_intent', (pi) => pi.transfer_group === c.id)).toHaveLength(1);
    await expectLedgerClean(s);
  });
});

describe.skipIf(!engines().includes('postgres'))('Stripe: crash between commit and the call (postgres)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let stripe: FakeStripe;
  let port: number;
  let crashing: ServerProcess;
  let server: ServerProcess | undefined;
  let sql: pg.Client;

  beforeAll(async () => {
    stripe = await FakeStripe.start();
    db = await createDatabase('tranche_stripe_crash');
    port = await freePort();
    crashing = new ServerProcess(port, db.url, { ...stripe.env(), TRANCHE_FAILPOINT: 'before_provider_call' });
    await crashing.start();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await crashing?.stop();
    await server?.stop();
    await db?.drop();
    await stripe?.stop();
  }, 60_000);

  it('kill -9 after commit, before the PaymentIntent: the restarted server makes it once and books it once', async () => {
    const admin = crashing.api();
    const client = await apiUser(admin, crashing.url, 'stripe-crash-client', 'pm_card_visa');
    const contractor = await apiUser(admin, crashing.url, 'stripe-crash-contractor');
    const c = await client.api.post('/v1/contracts', {
      title: 'Crash before the PaymentIntent', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
      milestones: [{ title: 'Design', amount: 25000, dueDate: inDays(30) }],
    });
    expect(c.status).toBe(201);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const m = c.body.milestones[0].id as string;
    const send = () => rawRequest(crashing.url, 'POST', `/v1/milestones/${m}/fund`, { token: client.token, body: '{}', headers: { 'idempotency-key': `stripe-crash-${m}` }, timeoutMs: 20_000 });

    // The fault happened: no answer, SIGKILL, the operation committed and never called.
    await expect(send()).rejects.toThrow();
    for (let i = 0; i < 100 && crashing.alive; i++) await new Promise((r) => setTimeout(r, 50));
    expect(crashing.exits.at(-1)).toMatchObject({ signal: 'SIGKILL' });
    const ops = async () =>
      (await sql.query<{ status: string; idempotency_key: string; provider_ref: string | null }>('SELECT status, idempotency_key, provider_ref FROM provider_operations WHERE milestone_id = $1', [m])).rows;
    expect(await ops()).toMatchObject([{ status: 'pending', provider_ref: null }]);
    expect(stripe.all('payment_intent', (pi) => pi.transfer_group === c.body.id)).toEqual([]);

    // Restarted without the fault: the pending operation is made with its key and booked.
    server = new ServerProcess(port, db.url, stripe.env());
    await server.start();
    const [op] = await ops();
    const pis = stripe.all('payment_intent', (pi) => pi.transfer_group === c.body.id);
    expect(pis).toHaveLength(1);
    expect(op).toMatchObject({ status: 'succeeded', provider_ref: pis[0]!.id });
    expect(pis[0]).toMatchObject({ amount: 25000, status: 'succeeded', metadata: { tranche_operation_key: op!.idempotency_key } });
    expect((await sql.query('SELECT status, funding_pending FROM milestones WHERE id = $1', [m])).rows).toEqual([{ status: 'funded', funding_pending: false }]);
    expect((await sql.query("SELECT count(*)::int AS n FROM journal_entries WHERE milestone_id = $1 AND kind = 'escrow_funding'", [m])).rows).toEqual([{ n: 1 }]);

    // The retried request replays what the cut one was acknowledged with; no second PaymentIntent.
    const replay = await send();
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(stripe.all('payment_intent', (pi) => pi.transfer_group === c.body.id)).toHaveLength(1);
    expect((await server.api().get('/v1/admin/ledger/check')).body).toMatchObject({ ok: true });
  }, 120_000);
});
