import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, startTestServer, type Res, type TestServer } from '../support/harness.ts';

const N = 50;
const statusesOf = (rs: Res[]) => rs.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

// Issue 3's race tests: for each kind of conflict, 50 requests at once on the same resource.
// Exactly one wins; every other one gets a 409 problem with the current state; the ledger stays balanced.
describe.runIf(engines().includes('postgres'))('50 parallel conflicting requests on one resource (postgres)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('postgres');
  });
  afterAll(async () => s?.stop());

  const policy = { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } };

  it('50 approvals of one milestone: one release', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, policy, [{ title: 'M', amount: 10_000, dueDate: inDays(9) }]);
    const ms = c.milestones[0].id;
    expect((await p.client.api.post(`/v1/milestones/${ms}/fund`)).status).toBe(200);
    const rs = await Promise.all(Array.from({ length: N }, () => p.client.api.post(`/v1/milestones/${ms}/approve`)));
    expect(statusesOf(rs)).toEqual({ 200: 1, 409: N - 1 });
    for (const r of rs.filter((x) => x.status === 409)) expect(r.body).toMatchObject({ code: 'invalid_state', state: 'paid' });
    const payments = await p.contractor.api.get(`/v1/payments?contractId=${c.id}`);
    expect(payments.body.data).toHaveLength(1);
    await expectLedgerClean(s);
  });

  it('50 fundings of one milestone: one charge', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, policy, [{ title: 'M', amount: 7_500, dueDate: inDays(9) }]);
    const ms = c.milestones[0].id;
    const rs = await Promise.all(Array.from({ length: N }, () => p.client.api.post(`/v1/milestones/${ms}/fund`)));
    expect(statusesOf(rs)).toEqual({ 200: 1, 409: N - 1 });
    const [row] = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM fundings WHERE milestone_id = $1', [ms]);
    expect(row!.n).toBe(1);
    expect((await p.client.api.get(`/v1/contracts/${c.id}`)).body.overview.inEscrow).toBe(7_500);
    await expectLedgerClean(s);
  });

  it('25 fundings against 25 deletions of one milestone: exactly one of them wins', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, policy, [{ title: 'M', amount: 5_000, dueDate: inDays(9) }]);
    const ms = c.milestones[0].id;
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? p.client.api.post(`/v1/milestones/${ms}/fund`) : p.client.api.del(`/v1/milestones/${ms}`))),
    );
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 409)).toHaveLength(N - 1);
    const after = (await p.client.api.get(`/v1/milestones/${ms}`)).body;
    expect(['funded', 'cancelled']).toContain(after.status);
    expect(after.inEscrow).toBe(after.status === 'funded' ? 5_000 : 0);
    await expectLedgerClean(s);
  });

  it('25 full releases against 25 closes by the contractor giving the escrow back: the escrow moves once', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, policy, [{ title: 'M', amount: 9_000, dueDate: inDays(9) }]);
    const ms = c.milestones[0].id;
    expect((await p.client.api.post(`/v1/milestones/${ms}/fund`)).status).toBe(200);
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        i % 2 === 0 ? p.client.api.post(`/v1/milestones/${ms}/release`, { amount: 9_000 }) : p.contractor.api.post(`/v1/contracts/${c.id}/close`, { refund: 9_000 }),
      ),
    );
    const winners = rs.filter((r) => r.status === 200);
    // If a release wins, later releases find the milestone paid (409) and closes ask to refund
    // 9,000 of 0 held (422); if a close wins, everything after finds the contract closed (409).
    expect(winners).toHaveLength(1);
    expect(rs.every((r) => [200, 409, 422].includes(r.status))).toBe(true);
    // (A refund's second entry, refund_paid, books the provider's answer: not a second movement of the escrow.)
    const entries = await s.db.query<{ kind: string }>("SELECT kind FROM journal_entries WHERE milestone_id = $1 AND kind NOT IN ('escrow_funding', 'refund_paid')", [ms]);
    expect(entries).toHaveLength(1);
    const view = (await p.client.api.get(`/v1/contracts/${c.id}`)).body;
    expect(view.overview.inEscrow).toBe(0);
    expect(view.overview.paid + (entries[0]!.kind === 'escrow_refund' ? 9_000 : 0)).toBe(9_000);
    await expectLedgerClean(s);
  });
});
