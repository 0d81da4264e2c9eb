import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { activityKinds, DAY, expectProblem, HOUR, journalEntries, notificationsOf, runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';

type Parties = Awaited<ReturnType<typeof newParties>>;

// Revision rounds, disputes (default outcome by timer, admin split), auto-approval timers and
// deposits that fail after being accepted. The server's clock only moves forward in this file,
// and every time is taken relative to it.
describe.each(engines())('disputes and timers on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  /** A live contract with one agreed milestone, funded by the client (pm_card_ok). */
  async function fundedMilestone(p: Parties, policy: unknown = 'accept_every_change', amount = 10000) {
    const c = await p.client.api.post('/v1/contracts', {
      title: 'Timed work',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy,
      milestones: [{ title: 'Deliverable', amount, dueDate: inDays(60, serverNow(s)) }],
    });
    expect(c.status).toBe(201);
    const m = c.body.milestones[0];
    if (m.status === 'proposed') expect((await p.contractor.api.post(`/v1/milestones/${m.id}/accept`)).status).toBe(200);
    expect((await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const f = await p.client.api.post(`/v1/milestones/${m.id}/fund`);
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ status: 'funded', inEscrow: amount, fundingPending: false });
    return { contractId: c.body.id as string, milestoneId: m.id as string };
  }

  const milestone = async (p: Parties, id: string) => (await p.client.api.get(`/v1/milestones/${id}`)).body;

  it('caps revision rounds: the fourth rejection is refused, a dispute is then possible', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p);
    for (let round = 1; round <= 3; round++) {
      expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: `try ${round}` })).status).toBe(200);
      const r = await p.client.api.post(`/v1/milestones/${milestoneId}/reject`, { reason: `not yet ${round}` });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'funded', revisionCount: round, lastRejectReason: `not yet ${round}`, inEscrow: 10000 });
    }
    const told = await notificationsOf(p.contractor.api, 'milestone.rejected', contractId, milestoneId);
    expect(told).toHaveLength(3);
    expect(told.map((n) => n.body).join('\n')).toContain('not yet 2');
    // A reason is required.
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: 'try 4' })).status).toBe(200);
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/reject`, {}), 422, 'validation_failed');
    const fourth = await p.client.api.post(`/v1/milestones/${milestoneId}/reject`, { reason: 'still not' });
    expectProblem(fourth, 409, 'revision_limit_reached');
    expect(fourth.body.state).toBe('submitted');
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'submitted', revisionCount: 3 });

    // The client must approve or dispute now: the dispute is open to them.
    const d = await p.client.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'quality' });
    expect(d.status).toBe(201);
    expect(d.body).toMatchObject({ status: 'open', openerRole: 'client', milestoneId });
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'disputed', inEscrow: 10000 });
    // Escrow is frozen while disputed.
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/approve`), 409, 'invalid_state');
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/release`, { amount: 100 }), 409, 'invalid_state');
    expectProblem(await p.contractor.api.post(`/v1/milestones/${milestoneId}/refund`), 409, 'invalid_state');
    expectProblem(await p.contractor.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'again' }), 409, 'invalid_state');
    await expectLedgerClean(s);
  });

  it('a deposit that fails later is reversed by the settle job; the milestone is unfunded again', async () => {
    const p = await newParties(s);
    const c = await p.client.api.post('/v1/contracts', {
      title: 'Late failure',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
      milestones: [{ title: 'Design', amount: 40000, dueDate: inDays(60, serverNow(s)) }],
    });
    expect((await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const contractId = c.body.id as string;
    const milestoneId = c.body.milestones[0].id as string;

    const funded = await p.client.api.post(`/v1/milestones/${milestoneId}/fund`, { paymentMethod: 'pm_card_fails_later' });
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ status: 'funded', fundingPending: true, inEscrow: 40000 });
    // Money that has not arrived cannot be paid out or refunded.
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/approve`), 409, 'funding_pending');
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/release`, { amount: 1000 }), 409, 'funding_pending');
    expectProblem(await p.contractor.api.post(`/v1/milestones/${milestoneId}/refund`), 409, 'funding_pending');
    expectProblem(await p.client.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'x' }), 409, 'funding_pending');
    await expectLedgerClean(s);

    await runJobs(s);
    const after = await milestone(p, milestoneId);
    expect(after).toMatchObject({ status: 'accepted', fundingPending: false, inEscrow: 0 });
    expect((await journalEntries(s, milestoneId)).map((e) => e.kind)).toEqual(['escrow_funding', 'charge_reversal']);
    const view = await p.client.api.get(`/v1/contracts/${contractId}`);
    expect(view.body.overview).toMatchObject({ inEscrow: 0, paid: 0 });
    for (const who of [p.client, p.contractor]) {
      const n = await notificationsOf(who.api, 'milestone.funding_failed', contractId, milestoneId);
      expect(n).toHaveLength(1);
    }
    await expectLedgerClean(s);

    // Running the jobs again moves nothing; the milestone can be funded again with a good card.
    await runJobs(s);
    expect(await journalEntries(s, milestoneId)).toHaveLength(2);
    expect((await notificationsOf(p.client.api, 'milestone.funding_failed', contractId, milestoneId)).length).toBe(1);
    const again = await p.client.api.post(`/v1/milestones/${milestoneId}/fund`, { paymentMethod: 'pm_card_ok' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'funded', fundingPending: false, inEscrow: 40000 });
    expect((await p.client.api.post(`/v1/milestones/${milestoneId}/approve`)).body).toMatchObject({ status: 'paid', inEscrow: 0 });
    await expectLedgerClean(s);
  });

  it('a dispute answered by the other party is split by the admin; bad splits and non-admins are refused', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p);
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: 'done' })).status).toBe(200);
    const opened = await p.contractor.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'client is silent' });
    expect(opened.status).toBe(201);
    const disputeId = opened.body.id as string;
    expect(opened.body.id).toMatch(/^dsp?_/);
    expect(new Date(opened.body.respondBy).getTime() - serverNow(s).getTime()).toBeGreaterThan(7 * DAY - HOUR);
    expect((await notificationsOf(p.client.api, 'dispute.opened', contractId, milestoneId)).length).toBe(1);

    // The opener does not answer their own dispute; a stranger does not see it.
    expectProblem(await p.contractor.api.post(`/v1/disputes/${disputeId}/respond`, { message: 'me' }), 403, 'forbidden');
    const stranger = await newUser(s, 'stranger');
    expectProblem(await stranger.api.get(`/v1/disputes/${disputeId}`), 404, 'not_found');
    expectProblem(await stranger.api.post(`/v1/disputes/${disputeId}/respond`, { message: 'hi' }), 404, 'not_found');

    const answered = await p.client.api.post(`/v1/disputes/${disputeId}/respond`, { message: 'the work is incomplete' });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ status: 'responded', response: { message: 'the work is incomplete' } });
    expectProblem(await p.client.api.post(`/v1/disputes/${disputeId}/respond`, { message: 'again' }), 409, 'invalid_state');
    expect((await notificationsOf(p.contractor.api, 'dispute.responded', contractId, milestoneId)).length).toBe(1);

    // Only the platform admin resolves.
    const split = { releaseAmount: 6000, refundAmount: 4000 };
    expectProblem(await p.client.api.post(`/v1/disputes/${disputeId}/resolve`, split), 403, 'forbidden');
    expectProblem(await p.contractor.api.post(`/v1/disputes/${disputeId}/resolve`, split), 403, 'forbidden');
    expectProblem(await s.admin.actingAs(p.contractor.id).post(`/v1/disputes/${disputeId}/resolve`, split), 403, 'forbidden');
    expectProblem(await stranger.api.post(`/v1/disputes/${disputeId}/resolve`, split), 404, 'not_found');
    // Amounts must sum to the escrow held.
    for (const bad of [
      { releaseAmount: 6000, refundAmount: 3999 },
      { releaseAmount: 6000, refundAmount: 4001 },
      { releaseAmount: 0, refundAmount: 0 },
      { releaseAmount: 10001, refundAmount: 0 },
    ]) {
      expectProblem(await s.admin.post(`/v1/disputes/${disputeId}/resolve`, bad), 422, 'validation_failed');
    }
    const negative = await s.admin.post(`/v1/disputes/${disputeId}/resolve`, { releaseAmount: 11000, refundAmount: -1000 });
    expect(negative.status).toBeGreaterThanOrEqual(400);
    expect(negative.status).toBeLessThan(500);
    expect((await s.admin.get(`/v1/disputes/${disputeId}`)).body).toMatchObject({ status: 'responded', resolution: null });
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'disputed', inEscrow: 10000, releasedAmount: 0, refundedAmount: 0 });
    expect((await journalEntries(s, milestoneId)).map((e) => e.kind)).toEqual(['escrow_funding']);

    // An answered dispute does not resolve by default when its deadline passes.
    await setClock(s, new Date(new Date(opened.body.respondBy).getTime() + HOUR));
    await runJobs(s);
    expect((await s.admin.get(`/v1/disputes/${disputeId}`)).body.status).toBe('responded');
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'disputed', inEscrow: 10000 });

    const resolved = await s.admin.post(`/v1/disputes/${disputeId}/resolve`, split);
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: { releaseAmount: 6000, refundAmount: 4000, by: 'admin' } });
    expect(await milestone(p, milestoneId)).toMatchObject({ inEscrow: 0, releasedAmount: 6000, refundedAmount: 4000 });
    expect((await journalEntries(s, milestoneId)).map((e) => e.kind).sort()).toEqual(['escrow_funding', 'escrow_refund', 'escrow_release', 'refund_paid']);
    expectProblem(await s.admin.post(`/v1/disputes/${disputeId}/resolve`, split), 409, 'invalid_state');
    await runJobs(s);
    expect(await journalEntries(s, milestoneId)).toHaveLength(4);
    const payments = await p.contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(payments.body.data.map((x: { amount: number; kind: string; status: string }) => [x.amount, x.kind, x.status])).toEqual([[6000, 'dispute_release', 'paid']]);
    for (const who of [p.client, p.contractor]) expect((await notificationsOf(who.api, 'dispute.resolved', contractId, milestoneId)).length).toBe(1);
    expect((await p.client.api.get(`/v1/contracts/${contractId}`)).body.overview).toMatchObject({ inEscrow: 0, paid: 6000 });
    await expectLedgerClean(s);
  });

  it('a dispute left unanswered resolves by default for the opener, moving the escrow exactly once', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p);
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: 'done' })).status).toBe(200);
    const t0 = serverNow(s);
    const opened = await p.client.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'not what we agreed' });
    expect(opened.status).toBe(201);
    const disputeId = opened.body.id as string;

    // Not yet due: nothing happens.
    await setClock(s, new Date(t0.getTime() + 7 * DAY - HOUR));
    await runJobs(s);
    expect((await p.client.api.get(`/v1/disputes/${disputeId}`)).body.status).toBe('open');
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'disputed', inEscrow: 10000 });

    // Past disputeResponseDays (7): the client, who opened it, wins; the escrow is refunded.
    await setClock(s, new Date(t0.getTime() + 7 * DAY + HOUR));
    await runJobs(s);
    const d = await p.client.api.get(`/v1/disputes/${disputeId}`);
    expect(d.body).toMatchObject({ status: 'resolved', resolution: { releaseAmount: 0, refundAmount: 10000, by: 'default:opener_wins' } });
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'refunded', inEscrow: 0, refundedAmount: 10000, releasedAmount: 0 });
    const entries = await journalEntries(s, milestoneId);
    // The refund: escrow back to the client, then the provider's answer (refund_paid).
    expect(entries.map((e) => e.kind)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    for (const who of [p.client, p.contractor]) expect((await notificationsOf(who.api, 'dispute.resolved', contractId, milestoneId)).length).toBe(1);

    // Running the jobs again (and later) moves nothing a second time.
    await runJobs(s);
    await setClock(s, new Date(t0.getTime() + 8 * DAY));
    await runJobs(s);
    expect(await journalEntries(s, milestoneId)).toEqual(entries);
    const resolvedRows = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM activity WHERE contract_id = $1 AND kind = 'dispute.resolved'", [contractId]);
    expect(resolvedRows[0]?.n).toBe(1);
    // Too late to answer now.
    expectProblem(await p.contractor.api.post(`/v1/disputes/${disputeId}/respond`, { message: 'late' }), 409, 'invalid_state');
    expect((await p.client.api.get(`/v1/contracts/${contractId}`)).body.overview).toMatchObject({ inEscrow: 0, paid: 0 });
    await expectLedgerClean(s);
  });

  it('refuses a response after the deadline even before the timer has run', async () => {
    const p = await newParties(s);
    const { milestoneId } = await fundedMilestone(p);
    const opened = await p.contractor.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'no answer' });
    expect(opened.status).toBe(201);
    await setClock(s, new Date(new Date(opened.body.respondBy).getTime() + HOUR));
    const late = await p.client.api.post(`/v1/disputes/${opened.body.id}/respond`, { message: 'sorry, late' });
    expectProblem(late, 409, 'invalid_state');
    // The timer then settles it by default: the contractor opened it, so the escrow is released.
    await runJobs(s);
    expect((await p.client.api.get(`/v1/disputes/${opened.body.id}`)).body).toMatchObject({ status: 'resolved', resolution: { releaseAmount: 10000, refundAmount: 0 } });
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'paid', releasedAmount: 10000, inEscrow: 0 });
    await expectLedgerClean(s);
  });

  it('silence follows the policy: disputeResponseDays and disputeDefaultOutcome overrides', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p, { preset: 'accept_every_change', overrides: { disputeResponseDays: 2, disputeDefaultOutcome: 'release' } }, 8000);
    const t0 = serverNow(s);
    const opened = await p.client.api.post(`/v1/milestones/${milestoneId}/dispute`, { reason: 'late' });
    expect(opened.status).toBe(201);
    const window = new Date(opened.body.respondBy).getTime() - t0.getTime();
    expect(window).toBeGreaterThanOrEqual(2 * DAY);
    expect(window).toBeLessThan(2 * DAY + HOUR);
    await setClock(s, new Date(t0.getTime() + 2 * DAY + HOUR));
    await runJobs(s);
    // The client opened it, but this policy releases on silence.
    expect((await p.client.api.get(`/v1/disputes/${opened.body.id}`)).body).toMatchObject({ status: 'resolved', resolution: { releaseAmount: 8000, refundAmount: 0, by: 'default:release' } });
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'paid', releasedAmount: 8000, inEscrow: 0 });
    expect((await p.client.api.get(`/v1/contracts/${contractId}`)).body.overview).toMatchObject({ inEscrow: 0, paid: 8000 });
    await expectLedgerClean(s);
  });

  it('auto-approves a submission at the end of the review period, warning both parties 48 hours before', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p, 'accept_every_change', 25000);
    const t0 = serverNow(s);
    const sub = await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`, { note: 'please review' });
    expect(sub.status).toBe(200);
    expect(sub.body.status).toBe('submitted');

    // 13 days and an hour later: the warning is out, the approval is not.
    await setClock(s, new Date(t0.getTime() + 13 * DAY + HOUR));
    await runJobs(s);
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'submitted', inEscrow: 25000 });
    for (const who of [p.client, p.contractor]) {
      const warned = await notificationsOf(who.api, 'milestone.auto_approval_due', contractId, milestoneId);
      expect(warned).toHaveLength(1);
    }
    expect(await notificationsOf(p.client.api, 'milestone.auto_approved', contractId, milestoneId)).toHaveLength(0);
    expect(await journalEntries(s, milestoneId)).toHaveLength(1);

    // 14 days and a minute: approved by the system, escrow released.
    await setClock(s, new Date(t0.getTime() + 14 * DAY + 60_000));
    await runJobs(s);
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 25000 });
    const kinds = await activityKinds(p.client.api, contractId);
    expect(kinds.filter((k) => k === 'milestone.auto_approved')).toHaveLength(1);
    const act = await p.client.api.get(`/v1/contracts/${contractId}/activity`);
    expect(act.body.data.find((a: { kind: string }) => a.kind === 'milestone.auto_approved')).toMatchObject({ actorRole: 'system', actorId: null, milestoneId });
    for (const who of [p.client, p.contractor]) {
      expect(await notificationsOf(who.api, 'milestone.auto_approved', contractId, milestoneId)).toHaveLength(1);
    }
    const entries = await journalEntries(s, milestoneId);
    expect(entries.map((e) => e.kind)).toEqual(['escrow_funding', 'escrow_release']);

    // Again, and a day later: nothing happens twice.
    await runJobs(s);
    await setClock(s, new Date(t0.getTime() + 15 * DAY));
    await runJobs(s);
    expect(await journalEntries(s, milestoneId)).toEqual(entries);
    for (const who of [p.client, p.contractor]) {
      expect(await notificationsOf(who.api, 'milestone.auto_approved', contractId, milestoneId)).toHaveLength(1);
      expect(await notificationsOf(who.api, 'milestone.auto_approval_due', contractId, milestoneId)).toHaveLength(1);
    }
    const payments = await p.contractor.api.get(`/v1/payments?contractId=${contractId}`);
    expect(payments.body.data.map((x: { amount: number; status: string }) => [x.amount, x.status])).toEqual([[25000, 'paid']]);
    await expectLedgerClean(s);
  });

  it('a rejected-then-resubmitted milestone gets a fresh review period; the stale timer does nothing', async () => {
    const p = await newParties(s);
    const { contractId, milestoneId } = await fundedMilestone(p);
    const t0 = serverNow(s);
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`)).status).toBe(200);
    await setClock(s, new Date(t0.getTime() + 10 * DAY));
    expect((await p.client.api.post(`/v1/milestones/${milestoneId}/reject`, { reason: 'fix it' })).status).toBe(200);
    expect((await p.contractor.api.post(`/v1/milestones/${milestoneId}/submit`)).status).toBe(200);
    // The first period ends: nothing, the second submission has its own.
    await setClock(s, new Date(t0.getTime() + 14 * DAY + HOUR));
    await runJobs(s);
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'submitted', inEscrow: 10000 });
    expect(await notificationsOf(p.client.api, 'milestone.auto_approved', contractId, milestoneId)).toHaveLength(0);
    await setClock(s, new Date(t0.getTime() + 24 * DAY + HOUR));
    await runJobs(s);
    expect(await milestone(p, milestoneId)).toMatchObject({ status: 'paid', inEscrow: 0 });
    expect((await journalEntries(s, milestoneId)).map((e) => e.kind)).toEqual(['escrow_funding', 'escrow_release']);
    await expectLedgerClean(s);
  });
});
