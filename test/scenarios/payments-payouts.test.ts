import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentDeclinedError } from '../../src/payments/provider.ts';
import { SandboxProvider } from '../../src/payments/sandbox.ts';
import { engines, expectLedgerClean, liveContract, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { expectProblem, expectRefused } from '../support/scenario-helpers.ts';

/** The sandbox, except that the bank refuses payouts. */
class RefusingBank extends SandboxProvider {
  override async payout(): Promise<never> {
    throw new PaymentDeclinedError('account_closed');
  }
}

/**
 * Balances and payouts with the sandbox (issue 14, item 5): a contractor's releases become their
 * available balance; a payout moves it to "pending" and then to the bank (contractor balance →
 * world in the ledger); a refused payout returns the money.
 */
/** A contractor paid `amount` (less the platform's contractor fee) for one approved milestone. */
async function earned(srv: TestServer, amount: number, currency = 'USD') {
  const p = await newParties(srv);
  const c = await liveContract(srv, p, 'sequential_escrow', [{ title: 'Work', amount }], { currency });
  const m = c.milestones[0].id as string;
  expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
  expect((await p.client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
  return p;
}

describe.each(engines())('balances and payouts on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
    await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 0, contractorBps: 1000 } });
  });
  afterAll(async () => s?.stop());

  it('the balance per currency, a payout to the bank, the list of payouts', async () => {
    const p = await earned(s, 50000);
    expect((await p.contractor.api.get('/v1/me/balance')).body).toEqual({ data: [{ currency: 'USD', available: 45000, pending: 0 }] });
    expect((await p.client.api.get('/v1/me/balance')).body).toEqual({ data: [] });

    await expectRefused(s, () => p.contractor.api.post('/v1/payouts', { amount: 45001, currency: 'USD' }), 422, 'insufficient_balance', 'amount');
    await expectRefused(s, () => p.contractor.api.post('/v1/payouts', { amount: 100, currency: 'EUR' }), 422, 'insufficient_balance', 'amount');
    await expectRefused(s, () => p.contractor.api.post('/v1/payouts', { amount: 1.5, currency: 'USD' }), 422, 'validation_failed', 'amount');

    const out = await p.contractor.api.post('/v1/payouts', { amount: 30000, currency: 'USD' });
    expect(out.status).toBe(201);
    expect(out.body).toMatchObject({ amount: 30000, currency: 'USD', status: 'paid', failureCode: null });
    expect((await p.contractor.api.get('/v1/me/balance')).body).toEqual({ data: [{ currency: 'USD', available: 15000, pending: 0 }] });
    const list = await p.contractor.api.get('/v1/payouts');
    expect(list.body.data.map((x: { id: string; status: string }) => [x.id, x.status])).toEqual([[out.body.id, 'paid']]);
    expect((await p.contractor.api.get(`/v1/payouts/${out.body.id}`)).status).toBe(200);
    expectProblem(await p.client.api.get(`/v1/payouts/${out.body.id}`), 404, 'not_found');
    expect((await p.client.api.get('/v1/payouts')).body.data).toEqual([]);

    // The ledger: the contractor's balance → on its way → the provider's world, in the payout book.
    const entries = await s.db.query<{ kind: string; contract_id: string }>(
      "SELECT kind, contract_id FROM journal_entries WHERE reference LIKE 'payout%' AND contract_id = $1 ORDER BY seq",
      [`payouts:${p.contractor.id}`],
    );
    expect(entries.map((e) => e.kind)).toEqual(['payout_requested', 'payout_paid']);
    const [op] = await s.db.query<{ operation: string; status: string }>('SELECT operation, status FROM provider_operations WHERE subject_id = $1', [out.body.id]);
    expect(op).toEqual({ operation: 'payout', status: 'succeeded' });
    await expectLedgerClean(s);
  });

  it('two payouts at once never spend the same balance', async () => {
    const p = await earned(s, 20000);
    const [a, b] = await Promise.all([
      p.contractor.api.post('/v1/payouts', { amount: 12000, currency: 'USD' }),
      p.contractor.api.post('/v1/payouts', { amount: 12000, currency: 'USD' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 422]);
    expect((await p.contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 6000, pending: 0 }]);
    await expectLedgerClean(s);
  });

});

describe.each(engines())('a payout the bank refuses, on %s', (engine) => {
  let refusing: TestServer;
  beforeAll(async () => {
    refusing = await startTestServer(engine, {}, { provider: new RefusingBank() });
  });
  afterAll(async () => refusing?.stop());

  it('a payout the bank refuses returns the money to the balance', async () => {
    const p = await earned(refusing, 10000);
    const r = await p.contractor.api.post('/v1/payouts', { amount: 10000, currency: 'USD' });
    expectProblem(r, 402, 'payment_declined');
    expect((await p.contractor.api.get('/v1/me/balance')).body.data).toEqual([{ currency: 'USD', available: 10000, pending: 0 }]);
    expect((await p.contractor.api.get('/v1/payouts')).body.data.map((x: { status: string; failureCode: string }) => [x.status, x.failureCode])).toEqual([['failed', 'account_closed']]);
    const stranger = await newUser(refusing, 'stranger');
    expect((await stranger.api.get('/v1/me/balance')).body).toEqual({ data: [] });
    await expectLedgerClean(refusing);
  });
});
