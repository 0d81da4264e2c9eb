import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, startTestServer, type Client, type TestServer } from '../support/harness.ts';

// Trust issue, defect 3: the contractor fee was rounded down on every release, so splitting a
// release into small parts charged less (111 × 9 + 1 at 10 % charged 0 instead of 100). Fees are
// computed on what was released so far from the milestone: any split yields the same fee.
describe.each(engines())('fees do not leak through split releases on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
    // Fees are the platform's: copied into every contract proposed from now on.
    const fees = await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 300, contractorBps: 1000 } });
    expect(fees.status, JSON.stringify(fees.body)).toBe(200);
  });
  afterAll(async () => s?.stop());

  /** A live contract with one funded milestone of `amount`, under a 10 % contractor fee and a 3 % client fee. */
  async function fundedMilestone(amount: number) {
    const { client, contractor } = await newParties(s);
    const created = await contractor.api.post('/v1/contracts', {
      title: 'Fee split',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'contractor_creates',
      milestones: [{ title: 'Work', amount, dueDate: inDays(30) }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const contractId: string = created.body.id;
    // The party who did not create the proposal accepts it.
    expect((await client.api.post(`/v1/contracts/${contractId}/activate`, {})).status).toBe(200);
    const page = await client.api.get(`/v1/contracts/${contractId}`);
    const milestoneId: string = page.body.milestones[0].id;
    const funded = await client.api.post(`/v1/milestones/${milestoneId}/fund`, { paymentMethod: 'pm_card_ok' });
    expect(funded.status, JSON.stringify(funded.body)).toBe(200);
    return { client, contractor, contractId, milestoneId };
  }

  async function paymentsOf(api: Client, contractId: string) {
    const all: { amount: number; fee: number; net: number; status: string }[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: { data: typeof all; nextCursor: string | null } } = await api.get(`/v1/payments?contractId=${contractId}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      all.push(...r.body.data);
      cursor = r.body.nextCursor;
    } while (cursor);
    return all;
  }

  /** Contractor fees booked in the ledger for one contract. */
  async function contractorFees(contractId: string) {
    const [row] = await s.db.query<{ fees: number }>(
      "SELECT COALESCE(SUM(amount), 0)::bigint AS fees FROM postings WHERE contract_id = $1 AND destination = 'platform:fees:contractor'",
      [contractId],
    );
    return row!.fees;
  }

  it('111 releases of 9 and one of 1 charge the same fee as one approval of 1,000', async () => {
    const whole = await fundedMilestone(1_000);
    expect((await whole.contractor.api.post(`/v1/milestones/${whole.milestoneId}/submit`, { note: 'done' })).status).toBe(200);
    const approved = await whole.client.api.post(`/v1/milestones/${whole.milestoneId}/approve`, {});
    expect(approved.status).toBe(200);
    const onePayment = await paymentsOf(whole.client.api, whole.contractId);
    expect(onePayment.map((p) => [p.amount, p.fee])).toEqual([[1_000, 100]]);

    const split = await fundedMilestone(1_000);
    for (let i = 0; i < 111; i++) {
      const r = await split.client.api.post(`/v1/milestones/${split.milestoneId}/release`, { amount: 9 });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const last = await split.client.api.post(`/v1/milestones/${split.milestoneId}/release`, { amount: 1 });
    expect(last.status).toBe(200);
    expect(last.body.status).toBe('paid');

    const parts = await paymentsOf(split.client.api, split.contractId);
    expect(parts).toHaveLength(112);
    expect(parts.reduce((a, p) => a + p.amount, 0)).toBe(1_000);
    expect(parts.reduce((a, p) => a + p.fee, 0)).toBe(100);
    expect(parts.reduce((a, p) => a + p.net, 0)).toBe(900);
    expect(await contractorFees(split.contractId)).toBe(100);
    expect(await contractorFees(whole.contractId)).toBe(100);
    await expectLedgerClean(s);
  });

  it('a dispute resolution continues the same cumulative fee as the partial releases before it', async () => {
    // Five releases of 19, then 10 released by the resolution: 105 released in all, so 10 % is
    // 10. Rounded down per step it was 1 × 6 = 6.
    const m = await fundedMilestone(1_000);
    for (let i = 0; i < 5; i++) expect((await m.client.api.post(`/v1/milestones/${m.milestoneId}/release`, { amount: 19 })).status).toBe(200);
    const dispute = await m.client.api.post(`/v1/milestones/${m.milestoneId}/dispute`, { reason: 'half done' });
    expect(dispute.status, JSON.stringify(dispute.body)).toBe(201);
    const resolved = await s.admin.post(`/v1/disputes/${dispute.body.id}/resolve`, { releaseAmount: 10, refundAmount: 895 });
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    const payments = await paymentsOf(m.client.api, m.contractId);
    expect(payments.reduce((a, p) => a + p.amount, 0)).toBe(105);
    expect(payments.reduce((a, p) => a + p.fee, 0)).toBe(10);
    expect(await contractorFees(m.contractId)).toBe(10);
    await expectLedgerClean(s);
  });
});
