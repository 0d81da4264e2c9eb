import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxProvider } from '../../src/payments/sandbox.ts';
import type { ChargeRequest } from '../../src/payments/provider.ts';
import { engines, expectLedgerClean, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { activityKinds, runJobs } from '../support/negotiation-helpers.ts';
import { dbSnapshot, expectProblem, expectUnchanged, notificationsOf } from '../support/scenario-helpers.ts';

/**
 * Provider operations (issue 14, item 1): every provider call is a row written with the command,
 * made after commit, answered in a second transaction with its journal entry. The sandbox is the
 * provider; one server also runs a sandbox that holds its charges until the test lets them go,
 * which is how a provider that has not answered yet looks to the server.
 */
type Op = { operation: string; purpose: string; status: string; idempotency_key: string; entry_reference: string | null; amount: number };
const opsOf = (s: TestServer, milestoneId: string) =>
  s.db.query<Op>('SELECT operation, purpose, status, idempotency_key, entry_reference, amount::int AS amount FROM provider_operations WHERE milestone_id = $1 ORDER BY created_at, id', [milestoneId]);
const entriesOf = (s: TestServer, milestoneId: string) =>
  s.db.query<{ kind: string; reference: string }>('SELECT kind, reference FROM journal_entries WHERE milestone_id = $1 ORDER BY seq', [milestoneId]);

/** The sandbox, except that charges wait until `release()`: the provider has not answered yet. */
class HeldSandbox extends SandboxProvider {
  calls: string[] = [];
  private gate!: Promise<void>;
  release!: () => void;
  constructor() {
    super();
    this.hold();
  }
  hold() {
    this.gate = new Promise((r) => (this.release = r));
  }
  override async charge(req: ChargeRequest) {
    this.calls.push(req.idempotencyKey);
    await this.gate;
    return super.charge(req);
  }
}

describe.each(engines())('provider operations on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
    await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 300, contractorBps: 500 } });
  });
  afterAll(async () => s?.stop());

  it('fund: the charge is an operation made after commit, answered with its one journal entry', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    const f = await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `fund-${m}` });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', fundingPending: false, inEscrow: 10000 });
    const [op] = await opsOf(s, m);
    expect(op).toMatchObject({ operation: 'charge', purpose: 'funding', status: 'succeeded', amount: 10300 });
    expect(op!.idempotency_key).toMatch(new RegExp(`^fund:${m}:v\\d+:1$`));
    expect(await entriesOf(s, m)).toEqual([{ kind: 'escrow_funding', reference: op!.entry_reference }]);
    // The same key replays the final answer; nothing is charged again.
    const again = await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `fund-${m}` });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await opsOf(s, m)).toHaveLength(1);
    const report = await expectLedgerClean(s);
    expect(report.ok).toBe(true);
  });

  it('a declined card is 402 payment_declined and changes nothing; the next attempt is a new call', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    const before = await dbSnapshot(s);
    expectProblem(await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_declined' }), 402, 'payment_declined');
    await expectUnchanged(s, before);
    expect(await activityKinds(p.client.api, c.id)).not.toContain('milestone.funding_failed');
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'accepted', fundingPending: false });
    const ok = await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_ok' });
    expect(ok.status).toBe(200);
    expect((await opsOf(s, m)).map((o) => [o.status, o.idempotency_key.endsWith(':1') ? 1 : 2])).toEqual([['failed', 1], ['succeeded', 2]]);
    await expectLedgerClean(s);
  });

  it('a refund: escrow back to the client at once, the provider’s answer books it leaving for the card', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 20000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const r = await p.contractor.api.post(`/v1/milestones/${m}/refund`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'refunded', inEscrow: 0 });
    const ops = await opsOf(s, m);
    expect(ops.map((o) => [o.operation, o.status, o.amount])).toEqual([['charge', 'succeeded', 20600], ['refund', 'succeeded', 20600]]);
    expect((await entriesOf(s, m)).map((e) => e.kind)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    const [funding] = await s.db.query<{ net: number }>(
      `SELECT (COALESCE(SUM(amount) FILTER (WHERE destination = $1), 0) - COALESCE(SUM(amount) FILTER (WHERE source = $1), 0))::int AS net FROM postings WHERE contract_id = $2`,
      [`clients:${p.client.id}:funding`, c.id],
    );
    expect(funding!.net).toBe(0);
    await expectLedgerClean(s);
  });

  it('a charge accepted to settle later is settled by the worker from its operation', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 5000 }]);
    const m = c.milestones[0].id as string;
    const f = await p.client.api.post(`/v1/milestones/${m}/fund`, { paymentMethod: 'pm_card_fails_later' });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', fundingPending: true });
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['processing']);
    await expectLedgerClean(s);
    await runJobs(s);
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['failed']);
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'accepted', fundingPending: false, inEscrow: 0 });
    expect((await entriesOf(s, m)).map((e) => e.kind)).toEqual(['escrow_funding', 'charge_reversal']);
    await expectLedgerClean(s);
  });

  it('draft payments: a decline puts the payment back, a good card pays it after commit', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'company_managed', [{ title: 'Post', amount: 8000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'done' })).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    const [pay] = await s.db.query<{ id: string }>('SELECT id FROM payments WHERE milestone_id = $1', [m]);
    const before = await dbSnapshot(s);
    const declined = expectProblem(await p.client.api.post(`/v1/payments/${pay!.id}/pay`, { paymentMethod: 'pm_card_declined' }), 402, 'payment_declined');
    expect(declined.paymentId).toBe(pay!.id);
    await expectUnchanged(s, before);
    const paid = await p.client.api.post(`/v1/payments/${pay!.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid' });
    const ops = await s.db.query<Op>("SELECT status, idempotency_key FROM provider_operations WHERE subject_id = $1 ORDER BY created_at", [pay!.id]);
    expect(ops.map((o) => o.status)).toEqual(['failed', 'succeeded']);
    await expectLedgerClean(s);
  });
});

describe.each(engines())('a provider that has not answered yet, on %s', (engine) => {
  let s: TestServer;
  const provider = new HeldSandbox();
  beforeAll(async () => {
    s = await startTestServer(engine, { TRANCHE_PROVIDER_WAIT_MS: '50' }, { provider });
  });
  afterAll(async () => {
    provider.release();
    await s?.stop();
  });

  it('fund answers 202 with fundingPending; the deposit is booked and notified when the provider answers', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }]);
    const m = c.milestones[0].id as string;
    const f = await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `held-${m}` });
    expect(f.status).toBe(202);
    expect(f.body).toMatchObject({ status: 'accepted', fundingPending: true, inEscrow: 0 });
    expect(provider.calls).toHaveLength(1);
    // Nothing is booked and nothing else may move the milestone meanwhile.
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['pending']);
    expect(await entriesOf(s, m)).toEqual([]);
    expectProblem(await p.client.api.post(`/v1/milestones/${m}/fund`), 409, 'funding_pending');
    expectProblem(await p.client.api.patch(`/v1/milestones/${m}`, { amount: 99 }), 409, 'funding_pending');
    // A retry with the same key replays the answer given, and calls nothing.
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`, {}, { 'idempotency-key': `held-${m}` })).status).toBe(202);
    expect(provider.calls).toHaveLength(1);
    await expectLedgerClean(s);

    provider.release();
    for (let i = 0; i < 200 && (await opsOf(s, m))[0]!.status === 'pending'; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await opsOf(s, m)).map((o) => o.status)).toEqual(['succeeded']);
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'funded', fundingPending: false, inEscrow: 10000 });
    expect((await notificationsOf(p.contractor.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.funded', m]);
    await expectLedgerClean(s);
  });

  it('a release whose rest funds the next milestone waits for the charge of the difference: 202, both held, then done together', async () => {
    provider.release();
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount: 10000 }, { title: 'Build', amount: 30000 }]);
    const [m1, m2] = c.milestones.map((m: { id: string }) => m.id) as [string, string];
    expect((await p.client.api.post(`/v1/milestones/${m1}/fund`)).status).toBe(200);
    provider.hold();
    const calls = provider.calls.length;
    const r = await p.client.api.post(`/v1/milestones/${m1}/release`, { amount: 4000, rest: 'next' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'funded', inEscrow: 10000, fundingPending: true });
    expect(provider.calls).toHaveLength(calls + 1);
    // Nothing moved yet, and neither milestone can be moved meanwhile.
    expect(await entriesOf(s, m2)).toEqual([]);
    expect((await p.client.api.get(`/v1/milestones/${m2}`)).body).toMatchObject({ status: 'accepted', fundingPending: true });
    expectProblem(await p.client.api.post(`/v1/milestones/${m1}/release`, { amount: 1000 }), 409, 'funding_pending');
    expectProblem(await p.client.api.patch(`/v1/milestones/${m2}`, { amount: 99 }), 409, 'funding_pending');
    await expectLedgerClean(s);

    provider.release();
    const done = async () => (await p.client.api.get(`/v1/milestones/${m2}`)).body.fundingPending === false;
    for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 25));
    expect((await p.client.api.get(`/v1/milestones/${m1}`)).body).toMatchObject({ status: 'paid', releasedAmount: 4000, fundingPending: false });
    expect((await p.client.api.get(`/v1/milestones/${m2}`)).body).toMatchObject({ status: 'funded', inEscrow: 30000, fundingPending: false });
    // The difference (30,000 − 6,000 moved; this platform takes no fee): one charge, booked in the move's entry.
    const [op] = await opsOf(s, m2);
    expect(op).toMatchObject({ operation: 'charge', purpose: 'funding', status: 'succeeded', amount: 24000 });
    expect(op!.entry_reference).toMatch(new RegExp(`^transfer:${m1}:${m2}:`));
    expect((await notificationsOf(p.contractor.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.funded', m2]);
    await expectLedgerClean(s);
  });
});
