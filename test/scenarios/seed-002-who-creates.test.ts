import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import {
  activityOf, expectRefused, journalCount, journalKindsOf, notificationsOf, overviewOf, timeline,
} from '../support/scenario-helpers.ts';

// Seed 002: who creates the milestones. The customer creates them and the freelancer approves
// each before it can be paid (with three sub-options), or the freelancer creates them and the
// customer pays them.
describe.each(engines())('seed 002 — who creates the milestones on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('client_creates: the freelancer must approve a task before the customer can pay it', async () => {
    const { client, contractor } = await newParties(s);
    // The customer opens the proposal and adds a task to it.
    const c = await client.api.post('/v1/contracts', {
      title: 'Logo',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'client_creates',
      milestones: [{ title: 'Sketches', amount: 20000, dueDate: inDays(7) }],
    });
    expect(c.status).toBe(201);
    expect(c.body.status).toBe('proposal');
    const contractId = c.body.id as string;
    const sketches = c.body.milestones[0];
    expect(sketches).toMatchObject({ status: 'proposed', proposedBy: 'client' });

    // Nothing is paid while the contract is a proposal.
    const notLive = await expectRefused(s, () => client.api.post(`/v1/milestones/${sketches.id}/fund`), 409, 'invalid_state');
    expect(notLive.state).toBe('proposal');
    // The freelancer, not the customer, approves the customer's task.
    await expectRefused(s, () => client.api.post(`/v1/milestones/${sketches.id}/accept`), 403, 'forbidden');
    const acc = await contractor.api.post(`/v1/milestones/${sketches.id}/accept`);
    expect(acc.status).toBe(200);
    expect(acc.body).toMatchObject({ status: 'accepted', proposedBy: null, inEscrow: 0 });
    // The customer is told the task was approved.
    expect((await notificationsOf(client.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.accepted', sketches.id]);

    // More tasks can be added to the proposal; each must be approved separately.
    const finals = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Final files', amount: 30000, dueDate: inDays(14) });
    expect(finals.status).toBe(201);
    expect(finals.body).toMatchObject({ status: 'proposed', proposedBy: 'client' });
    expect((await notificationsOf(contractor.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.added', finals.body.id]);
    // The freelancer does not create tasks under this option.
    await expectRefused(s, () => contractor.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Extra', amount: 5000, dueDate: inDays(3) }), 403, 'forbidden');
    // The customer can delete their own task that is still waiting.
    const extra = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Oops', amount: 1000, dueDate: inDays(3) });
    const gone = await client.api.del(`/v1/milestones/${extra.body.id}`);
    expect(gone.status).toBe(200);
    expect(gone.body.status).toBe('cancelled');

    // The freelancer accepts the proposal: its tasks are approved with it.
    const live = await contractor.api.post(`/v1/contracts/${contractId}/activate`);
    expect(live.status).toBe(200);
    expect(live.body.milestones.filter((m: { status: string }) => m.status !== 'cancelled').map((m: { status: string }) => m.status)).toEqual(['accepted', 'accepted']);
    // A task added once the contract is live waits for the freelancer; until then it cannot be paid.
    const later = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Favicon', amount: 4000, dueDate: inDays(10) });
    expect(later.body).toMatchObject({ status: 'proposed', proposedBy: 'client' });
    const unapproved = await expectRefused(s, () => client.api.post(`/v1/milestones/${later.body.id}/fund`), 409, 'invalid_state');
    expect(unapproved.state).toBe('proposed');
    // Only the customer pays.
    await expectRefused(s, () => contractor.api.post(`/v1/milestones/${sketches.id}/fund`), 403, 'forbidden');

    const funded = await client.api.post(`/v1/milestones/${sketches.id}/fund`);
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ status: 'funded', inEscrow: 20000, fundedAmount: 20000 });
    expect((await notificationsOf(contractor.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.funded', sketches.id]);
    // Under this option a funded task cannot be deleted.
    const fundedDel = await expectRefused(s, () => client.api.del(`/v1/milestones/${sketches.id}`), 409, 'invalid_state');
    expect(fundedDel.state).toBe('funded');
    // The customer approves only once the freelancer marked it complete.
    const notDone = await expectRefused(s, () => client.api.post(`/v1/milestones/${sketches.id}/approve`), 409, 'invalid_state');
    expect(notDone.state).toBe('funded');
    expect((await contractor.api.post(`/v1/milestones/${sketches.id}/submit`, { note: 'Three sketches' })).status).toBe(200);
    const approved = await client.api.post(`/v1/milestones/${sketches.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 20000 });
    const pays = await contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(pays.body.data.map((p: { amount: number; status: string; milestoneId: string }) => [p.amount, p.status, p.milestoneId])).toEqual([[20000, 'paid', sketches.id]]);
    expect(await journalKindsOf(s, sketches.id)).toEqual(['escrow_funding', 'escrow_release']);

    // The task added on the live contract, once the freelancer approves it, can be paid too.
    expect((await contractor.api.post(`/v1/milestones/${later.body.id}/accept`)).body.status).toBe('accepted');
    expect((await client.api.post(`/v1/milestones/${later.body.id}/fund`)).body.status).toBe('funded');
    expect((await client.api.post(`/v1/milestones/${finals.body.id}/fund`)).body.status).toBe('funded');
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 54000, inEscrow: 34000, paid: 20000, remaining: 0, currency: 'USD' });
    await expectLedgerClean(s);
  });

  it('option 1: the customer creates and pays at once, and approves without a submission', async () => {
    const parties = await newParties(s);
    const { client, contractor } = parties;
    const policy = { preset: 'client_creates', overrides: { changesNeedAcceptance: { client: false }, submissionRequired: false } };
    const c = await liveContract(s, parties, policy, [{ title: 'Landing page', amount: 45000 }]);
    expect(c.policy).toMatchObject({ preset: 'client_creates', changesNeedAcceptance: { client: false, contractor: true }, submissionRequired: false });
    const m = c.milestones[0];
    // No approval step for the freelancer: the task is agreed as soon as the customer creates it.
    expect(m).toMatchObject({ status: 'accepted', proposedBy: null });
    const later = await client.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Blog', amount: 15000, dueDate: inDays(20) });
    expect(later.body).toMatchObject({ status: 'accepted', proposedBy: null });

    // Pay straight away: the card is charged and the money held.
    const funded = await client.api.post(`/v1/milestones/${m.id}/fund`);
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ status: 'funded', inEscrow: 45000 });
    expect(await overviewOf(contractor.api, c.id)).toEqual({ total: 60000, inEscrow: 45000, paid: 0, remaining: 15000, currency: 'USD' });

    // No "mark as complete" needed: the customer approves and the funds are released.
    const approved = await client.api.post(`/v1/milestones/${m.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 45000, submission: null });
    expect(await overviewOf(contractor.api, c.id)).toEqual({ total: 60000, inEscrow: 0, paid: 45000, remaining: 15000, currency: 'USD' });
    const pays = await contractor.api.get(`/v1/payments?contractId=${c.id}`);
    expect(pays.body.data.map((p: { amount: number; status: string }) => [p.amount, p.status])).toEqual([[45000, 'paid']]);
    // An unfunded task still cannot be approved: there is nothing to release.
    const unfunded = await expectRefused(s, () => client.api.post(`/v1/milestones/${later.body.id}/approve`), 409, 'invalid_state');
    expect(unfunded.state).toBe('accepted');
    expect(await journalKindsOf(s, m.id)).toEqual(['escrow_funding', 'escrow_release']);
    await expectLedgerClean(s);
  });

  it('option 2: the customer deletes a funded task before it is paid, and the escrow is refunded', async () => {
    const parties = await newParties(s);
    const { client, contractor } = parties;
    const c = await liveContract(s, parties, { preset: 'client_creates', overrides: { deletableUntil: 'funded_unpaid' } }, [
      { title: 'Research', amount: 25000 },
      { title: 'Write-up', amount: 12000 },
      { title: 'Slides', amount: 8000 },
    ]);
    const [research, writeup, slides] = c.milestones as { id: string }[];
    // The freelancer accepted the tasks with the contract.
    expect(c.milestones.map((m: { status: string }) => m.status)).toEqual(['accepted', 'accepted', 'accepted']);
    for (const m of [research!, writeup!, slides!]) expect((await client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
    expect(await overviewOf(client.api, c.id)).toEqual({ total: 45000, inEscrow: 45000, paid: 0, remaining: 0, currency: 'USD' });

    // Delete a funded task: removed at once, its escrow back with the customer.
    const del = await client.api.del(`/v1/milestones/${research!.id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ status: 'cancelled', fundedAmount: 25000, refundedAmount: 25000, releasedAmount: 0, inEscrow: 0 });
    expect(await journalKindsOf(s, research!.id)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    expect(await overviewOf(client.api, c.id)).toEqual({ total: 20000, inEscrow: 20000, paid: 0, remaining: 0, currency: 'USD' });
    const told = (await notificationsOf(contractor.api)).filter((n) => n.kind === 'milestone.deleted');
    expect(told.map((n) => n.data.milestoneId)).toEqual([research!.id]);

    // A submitted (still unpaid) task can be deleted too.
    expect((await contractor.api.post(`/v1/milestones/${writeup!.id}/submit`)).status).toBe(200);
    const del2 = await client.api.del(`/v1/milestones/${writeup!.id}`);
    expect(del2.status).toBe(200);
    expect(del2.body).toMatchObject({ status: 'cancelled', refundedAmount: 12000, inEscrow: 0 });

    // Once paid, it can no longer be deleted.
    expect((await contractor.api.post(`/v1/milestones/${slides!.id}/submit`)).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${slides!.id}/approve`)).body.status).toBe('paid');
    const paidDel = await expectRefused(s, () => client.api.del(`/v1/milestones/${slides!.id}`), 409, 'invalid_state');
    expect(paidDel.state).toBe('paid');
    expect(await overviewOf(contractor.api, c.id)).toEqual({ total: 8000, inEscrow: 0, paid: 8000, remaining: 0, currency: 'USD' });
    const refunds = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1 AND kind = 'escrow_refund'", [c.id]);
    expect(refunds[0]!.n).toBe(2);
    await expectLedgerClean(s);
  });

  it('option 3: the customer is charged when the freelancer approves the task on a live contract', async () => {
    const parties = await newParties(s);
    const { client, contractor } = parties;
    const policy = { preset: 'client_creates', overrides: { fundingTrigger: 'on_acceptance' } };
    const c0 = await client.api.post('/v1/contracts', {
      title: 'App',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy,
      milestones: [{ title: 'Prototype', amount: 60000, dueDate: inDays(10) }],
    });
    expect(c0.status).toBe(201);
    const contractId = c0.body.id as string;
    const proto = c0.body.milestones[0].id as string;

    // Approved during the proposal stage: no payment can be taken yet.
    const early = await contractor.api.post(`/v1/milestones/${proto}/accept`);
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ status: 'accepted', inEscrow: 0 });
    expect(await journalCount(s, contractId)).toBe(0);
    expect((await contractor.api.post(`/v1/contracts/${contractId}/activate`)).status).toBe(200);
    expect(await overviewOf(client.api, contractId)).toMatchObject({ inEscrow: 0 });
    expect(await journalCount(s, contractId)).toBe(0);

    // On the live contract, the freelancer's approval charges the customer's saved card.
    const tl = timeline(contractor.api, contractId);
    await tl.expectNew(['contract.created', 'milestone.accepted', 'contract.activated']);
    const beta = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Beta', amount: 40000, dueDate: inDays(20) });
    expect(beta.body.status).toBe('proposed');
    await tl.expectNew(['milestone.added']);
    expect(await journalCount(s, contractId)).toBe(0);
    const accepted = await contractor.api.post(`/v1/milestones/${beta.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'funded', inEscrow: 40000, fundedAmount: 40000 });
    const fresh = await tl.expectNew(['milestone.accepted', 'milestone.funded']);
    // The charge is the system's doing (not the freelancer's, nor a client action): both sides are told.
    expect(fresh.find((a) => a.kind === 'milestone.funded')).toMatchObject({ actorRole: 'system', actorId: null, data: { trigger: 'on_acceptance', amount: 40000 } });
    expect(fresh.find((a) => a.kind === 'milestone.accepted')).toMatchObject({ actorRole: 'contractor', actorId: contractor.id });
    expect(await journalKindsOf(s, beta.body.id)).toEqual(['escrow_funding']);
    const funding = await s.db.query<{ amount: number; payment_method: string; status: string }>('SELECT amount, payment_method, status FROM fundings WHERE milestone_id = $1', [beta.body.id]);
    expect(funding).toEqual([{ amount: 40000, payment_method: 'pm_card_ok', status: 'succeeded' }]);
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 100000, inEscrow: 40000, paid: 0, remaining: 60000, currency: 'USD' });
    for (const who of [client, contractor]) {
      expect((await notificationsOf(who.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.funded', beta.body.id]);
    }

    // The task accepted before the contract went live is paid by the customer as usual.
    expect((await client.api.post(`/v1/milestones/${proto}/fund`)).body).toMatchObject({ status: 'funded', inEscrow: 60000 });
    expect(await overviewOf(client.api, contractId)).toMatchObject({ inEscrow: 100000, remaining: 0 });

    // If the saved card is declined, the approval stands, nothing is charged, both sides are told.
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    const gamma = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Launch', amount: 10000, dueDate: inDays(30) });
    await tl.expectNew(['milestone.funded', 'milestone.added']);
    const entries = await journalCount(s, contractId);
    const declined = await contractor.api.post(`/v1/milestones/${gamma.body.id}/accept`);
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ status: 'accepted', inEscrow: 0, fundedAmount: 0 });
    const failed = await tl.expectNew(['milestone.accepted', 'milestone.funding_failed']);
    expect(failed.find((a) => a.kind === 'milestone.funding_failed')!.data).toMatchObject({ reason: 'payment_declined' });
    expect(await journalCount(s, contractId)).toBe(entries);
    expect(await s.db.query('SELECT id FROM fundings WHERE milestone_id = $1', [gamma.body.id])).toEqual([]);
    for (const who of [client, contractor]) {
      expect((await notificationsOf(who.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.funding_failed', gamma.body.id]);
    }
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 110000, inEscrow: 100000, paid: 0, remaining: 10000, currency: 'USD' });
    await expectLedgerClean(s);
  });

  it('contractor_creates: the freelancer adds tasks, the customer pays and approves', async () => {
    const parties = await newParties(s);
    const { client, contractor } = parties;
    // The customer cannot put milestones in a proposal under this policy either.
    await expectRefused(
      s,
      () =>
        client.api.post('/v1/contracts', {
          title: 'Copy',
          clientId: client.id,
          contractorId: contractor.id,
          type: 'fixed',
          currency: 'USD',
          policy: 'contractor_creates',
          milestones: [{ title: 'Draft', amount: 9000, dueDate: inDays(5) }],
        }),
      403,
      'forbidden',
    );
    const c = await liveContract(s, parties, 'contractor_creates', [], { by: 'contractor' });
    const contractId = c.id as string;

    // No "Add task" for the customer.
    await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Mine', amount: 9000, dueDate: inDays(5) }), 403, 'forbidden');

    // The freelancer adds a task; the customer is notified and can pay it.
    const tl = timeline(client.api, contractId);
    await tl.expectNew(['contract.created', 'contract.activated']);
    const added = await contractor.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Product copy', amount: 32000, dueDate: inDays(9) });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ status: 'accepted', proposedBy: null });
    await tl.expectNew(['milestone.added']);
    expect((await notificationsOf(client.api)).map((n) => [n.kind, n.data.milestoneId])).toContainEqual(['milestone.added', added.body.id]);

    expect((await client.api.post(`/v1/milestones/${added.body.id}/fund`)).body).toMatchObject({ status: 'funded', inEscrow: 32000 });
    await tl.expectNew(['milestone.funded']);
    // "Milestone completed" by the freelancer, then the customer approves: funds move to the freelancer.
    await expectRefused(s, () => client.api.post(`/v1/milestones/${added.body.id}/submit`), 403, 'forbidden');
    expect((await contractor.api.post(`/v1/milestones/${added.body.id}/submit`, { note: 'All pages' })).body.status).toBe('submitted');
    await tl.expectNew(['milestone.submitted']);
    await expectRefused(s, () => contractor.api.post(`/v1/milestones/${added.body.id}/approve`), 403, 'forbidden');
    const approved = await client.api.post(`/v1/milestones/${added.body.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 32000 });
    await tl.expectNew(['milestone.approved']);
    const pays = await contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(pays.body.data.map((p: { amount: number; status: string }) => [p.amount, p.status])).toEqual([[32000, 'paid']]);
    expect(await overviewOf(contractor.api, contractId)).toEqual({ total: 32000, inEscrow: 0, paid: 32000, remaining: 0, currency: 'USD' });
    expect((await activityOf(contractor.api, contractId)).every((a) => a.kind !== 'milestone.accepted')).toBe(true);
    await expectLedgerClean(s);
  });
});
