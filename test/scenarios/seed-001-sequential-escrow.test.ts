import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, startTestServer, type TestServer } from '../support/harness.ts';

// Seed 001: a client and an expert on a fixed-rate contract with milestones, one escrow
// deposit at a time ($5 minimum), partial release, approve, close with a refund the expert agrees to.
describe.each(engines())('seed 001 — sequential escrow on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('runs the expert-proposes, client-funds flow end to end', async () => {
    const { client, contractor } = await newParties(s);
    const c = await client.api.post('/v1/contracts', {
      title: 'Landing page',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
    });
    expect(c.status).toBe(201);
    expect(c.body.status).toBe('proposal');
    const contractId = c.body.id;
    expect((await contractor.api.post(`/v1/contracts/${contractId}/activate`)).status).toBe(200);

    // The expert proposes a milestone: it waits for the client's acceptance.
    const proposed = await contractor.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Design', amount: 40000, dueDate: inDays(10) });
    expect(proposed.status).toBe(201);
    expect(proposed.body.status).toBe('proposed');
    expect(proposed.body.proposedBy).toBe('contractor');
    // Nothing proposed can be funded.
    const early = await client.api.post(`/v1/milestones/${proposed.body.id}/fund`);
    expect(early.status).toBe(409);
    expect(early.body.state).toBe('proposed');
    // The expert cannot accept their own proposal.
    expect((await contractor.api.post(`/v1/milestones/${proposed.body.id}/accept`)).status).toBe(403);
    const accepted = await client.api.post(`/v1/milestones/${proposed.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('accepted');

    // The client adds milestones directly (no acceptance needed for the client here).
    const second = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Build', amount: 60000, dueDate: inDays(20) });
    expect(second.body.status).toBe('accepted');
    const tiny = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Tip', amount: 300, dueDate: inDays(20) });
    expect(tiny.body.status).toBe('accepted');

    // $5 minimum.
    const below = await client.api.post(`/v1/milestones/${tiny.body.id}/fund`);
    expect(below.status).toBe(422);
    expect(below.body.code).toBe('amount_below_minimum');

    // Only the client funds; one funded milestone at a time.
    expect((await contractor.api.post(`/v1/milestones/${proposed.body.id}/fund`)).status).toBe(403);
    const funded = await client.api.post(`/v1/milestones/${proposed.body.id}/fund`, { paymentMethod: 'pm_card_ok' });
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ status: 'funded', inEscrow: 40000 });
    const secondFund = await client.api.post(`/v1/milestones/${second.body.id}/fund`);
    expect(secondFund.status).toBe(409);
    expect(secondFund.body.code).toBe('funding_limit_reached');

    // A funded milestone cannot be edited or deleted.
    const edit = await client.api.patch(`/v1/milestones/${proposed.body.id}`, { amount: 45000 });
    expect(edit.status).toBe(409);
    expect(edit.body.state).toBe('funded');
    expect((await client.api.del(`/v1/milestones/${proposed.body.id}`)).status).toBe(409);

    // Partial release: the rest stays in escrow.
    const partial = await client.api.post(`/v1/milestones/${proposed.body.id}/release`, { amount: 15000 });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ status: 'funded', inEscrow: 25000, releasedAmount: 15000 });
    let view = await client.api.get(`/v1/contracts/${contractId}`);
    expect(view.body.overview).toEqual({ total: 100300, inEscrow: 25000, paid: 15000, remaining: 60300, currency: 'USD' });

    // The expert marks it done; the client approves: the rest is released.
    expect((await contractor.api.post(`/v1/milestones/${proposed.body.id}/submit`, { note: 'done' })).status).toBe(200);
    const approved = await client.api.post(`/v1/milestones/${proposed.body.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 40000 });

    // Now the next one can be funded.
    expect((await client.api.post(`/v1/milestones/${second.body.id}/fund`)).status).toBe(200);
    view = await client.api.get(`/v1/contracts/${contractId}`);
    expect(view.body.overview).toMatchObject({ inEscrow: 60000, paid: 40000 });

    // Closing, the client asks for the escrow left back: the expert is asked, and agrees.
    const asked = await client.api.post(`/v1/contracts/${contractId}/close`, { refund: 60000 });
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'open', refund: 60000, release: 0, requesterRole: 'client' });
    expect((await client.api.get(`/v1/contracts/${contractId}`)).body).toMatchObject({ status: 'active', overview: { inEscrow: 60000 } });
    const agreed = await contractor.api.post(`/v1/refund-requests/${asked.body.id}/accept`);
    expect(agreed.status).toBe(200);
    expect(agreed.body.status).toBe('accepted');
    const closed = agreed.body.contract;
    expect(closed.status).toBe('closed');
    expect(closed.overview).toMatchObject({ inEscrow: 0, paid: 40000 });
    const ms = closed.milestones.find((m: { id: string }) => m.id === second.body.id);
    expect(ms).toMatchObject({ status: 'refunded', refundedAmount: 60000 });

    const payments = await contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(payments.body.data.map((p: { amount: number; status: string }) => [p.amount, p.status]).sort()).toEqual([
      [15000, 'paid'],
      [25000, 'paid'],
    ]);
    await expectLedgerClean(s);
  });
});
