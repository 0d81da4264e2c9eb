import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJobs } from '../support/negotiation-helpers.ts';
import { dbSnapshot, expectProblem, expectUnchanged } from '../support/scenario-helpers.ts';
import { engines, expectLedgerClean, liveContract, newParties, setPlatformFees, startTestServer, type TestServer } from '../support/harness.ts';

// Issue 12: a partial release says what happens to the escrow left — kept, refunded, or moved to
// fund the next milestone (seed 001: "send a partial milestone payment for an unfinished
// milestone and use the balance to fund the next milestone").
describe.each(engines())('partial release: the rest kept, refunded or moved on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
    await setPlatformFees(s, { clientBps: 300, contractorBps: 1000 });
  });
  afterAll(async () => s?.stop());

  async function contractWith(amounts: number[]) {
    const parties = await newParties(s);
    const c = await liveContract(s, parties, 'sequential_escrow', amounts.map((amount, i) => ({ title: `M${i + 1}`, amount })));
    const ids: string[] = c.milestones.map((m: { id: string }) => m.id);
    expect((await parties.client.api.post(`/v1/milestones/${ids[0]}/fund`)).status).toBe(200);
    return { ...parties, contractId: c.id as string, ids };
  }
  const milestone = async (p: { client: { api: any } }, id: string) => (await p.client.api.get(`/v1/milestones/${id}`)).body;
  const entries = async (_contractId: string) => (await s.admin.get(`/v1/admin/ledger/check`)).body.entries as number;

  it('next: this milestone is paid with what was released; the rest funds the next one and the card pays only the difference', async () => {
    const p = await contractWith([40000, 60000, 10000]);
    const before = await entries(p.contractId);
    const r = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 15000, rest: 'next' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'paid', releasedAmount: 15000, refundedAmount: 25000, inEscrow: 0 });
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'funded', fundedAmount: 60000, inEscrow: 60000, fundingPending: false });
    expect(await milestone(p, p.ids[2]!)).toMatchObject({ status: 'accepted', inEscrow: 0 });
    // Two entries: the release, and one for the move with the difference's charge.
    expect(await entries(p.contractId)).toBe(before + 2);
    const view = await p.client.api.get(`/v1/contracts/${p.contractId}`);
    expect(view.body.overview).toEqual({ total: 85000, inEscrow: 60000, paid: 15000, remaining: 10000, currency: 'USD' });
    const activity = await p.contractor.api.get(`/v1/contracts/${p.contractId}/activity`);
    const funded = activity.body.data.find((a: { kind: string; milestoneId: string }) => a.kind === 'milestone.funded' && a.milestoneId === p.ids[1]);
    expect(funded.data).toMatchObject({ moved: 25000, charged: 35000, refunded: 0, fromMilestoneId: p.ids[0] });
    // The next milestone holds its whole amount: approving it releases all of it.
    expect((await p.contractor.api.post(`/v1/milestones/${p.ids[1]}/submit`, {})).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${p.ids[1]}/approve`)).body).toMatchObject({ status: 'paid', releasedAmount: 60000 });
    await expectLedgerClean(s);
  });

  it('next: when the difference was charged to a card that fails later, the moved rest goes back to the client, not into the reversal', async () => {
    const p = await contractWith([40000, 60000]);
    const r = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 15000, rest: 'next', paymentMethod: 'pm_card_fails_later' });
    expect(r.status).toBe(200);
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'funded', inEscrow: 60000, fundingPending: true });
    await runJobs(s);
    await runJobs(s);
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'accepted', inEscrow: 0, fundingPending: false });
    // What the client's cards really paid, from the provider's side: M1's charge (40,000 + 3 % fee),
    // less the refund of the 25,000 that had moved on (and its fee share); the failed charge took nothing.
    const ops = await s.db.query<{ operation: string; amount: number; status: string }>(
      "SELECT operation, amount, status FROM provider_operations WHERE contract_id = $1 AND status = 'succeeded'",
      [p.contractId],
    );
    const net = ops.reduce((sum, o) => sum + (o.operation === 'charge' ? Number(o.amount) : o.operation === 'refund' ? -Number(o.amount) : 0), 0);
    expect(net).toBe(15000 + 450);
    const view = await p.client.api.get(`/v1/contracts/${p.contractId}`);
    expect(view.body.overview).toMatchObject({ inEscrow: 0, paid: 15000 });
    await expectLedgerClean(s);
  });

  it('next: the difference is a charge made after commit; a declined card is 402 and neither milestone moves', async () => {
    const p = await contractWith([40000, 60000]);
    const before = await dbSnapshot(s);
    const declined = expectProblem(await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 15000, rest: 'next', paymentMethod: 'pm_card_declined' }), 402, 'payment_declined');
    expect(declined.declineCode).toBe('card_declined');
    await expectUnchanged(s, before);
    expect(await milestone(p, p.ids[0]!)).toMatchObject({ status: 'funded', inEscrow: 40000, fundingPending: false });
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'accepted', inEscrow: 0, fundingPending: false });
    // The charge was an operation of its own (the difference and its fee), and it failed.
    const ops = await s.db.query<{ operation: string; purpose: string; status: string; amount: number; milestone_id: string }>(
      "SELECT operation, purpose, status, amount::int AS amount, milestone_id FROM provider_operations WHERE contract_id = $1 AND operation = 'charge' ORDER BY created_at",
      [p.contractId],
    );
    expect(ops.slice(1)).toEqual([{ operation: 'charge', purpose: 'funding', status: 'failed', amount: 35000 + 1050, milestone_id: p.ids[1] }]);
    // A good card then does the whole thing once.
    const r = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 15000, rest: 'next', paymentMethod: 'pm_card_ok' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'paid', releasedAmount: 15000, fundingPending: false });
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'funded', inEscrow: 60000, fundingPending: false });
    await expectLedgerClean(s);
  });

  it('next: a rest larger than the next milestone funds it and the excess goes back to the client', async () => {
    const p = await contractWith([40000, 20000]);
    const r = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 5000, rest: 'next' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'paid', releasedAmount: 5000, refundedAmount: 35000 });
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'funded', inEscrow: 20000 });
    // The excess leaves through a refund operation made after commit, booked with its own entry.
    const [refund] = await s.db.query<{ status: string; amount: number; entry_reference: string }>(
      "SELECT status, amount::int AS amount, entry_reference FROM provider_operations WHERE contract_id = $1 AND operation = 'refund'",
      [p.contractId],
    );
    expect(refund).toMatchObject({ status: 'succeeded', amount: 15000 + 450 });
    expect(refund!.entry_reference).toMatch(/^refund_paid:/);
    const view = await p.client.api.get(`/v1/contracts/${p.contractId}`);
    expect(view.body.overview).toMatchObject({ total: 25000, inEscrow: 20000, paid: 5000, remaining: 0 });
    // Refunding the next milestone later gives back its whole escrow and fee share, and the ledger still balances.
    expect((await p.contractor.api.post(`/v1/milestones/${p.ids[1]}/refund`)).body).toMatchObject({ status: 'refunded', refundedAmount: 20000 });
    await expectLedgerClean(s);
  });

  it('refund: the rest goes back to the client and the milestone is paid with what was released', async () => {
    const p = await contractWith([40000, 20000]);
    const r = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 10000, rest: 'refund' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'paid', releasedAmount: 10000, refundedAmount: 30000, inEscrow: 0 });
    expect(await milestone(p, p.ids[1]!)).toMatchObject({ status: 'accepted', inEscrow: 0 });
    const payments = await p.contractor.api.get(`/v1/payments?contractId=${p.contractId}`);
    expect(payments.body.data.map((x: { amount: number }) => x.amount)).toEqual([10000]);
    await expectLedgerClean(s);
  });

  it('keep is the default; bad input and no next milestone are refused and change nothing', async () => {
    const p = await contractWith([40000]);
    const kept = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 1000 });
    expect(kept.body).toMatchObject({ status: 'funded', inEscrow: 39000 });
    const version = kept.body.version;

    const none = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 1000, rest: 'next' });
    expect(none.status).toBe(409);
    expect(none.body.code).toBe('no_next_milestone');
    const bad = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 1000, rest: 'later' });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    const tooMuch = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 39001, rest: 'refund' });
    expect(tooMuch.status).toBe(422);
    const byContractor = await p.contractor.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 1000, rest: 'refund' });
    expect(byContractor.status).toBe(403);
    // A proposed milestone after it is not a next milestone to fund.
    const proposed = await p.contractor.api.post(`/v1/contracts/${p.contractId}/milestones`, { title: 'Extra', amount: 5000, dueDate: '2030-01-01' });
    expect(proposed.body.status).toBe('proposed');
    expect((await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 1000, rest: 'next' })).body.code).toBe('no_next_milestone');

    expect(await milestone(p, p.ids[0]!)).toMatchObject({ status: 'funded', inEscrow: 39000, version });
    // The whole escrow: nothing is left, `rest` changes nothing.
    const all = await p.client.api.post(`/v1/milestones/${p.ids[0]}/release`, { amount: 39000, rest: 'next' });
    expect(all.body).toMatchObject({ status: 'paid', releasedAmount: 40000, refundedAmount: 0 });
    await expectLedgerClean(s);
  });
});
