import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { expectRefused, notificationsOf, overviewOf, timeline, type ActivityEntry } from '../support/scenario-helpers.ts';

// Seed 004: the client sets the initial milestones, the specialist accepts them (and every
// later change), the client funds before work and releases payment on approval. The payment
// overview (total, in escrow, paid, remaining) and the recent-activity timeline are checked
// after every step, as both parties see them.
describe.each(engines())('seed 004 — payment overview and activity on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('every step moves the overview and adds the right activity entry', async () => {
    const { client, contractor } = await newParties(s);
    const created = await client.api.post('/v1/contracts', {
      title: 'Kitchen renovation plan',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'accept_every_change',
      milestones: [
        { title: 'Survey', amount: 30000, dueDate: inDays(7) },
        { title: 'Drawings', amount: 20000, dueDate: inDays(21) },
      ],
    });
    expect(created.status).toBe(201);
    const contractId = created.body.id as string;
    const [survey, drawings] = (created.body.milestones as { id: string; status: string; proposedBy: string }[]).map((m) => {
      expect(m).toMatchObject({ status: 'proposed', proposedBy: 'client' });
      return m.id;
    }) as [string, string];

    const tl = timeline(contractor.api, contractId);
    /**
     * One step of the scenario: the timeline gained exactly `kinds`, both parties see the same
     * overview, the overview adds up, and the ledger is clean.
     */
    const step = async (kinds: string[], expected: { total: number; inEscrow: number; paid: number; remaining: number }): Promise<ActivityEntry[]> => {
      const fresh = await tl.expectNew(kinds);
      const seenByClient = await overviewOf(client.api, contractId);
      expect(seenByClient).toEqual({ ...expected, currency: 'USD' });
      expect(await overviewOf(contractor.api, contractId)).toEqual(seenByClient);
      expect(expected.inEscrow + expected.paid + expected.remaining).toBe(expected.total);
      await expectLedgerClean(s);
      return fresh;
    };

    // Initial milestones proposed: nothing is agreed yet, so nothing is priced.
    const [createdEntry] = await step(['contract.created'], { total: 0, inEscrow: 0, paid: 0, remaining: 0 });
    expect(createdEntry).toMatchObject({ actorRole: 'client', actorId: client.id, data: { milestones: 2, amount: 50000 } });

    // The client cannot accept its own milestones; the specialist reviews and accepts them.
    await expectRefused(s, () => client.api.post(`/v1/milestones/${survey}/accept`), 403, 'forbidden');
    expect((await contractor.api.post(`/v1/milestones/${survey}/accept`)).body.status).toBe('accepted');
    const [acc] = await step(['milestone.accepted'], { total: 30000, inEscrow: 0, paid: 0, remaining: 30000 });
    expect(acc).toMatchObject({ milestoneId: survey, actorRole: 'contractor', actorId: contractor.id, data: { amount: 30000, status: 'accepted' } });
    expect((await contractor.api.post(`/v1/milestones/${drawings}/accept`)).body.status).toBe('accepted');
    await step(['milestone.accepted'], { total: 50000, inEscrow: 0, paid: 0, remaining: 50000 });

    expect((await contractor.api.post(`/v1/contracts/${contractId}/activate`)).status).toBe(200);
    await step(['contract.activated'], { total: 50000, inEscrow: 0, paid: 0, remaining: 50000 });

    // Work starts only once funded: no submission before.
    const unfunded = await expectRefused(s, () => contractor.api.post(`/v1/milestones/${survey}/submit`), 409, 'invalid_state');
    expect(unfunded.state).toBe('accepted');
    expect((await client.api.post(`/v1/milestones/${survey}/fund`)).body).toMatchObject({ status: 'funded', inEscrow: 30000 });
    const [funded] = await step(['milestone.funded'], { total: 50000, inEscrow: 30000, paid: 0, remaining: 20000 });
    expect(funded).toMatchObject({ milestoneId: survey, actorRole: 'client', data: { amount: 30000, currency: 'USD', status: 'funded' } });

    expect((await contractor.api.post(`/v1/milestones/${survey}/submit`, { note: 'Measurements attached' })).body.status).toBe('submitted');
    const [sub] = await step(['milestone.submitted'], { total: 50000, inEscrow: 30000, paid: 0, remaining: 20000 });
    expect(sub!.data).toMatchObject({ note: 'Measurements attached' });

    // Sent back once (escrow stays), resubmitted, then released.
    expect((await client.api.post(`/v1/milestones/${survey}/reject`, { reason: 'Missing the ceiling height' })).body.status).toBe('funded');
    const [rej] = await step(['milestone.rejected'], { total: 50000, inEscrow: 30000, paid: 0, remaining: 20000 });
    expect(rej!.data).toMatchObject({ reason: 'Missing the ceiling height' });
    expect((await contractor.api.post(`/v1/milestones/${survey}/submit`, { note: 'Added' })).body.status).toBe('submitted');
    await step(['milestone.submitted'], { total: 50000, inEscrow: 30000, paid: 0, remaining: 20000 });
    expect((await client.api.post(`/v1/milestones/${survey}/approve`)).body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 30000 });
    const [appr] = await step(['milestone.approved'], { total: 50000, inEscrow: 0, paid: 30000, remaining: 20000 });
    expect(appr).toMatchObject({ milestoneId: survey, actorRole: 'client', data: { amount: 30000, status: 'paid' } });

    // A new milestone from the client waits for the specialist: not priced until accepted.
    const extra = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Permits', amount: 10000, dueDate: inDays(30) });
    expect(extra.status).toBe(201);
    expect(extra.body).toMatchObject({ status: 'proposed', proposedBy: 'client' });
    await step(['milestone.added'], { total: 50000, inEscrow: 0, paid: 30000, remaining: 20000 });
    expect((await contractor.api.post(`/v1/milestones/${extra.body.id}/accept`)).body.status).toBe('accepted');
    await step(['milestone.accepted'], { total: 60000, inEscrow: 0, paid: 30000, remaining: 30000 });

    // Editing an accepted milestone asks the specialist: 202 with a change request, nothing applied yet.
    const permitsBefore = (await client.api.get(`/v1/milestones/${extra.body.id}`)).body;
    const edit = await client.api.patch(`/v1/milestones/${extra.body.id}`, { amount: 12000, dueDate: inDays(35) });
    expect(edit.status).toBe(202);
    expect(edit.body).toMatchObject({ status: 'open', authorRole: 'client', authorId: client.id, contractId });
    expect(edit.body.id).toMatch(/^cr_/);
    expect(edit.body.diff.milestones).toEqual([
      expect.objectContaining({
        milestoneId: extra.body.id,
        change: 'updated',
        before: expect.objectContaining({ amount: 10000, title: 'Permits' }),
        after: expect.objectContaining({ amount: 12000, dueDate: inDays(35), title: 'Permits' }),
      }),
    ]);
    expect(edit.body.diff.totalAfter - edit.body.diff.totalBefore).toBe(2000);
    expect((await client.api.get(`/v1/milestones/${extra.body.id}`)).body).toEqual(permitsBefore);
    const [opened] = await step(['change_request.opened'], { total: 60000, inEscrow: 0, paid: 30000, remaining: 30000 });
    expect(opened).toMatchObject({ actorRole: 'client', data: { changeRequestId: edit.body.id } });
    expect((await notificationsOf(contractor.api)).map((n) => [n.kind, n.data.changeRequestId])).toContainEqual(['change_request.opened', edit.body.id]);
    // While it is open, no other change to the milestones.
    await expectRefused(s, () => client.api.patch(`/v1/milestones/${drawings}`, { title: 'Plans' }), 409, 'change_request_open');
    // The client cannot accept its own change.
    await expectRefused(s, () => client.api.post(`/v1/change-requests/${edit.body.id}/accept`), 403, 'forbidden');

    const answered = await contractor.api.post(`/v1/change-requests/${edit.body.id}/accept`);
    expect(answered.status).toBe(200);
    expect(answered.body.status).toBe('accepted');
    expect((await client.api.get(`/v1/milestones/${extra.body.id}`)).body).toMatchObject({ amount: 12000, dueDate: inDays(35), status: 'accepted' });
    await step(['change_request.accepted'], { total: 62000, inEscrow: 0, paid: 30000, remaining: 32000 });

    // Fund, release part, then approve the rest.
    expect((await client.api.post(`/v1/milestones/${drawings}/fund`)).body.status).toBe('funded');
    await step(['milestone.funded'], { total: 62000, inEscrow: 20000, paid: 30000, remaining: 12000 });
    expect((await client.api.post(`/v1/milestones/${drawings}/release`, { amount: 5000 })).body).toMatchObject({ status: 'funded', inEscrow: 15000 });
    const [rel] = await step(['milestone.released'], { total: 62000, inEscrow: 15000, paid: 35000, remaining: 12000 });
    expect(rel).toMatchObject({ milestoneId: drawings, data: { amount: 5000 } });
    expect((await contractor.api.post(`/v1/milestones/${drawings}/submit`)).body.status).toBe('submitted');
    await step(['milestone.submitted'], { total: 62000, inEscrow: 15000, paid: 35000, remaining: 12000 });
    expect((await client.api.post(`/v1/milestones/${drawings}/approve`)).body.status).toBe('paid');
    const [last] = await step(['milestone.approved'], { total: 62000, inEscrow: 0, paid: 50000, remaining: 12000 });
    expect(last!.data.amount).toBe(15000);

    // The contractor's payments add up to what the overview calls paid.
    const pays = await contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(pays.body.data.reduce((a: number, p: { amount: number; status: string }) => a + (p.status === 'paid' ? p.amount : 0), 0)).toBe(50000);
  });
});
