import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import {
  activityOf, dbSnapshot, expectProblem, expectRefused, expectUnchanged, fieldsOf, journalCount, notificationsOf, overviewOf, statusesOf,
} from '../support/scenario-helpers.ts';

// Seed 000: a company manages its contractor's milestones itself (no escrow). It adds, edits
// and deletes them directly; the contractor marks them done; the company approves (a draft
// payment appears in "Pay contractor") or rejects with a reason the contractor receives; the
// company pays drafts one by one or in bulk, and both sides see the payment status.
describe.each(engines())('seed 000 — company-managed milestones on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  /** A live company_managed contract; returns ids of its milestones in order. */
  async function setup(milestones: { title: string; amount: number }[]) {
    const parties = await newParties(s);
    const c = await liveContract(s, parties, 'company_managed', milestones);
    return { ...parties, contractId: c.id as string, ids: (c.milestones as { id: string }[]).map((m) => m.id) };
  }

  /** The contractor marks a milestone done and the company approves it; returns the draft payment id. */
  async function submitAndApprove(p: Awaited<ReturnType<typeof setup>>, milestoneId: string) {
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: 'done' })).status).toBe(200);
    const a = await p.client.api.post(`/v1/milestones/${milestoneId}/approve`);
    expect(a.status).toBe(200);
    expect(a.body.status).toBe('approved');
    const drafts = await p.client.api.get(`/v1/payments?contractId=${p.contractId}&status=draft`);
    const d = drafts.body.data.find((x: { milestoneId: string }) => x.milestoneId === milestoneId);
    expect(d).toBeDefined();
    return d.id as string;
  }

  it('the company adds, edits and deletes milestones directly; the contractor cannot add', async () => {
    const p = await setup([{ title: 'Onboarding', amount: 50000 }]);
    const { client, contractor, contractId } = p;
    // Milestones the company sets up need no acceptance: they are agreed at once.
    const first = await client.api.get(`/v1/milestones/${p.ids[0]}`);
    expect(first.body).toMatchObject({ status: 'accepted', proposedBy: null, amount: 50000, currency: 'USD' });

    // Add: title, deadline and amount are required; the description is optional.
    const added = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Reporting', amount: 75000, dueDate: inDays(14) });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ status: 'accepted', proposedBy: null, title: 'Reporting', amount: 75000, dueDate: inDays(14), description: null, position: 2 });
    const described = await client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Handover', amount: 10000, dueDate: inDays(21), description: 'Docs and access' });
    expect(described.status).toBe(201);
    expect(described.body.description).toBe('Docs and access');
    for (const missing of ['title', 'amount', 'dueDate'] as const) {
      const body: Record<string, unknown> = { title: 'X', amount: 100, dueDate: inDays(5) };
      delete body[missing];
      const r = await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, body), 422, 'validation_failed');
      expect(r.errors!.map((e) => e.field)).toContain(missing);
    }
    // The contractor is told about a milestone the company added.
    const told = await notificationsOf(contractor.api);
    expect(told.filter((n) => n.kind === 'milestone.added' && n.contractId === contractId).map((n) => n.data.milestoneId)).toEqual(
      expect.arrayContaining([added.body.id, described.body.id]),
    );

    // Edit: applied at once (200, not a change request).
    const edited = await client.api.patch(`/v1/milestones/${added.body.id}`, { title: 'Monthly reporting', amount: 80000, dueDate: inDays(15) });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: added.body.id, status: 'accepted', title: 'Monthly reporting', amount: 80000, dueDate: inDays(15), version: added.body.version + 1 });
    expect((await s.db.query("SELECT count(*)::int AS n FROM change_requests WHERE contract_id = $1", [contractId]))[0]).toEqual({ n: 0 });

    // Delete: removed at once, gone from both lists.
    const deleted = await client.api.del(`/v1/milestones/${described.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('cancelled');
    expect(await statusesOf(client.api, contractId, 'pending')).toEqual([
      [p.ids[0], 'accepted'],
      [added.body.id, 'accepted'],
    ]);
    expect(await statusesOf(client.api, contractId, 'approved')).toEqual([]);

    // The contractor may not add milestones under this policy.
    await expectRefused(s, () => contractor.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Mine', amount: 1000, dueDate: inDays(3) }), 403, 'forbidden');

    const kinds = (await activityOf(contractor.api, contractId)).map((a) => a.kind);
    expect(kinds.filter((k) => k === 'milestone.added')).toHaveLength(2);
    expect(kinds).toContain('milestone.updated');
    expect(kinds).toContain('milestone.deleted');
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 130000, inEscrow: 0, paid: 0, remaining: 130000, currency: 'USD' });
    // No escrow policy: nothing touched the ledger.
    expect(await journalCount(s, contractId)).toBe(0);
    await expectLedgerClean(s);
  });

  it('pending vs approved; reject needs a reason the contractor sees; resubmit; approve makes a draft payment', async () => {
    const p = await setup([
      { title: 'Audit', amount: 120000 },
      { title: 'Fixes', amount: 30000 },
    ]);
    const { client, contractor, contractId } = p;
    const [audit, fixes] = p.ids as [string, string];
    expect(await statusesOf(client.api, contractId, 'pending')).toEqual([
      [audit, 'accepted'],
      [fixes, 'accepted'],
    ]);
    expect(await statusesOf(contractor.api, contractId, 'approved')).toEqual([]);

    // Nothing to review yet: the contractor has not marked it done.
    const early = await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/approve`), 409, 'invalid_state');
    expect(early.state).toBe('accepted');
    // Only the contractor marks work done.
    await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/submit`, { note: 'x' }), 403, 'forbidden');

    const submitted = await contractor.api.post(`/v1/milestones/${audit}/submit`, { note: 'Report attached' });
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ status: 'submitted', submission: { note: 'Report attached' } });
    // Completed but awaiting review: still pending.
    expect(await statusesOf(client.api, contractId, 'pending')).toEqual([
      [audit, 'submitted'],
      [fixes, 'accepted'],
    ]);
    // Only the company reviews.
    await expectRefused(s, () => contractor.api.post(`/v1/milestones/${audit}/approve`), 403, 'forbidden');
    await expectRefused(s, () => contractor.api.post(`/v1/milestones/${audit}/reject`, { reason: 'self' }), 403, 'forbidden');

    // A rejection needs a reason.
    await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/reject`, { reason: '' }), 422, 'validation_failed', 'reason');
    await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/reject`, { reason: '   ' }), 422, 'validation_failed', 'reason');
    await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/reject`, {}), 422, 'validation_failed', 'reason');
    await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/reject`), 422, 'validation_failed');

    const reason = 'Section 3 is missing the data retention findings';
    const rejected = await client.api.post(`/v1/milestones/${audit}/reject`, { reason });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'in_progress', lastRejectReason: reason, revisionCount: 1 });
    expect(await statusesOf(client.api, contractId, 'pending')).toContainEqual([audit, 'in_progress']);

    // The contractor sees the reason in the timeline and in their notifications.
    const act = (await activityOf(contractor.api, contractId)).filter((a) => a.kind === 'milestone.rejected');
    expect(act).toHaveLength(1);
    expect(act[0]).toMatchObject({ milestoneId: audit, actorRole: 'client', actorId: client.id, data: { reason } });
    const note = (await notificationsOf(contractor.api)).filter((n) => n.kind === 'milestone.rejected');
    expect(note).toHaveLength(1);
    expect(note[0]!.data).toMatchObject({ reason, milestoneId: audit });
    expect(note[0]!.body).toContain(reason);
    // The company, who rejected, is not notified of its own action.
    expect((await notificationsOf(client.api)).filter((n) => n.kind === 'milestone.rejected')).toEqual([]);
    expect((await contractor.api.get(`/v1/milestones/${audit}`)).body.lastRejectReason).toBe(reason);

    // The contractor revises and resubmits; the company approves.
    const again = await contractor.api.post(`/v1/milestones/${audit}/submit`, { note: 'Added section 3' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'submitted', submission: { note: 'Added section 3' } });
    expect((await client.api.get(`/v1/payments?contractId=${contractId}`)).body.data).toEqual([]);
    const approved = await client.api.post(`/v1/milestones/${audit}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    // Approving twice is a state error, and creates no second payment.
    const twice = await expectRefused(s, () => client.api.post(`/v1/milestones/${audit}/approve`), 409, 'invalid_state');
    expect(twice.state).toBe('approved');

    // It moves to the approved section.
    expect(await statusesOf(client.api, contractId, 'approved')).toEqual([[audit, 'approved']]);
    expect(await statusesOf(contractor.api, contractId, 'pending')).toEqual([[fixes, 'accepted']]);

    // A draft payment is generated; both sides see it with its status.
    for (const who of [client, contractor]) {
      const pays = await who.api.get(`/v1/payments?contractId=${contractId}`);
      expect(pays.status).toBe(200);
      expect(pays.body.data).toHaveLength(1);
      expect(pays.body.data[0]).toMatchObject({ milestoneId: audit, amount: 120000, currency: 'USD', status: 'draft', paidAt: null, clientId: client.id, contractorId: contractor.id });
    }
    const draftId = (await contractor.api.get(`/v1/payments?contractId=${contractId}`)).body.data[0].id;
    // The timeline records the approval and the draft payment it generated; the contractor is told of both.
    const latest = (await activityOf(contractor.api, contractId)).slice(0, 2);
    expect(latest.map((a) => a.kind).sort()).toEqual(['milestone.approved', 'payment.created']);
    expect(latest.find((a) => a.kind === 'payment.created')).toMatchObject({ milestoneId: audit, actorRole: 'client', data: { paymentId: draftId, amount: 120000, status: 'draft' } });
    const toldDraft = (await notificationsOf(contractor.api)).filter((n) => n.kind === 'payment.created');
    expect(toldDraft.map((n) => n.data.paymentId)).toEqual([draftId]);
    expect(await overviewOf(contractor.api, contractId)).toEqual({ total: 150000, inEscrow: 0, paid: 0, remaining: 150000, currency: 'USD' });
    expect(await journalCount(s, contractId)).toBe(0);
    await expectLedgerClean(s);
  });

  it('the company pays drafts one by one and in bulk; both parties see the status', async () => {
    const p = await setup([
      { title: 'Sprint 1', amount: 40000 },
      { title: 'Sprint 2', amount: 25000 },
      { title: 'Sprint 3', amount: 35000 },
    ]);
    const { client, contractor, contractId } = p;
    const [pay1, pay2, pay3] = [await submitAndApprove(p, p.ids[0]!), await submitAndApprove(p, p.ids[1]!), await submitAndApprove(p, p.ids[2]!)];

    // Only the company pays; a stranger does not even see the payment.
    await expectRefused(s, () => contractor.api.post(`/v1/payments/${pay1}/pay`), 403, 'forbidden');
    const stranger = await newUser(s, 'stranger');
    await expectRefused(s, () => stranger.api.post(`/v1/payments/${pay1}/pay`), 404, 'not_found');
    await expectRefused(s, () => stranger.api.post('/v1/payments/pay', { paymentIds: [pay1, pay2] }), 404, 'not_found');
    expect((await stranger.api.get(`/v1/payments/${pay1}`)).status).toBe(404);
    expect((await stranger.api.get(`/v1/payments?contractId=${contractId}`)).body.data).toEqual([]);

    // Pay one.
    const one = await client.api.post(`/v1/payments/${pay1}/pay`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: pay1, status: 'paid', amount: 40000 });
    expect(one.body.paidAt).toEqual(expect.any(String));
    expect((await contractor.api.get(`/v1/milestones/${p.ids[0]}`)).body.status).toBe('paid');
    const again = await expectRefused(s, () => client.api.post(`/v1/payments/${pay1}/pay`), 409, 'invalid_state');
    expect(again.state).toBe('paid');
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 100000, inEscrow: 0, paid: 40000, remaining: 60000, currency: 'USD' });

    // A bulk payment is all or nothing: one already-paid payment refuses the whole batch.
    await expectRefused(s, () => client.api.post('/v1/payments/pay', { paymentIds: [pay2, pay1] }), 409, 'invalid_state');
    expect((await client.api.get(`/v1/payments/${pay2}`)).body.status).toBe('draft');

    // Pay the rest in bulk.
    const bulk = await client.api.post('/v1/payments/pay', { paymentIds: [pay2, pay3] });
    expect(bulk.status).toBe(200);
    expect(bulk.body.data.map((x: { id: string; status: string }) => [x.id, x.status]).sort()).toEqual([[pay2, 'paid'], [pay3, 'paid']].sort());

    // Both parties see every payment as paid, and the milestones in the approved section as paid.
    for (const who of [client, contractor]) {
      const all = await who.api.get(`/v1/payments?contractId=${contractId}`);
      expect(all.body.data.map((x: { id: string; status: string; amount: number }) => [x.id, x.status, x.amount]).sort()).toEqual(
        [[pay1, 'paid', 40000], [pay2, 'paid', 25000], [pay3, 'paid', 35000]].sort(),
      );
      expect((await who.api.get(`/v1/payments?contractId=${contractId}&status=draft`)).body.data).toEqual([]);
      expect(await statusesOf(who.api, contractId, 'approved')).toEqual(p.ids.map((id) => [id, 'paid']));
      expect(await statusesOf(who.api, contractId, 'pending')).toEqual([]);
    }
    expect(await overviewOf(contractor.api, contractId)).toEqual({ total: 100000, inEscrow: 0, paid: 100000, remaining: 0, currency: 'USD' });
    const paidEvents = (await activityOf(contractor.api, contractId)).filter((a) => a.kind === 'payment.paid');
    expect(paidEvents.map((a) => a.data.paymentId).sort()).toEqual([pay1, pay2, pay3].sort());
    expect((await notificationsOf(contractor.api)).filter((n) => n.kind === 'payment.paid')).toHaveLength(3);
    expect(await journalCount(s, contractId)).toBe(3);
    await expectLedgerClean(s);
  });

  it('a declined card answers 402 payment_declined and changes nothing', async () => {
    const p = await setup([
      { title: 'Part A', amount: 20000 },
      { title: 'Part B', amount: 15000 },
    ]);
    const { client, contractor, contractId } = p;
    const payA = await submitAndApprove(p, p.ids[0]!);
    const payB = await submitAndApprove(p, p.ids[1]!);

    const before = await dbSnapshot(s);
    const ledgerBefore = await expectLedgerClean(s);
    const single = await client.api.post(`/v1/payments/${payA}/pay`, { paymentMethod: 'pm_card_declined' });
    expectProblem(single, 402, 'payment_declined');
    const bulk = await client.api.post('/v1/payments/pay', { paymentIds: [payA, payB], paymentMethod: 'pm_card_declined' });
    expectProblem(bulk, 402, 'payment_declined');
    await expectUnchanged(s, before);

    // The saved default card is declined too.
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    expectProblem(await client.api.post(`/v1/payments/${payB}/pay`), 402, 'payment_declined');
    await expectUnchanged(s, before);
    const ledgerAfter = await expectLedgerClean(s);
    expect(ledgerAfter.entries).toEqual(ledgerBefore.entries);

    for (const who of [client, contractor]) {
      const pays = await who.api.get(`/v1/payments?contractId=${contractId}`);
      expect(pays.body.data.map((x: { status: string }) => x.status)).toEqual(['draft', 'draft']);
    }
    expect(await overviewOf(client.api, contractId)).toMatchObject({ paid: 0, remaining: 35000 });

    // With a working card the same drafts are paid.
    const ok = await client.api.post('/v1/payments/pay', { paymentIds: [payA, payB], paymentMethod: 'pm_card_ok' });
    expect(ok.status).toBe(200);
    expect(ok.body.data.map((x: { status: string }) => x.status)).toEqual(['paid', 'paid']);
    expect(await overviewOf(contractor.api, contractId)).toMatchObject({ paid: 35000, remaining: 0 });
    expect(fieldsOf(await client.api.post(`/v1/payments/${payA}/pay`, { paymentMethod: 'visa' }))).toContain('paymentMethod');
    await expectLedgerClean(s);
  });
});
