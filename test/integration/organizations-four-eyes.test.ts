import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newUser, startTestServer, type Client, type TestServer } from '../support/harness.ts';
import { expectProblem } from '../support/negotiation-helpers.ts';

// Four eyes (issue 11, item 4): an organisation's approval threshold per currency; approving,
// releasing or paying an amount at or above it needs a second member.
describe.each(engines())('organisation four eyes on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  async function company() {
    const owner = await newUser(s, 'owner');
    const orgId = (await owner.api.post('/v1/organizations', { name: 'Four Eyes Ltd' })).body.id as string;
    const join = async (name: string, roles: string[]) => {
      const u = await newUser(s, name);
      await s.db.query('INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, $3, now())', [orgId, u.id, roles]);
      return u;
    };
    const m = { ann: await join('ann', ['manager']), ben: await join('ben', ['manager']), fay: await join('fay', ['finance']), fred: await join('fred', ['finance']) };
    expect((await m.fay.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const contractor = await newUser(s, 'contractor');
    return { owner, orgId, ...m, contractor };
  }

  async function contract(by: Client, orgId: string, contractor: { id: string; api: Client }, policy: unknown, amounts: number[]) {
    const c = await by.post('/v1/contracts', {
      title: 'Four eyes', clientId: orgId, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy,
      milestones: amounts.map((amount, i) => ({ title: `M${i}`, amount, dueDate: inDays(30) })),
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const a = await contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return { id: c.body.id as string, ms: (a.body.milestones as { id: string }[]).map((m) => m.id) };
  }

  /** Journal entries of a contract by kind: the ledger moves exactly once or not at all. */
  const entries = async (contractId: string) =>
    Object.fromEntries(
      (await s.db.query<{ kind: string; n: number }>('SELECT kind, count(*)::int AS n FROM journal_entries WHERE contract_id = $1 GROUP BY kind', [contractId])).map((r) => [r.kind, r.n]),
    );

  it('the threshold is an admin setting, per currency, validated', async () => {
    const { owner, orgId, ann } = await company();
    const denied = await ann.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } });
    expectProblem(denied, 403, 'forbidden');
    expect(denied.body.missingRole).toBe('admin');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { usd: 50000 } }), 422, 'validation_failed');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 0 } }), 422, 'validation_failed');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 1.5 } }), 422, 'validation_failed');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}`, {}), 422, 'validation_failed');
    expect((await owner.api.get(`/v1/organizations/${orgId}`)).body).toMatchObject({ name: 'Four Eyes Ltd', approvalThreshold: {} });
    const set = await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000, EUR: 40000 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ name: 'Four Eyes Ltd', approvalThreshold: { USD: 50000, EUR: 40000 } });
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { name: 'Renamed' })).body).toMatchObject({ name: 'Renamed', approvalThreshold: { USD: 50000, EUR: 40000 } });
  });

  it('escrow: the first approval leaves the milestone approval_pending; the same member is refused; a second member releases once; below the threshold nothing changes', async () => {
    const { owner, orgId, ann, ben, fay, contractor } = await company();
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } })).status).toBe(200);
    const c = await contract(ann.api, orgId, contractor, { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } }, [60000, 49999, 80000]);
    for (const m of c.ms) expect((await fay.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const [big, small, partial] = c.ms as [string, string, string];
    expect((await contractor.api.post(`/v1/milestones/${big}/submit`, { note: 'done' })).status).toBe(200);
    const before = await entries(c.id);

    const first = await ann.api.post(`/v1/milestones/${big}/approve`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: 'approval_pending', inEscrow: 60000, releasedAmount: 0, pendingApproval: { approvedBy: ann.id, action: 'approve', amount: 60000 } });
    expect(await entries(c.id)).toEqual(before);
    // The other members are told; the activity names the member.
    const notes = (await ben.api.get('/v1/notifications')).body.data as { kind: string; contractId: string }[];
    expect(notes.some((n) => n.kind === 'milestone.approval_pending' && n.contractId === c.id)).toBe(true);
    expect(((await contractor.api.get('/v1/notifications')).body.data as { kind: string }[]).some((n) => n.kind === 'milestone.approval_pending')).toBe(false);

    // The same member twice: refused, nothing changes.
    const twice = await ann.api.post(`/v1/milestones/${big}/approve`);
    expectProblem(twice, 403, 'second_approver_required');
    expect(twice.body.approvedBy).toBe(ann.id);
    const still = (await ann.api.get(`/v1/milestones/${big}`)).body;
    expect(still).toMatchObject({ status: 'approval_pending', version: first.body.version });
    // Finance does not approve (the manager's role), whether first or second.
    expect((await fay.api.post(`/v1/milestones/${big}/approve`)).body.missingRole).toBe('manager');
    // A release is not the confirmation of an approval.
    expectProblem(await ben.api.post(`/v1/milestones/${big}/release`, { amount: 60000 }), 409, 'invalid_state');

    const second = await ben.api.post(`/v1/milestones/${big}/approve`);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 60000, pendingApproval: null });
    expect(await entries(c.id)).toEqual({ ...before, escrow_release: (before.escrow_release ?? 0) + 1 });
    expectProblem(await ann.api.post(`/v1/milestones/${big}/approve`), 409, 'invalid_state');
    expect(await entries(c.id)).toEqual({ ...before, escrow_release: (before.escrow_release ?? 0) + 1 });

    // Below the threshold: one approval pays.
    expect((await contractor.api.post(`/v1/milestones/${small}/submit`, { note: 'done' })).status).toBe(200);
    expect((await ann.api.post(`/v1/milestones/${small}/approve`)).body).toMatchObject({ status: 'paid', pendingApproval: null });

    // A partial release at or above the threshold: the second member must release the same amount.
    const r1 = await ann.api.post(`/v1/milestones/${partial}/release`, { amount: 50000 });
    expect(r1.status, JSON.stringify(r1.body)).toBe(200);
    expect(r1.body).toMatchObject({ status: 'approval_pending', inEscrow: 80000, pendingApproval: { approvedBy: ann.id, action: 'release', amount: 50000 } });
    expectProblem(await ann.api.post(`/v1/milestones/${partial}/release`, { amount: 50000 }), 403, 'second_approver_required');
    expectProblem(await ben.api.post(`/v1/milestones/${partial}/release`, { amount: 40000 }), 409, 'invalid_state');
    const r2 = await ben.api.post(`/v1/milestones/${partial}/release`, { amount: 50000 });
    expect(r2.status, JSON.stringify(r2.body)).toBe(200);
    expect(r2.body).toMatchObject({ status: 'funded', inEscrow: 30000, releasedAmount: 50000, pendingApproval: null });
    // What is left is below the threshold: released by one member.
    expect((await ann.api.post(`/v1/milestones/${partial}/release`, { amount: 30000 })).body).toMatchObject({ status: 'paid', inEscrow: 0 });

    const overview = (await owner.api.get(`/v1/contracts/${c.id}`)).body.overview;
    expect(overview).toMatchObject({ inEscrow: 0, paid: 60000 + 49999 + 80000 });
    await expectLedgerClean(s);
  });

  it('a pending approval does not block the contractor or a rejection: rejecting withdraws it', async () => {
    const { owner, orgId, ann, ben, fay, contractor } = await company();
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } })).status).toBe(200);
    const c = await contract(ann.api, orgId, contractor, 'sequential_escrow', [70000]);
    const m = c.ms[0]!;
    expect((await fay.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect((await contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'v1' })).status).toBe(200);
    expect((await ann.api.post(`/v1/milestones/${m}/approve`)).body.status).toBe('approval_pending');
    // The client may not close while a half-approved milestone waits.
    expectProblem(await fay.api.post(`/v1/contracts/${c.id}/close`, {}), 409, 'invalid_state');
    const rejected = await ben.api.post(`/v1/milestones/${m}/reject`, { reason: 'not yet' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'funded', pendingApproval: null, inEscrow: 70000 });
    // Closing may not release what one member may not release alone; nothing changes.
    expectProblem(await fay.api.post(`/v1/contracts/${c.id}/close`, { release: 70000 }), 403, 'second_approver_required');
    expectProblem(await fay.api.post(`/v1/contracts/${c.id}/close`, { release: 50000, refund: 20000 }), 403, 'second_approver_required');
    expect((await fay.api.get(`/v1/contracts/${c.id}`)).body.status).toBe('active');
    // Resubmitted, the approval starts again from one.
    expect((await contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'v2' })).status).toBe(200);
    expect((await ben.api.post(`/v1/milestones/${m}/approve`)).body).toMatchObject({ status: 'approval_pending', pendingApproval: { approvedBy: ben.id } });
    // The contractor may still give the escrow back.
    expect((await contractor.api.post(`/v1/milestones/${m}/refund`)).body).toMatchObject({ status: 'refunded', pendingApproval: null, inEscrow: 0 });
    await expectLedgerClean(s);
  });

  it('without escrow: approval and the draft payment each need two members; bulk pay charges once', async () => {
    const { owner, orgId, ann, ben, fay, fred, contractor } = await company();
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } })).status).toBe(200);
    const c = await contract(ann.api, orgId, contractor, 'company_managed', [50000, 20000]);
    const [big, small] = c.ms as [string, string];
    for (const m of c.ms) expect((await contractor.api.post(`/v1/milestones/${m}/submit`, {})).status).toBe(200);
    expect((await ann.api.post(`/v1/milestones/${big}/approve`)).body).toMatchObject({ status: 'approval_pending', pendingApproval: { action: 'approve', amount: 50000 } });
    expect((await s.db.query('SELECT id FROM payments WHERE contract_id = $1', [c.id])).length).toBe(0);
    expect((await ben.api.post(`/v1/milestones/${big}/approve`)).body).toMatchObject({ status: 'approved' });
    expect((await ann.api.post(`/v1/milestones/${small}/approve`)).body).toMatchObject({ status: 'approved' });
    const drafts = (await fay.api.get(`/v1/payments?contractId=${c.id}&status=draft`)).body.data as { id: string; amount: number }[];
    expect(drafts.map((d) => d.amount).sort()).toEqual([20000, 50000]);
    const bigPay = drafts.find((d) => d.amount === 50000)!.id;
    const smallPay = drafts.find((d) => d.amount === 20000)!.id;

    // The first finance member's payment of the big draft charges nothing; the small one is paid at once.
    const before = await entries(c.id);
    const firstPay = await fay.api.post('/v1/payments/pay', { paymentIds: [bigPay, smallPay] });
    expect(firstPay.status, JSON.stringify(firstPay.body)).toBe(200);
    const byId = new Map((firstPay.body.data as { id: string }[]).map((p) => [p.id, p]));
    expect(byId.get(bigPay)).toMatchObject({ status: 'draft', pendingApproval: { approvedBy: fay.id } });
    expect(byId.get(smallPay)).toMatchObject({ status: 'paid', pendingApproval: null });
    expect(await entries(c.id)).toEqual({ ...before, direct_payment: (before.direct_payment ?? 0) + 1 });
    expect(((await fred.api.get('/v1/notifications')).body.data as { kind: string }[]).some((n) => n.kind === 'payment.approval_pending')).toBe(true);

    // The same member again: refused; a manager may not pay; a second finance member pays it once.
    expectProblem(await fay.api.post(`/v1/payments/${bigPay}/pay`, {}), 403, 'second_approver_required');
    expect((await ann.api.post(`/v1/payments/${bigPay}/pay`, {})).body.missingRole).toBe('finance');
    const paid = await fred.api.post(`/v1/payments/${bigPay}/pay`, {});
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', pendingApproval: null });
    expectProblem(await fay.api.post(`/v1/payments/${bigPay}/pay`, {}), 409, 'invalid_state');
    expect(await entries(c.id)).toEqual({ ...before, direct_payment: (before.direct_payment ?? 0) + 2 });
    expect((await owner.api.get(`/v1/milestones/${big}`)).body.status).toBe('paid');
    await expectLedgerClean(s);
  });

  it('a refund split at close cannot release at or above the threshold on one member’s word', async () => {
    const { owner, orgId, ann, fay, contractor } = await company();
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } })).status).toBe(200);
    const c = await contract(ann.api, orgId, contractor, 'sequential_escrow', [70000]);
    expect((await fay.api.post(`/v1/milestones/${c.ms[0]}/fund`)).status).toBe(200);
    // Finance asks for everything back; the contractor counters, keeping 60,000.
    const asked = await fay.api.post(`/v1/contracts/${c.id}/close`, { refund: 70000 });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    const counter = await contractor.api.post(`/v1/refund-requests/${asked.body.id}/counter`, { refund: 10000 });
    expect(counter.status, JSON.stringify(counter.body)).toBe(201);
    // Accepting would release 60,000, countering with 55,000 would offer it: both refused.
    expectProblem(await fay.api.post(`/v1/refund-requests/${counter.body.id}/accept`), 403, 'second_approver_required');
    expectProblem(await fay.api.post(`/v1/refund-requests/${counter.body.id}/counter`, { refund: 15000 }), 403, 'second_approver_required');
    expect((await fay.api.get(`/v1/refund-requests/${counter.body.id}`)).body.status).toBe('open');
    // A counter that releases below the threshold is the member's to make.
    expect((await fay.api.post(`/v1/refund-requests/${counter.body.id}/counter`, { refund: 30000 })).status).toBe(201);
    await expectLedgerClean(s);
  });

  it('a user client, and a currency without a threshold, are unchanged', async () => {
    const { owner, orgId, ann, fay, contractor } = await company();
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { EUR: 100 } })).status).toBe(200);
    const c = await contract(ann.api, orgId, contractor, 'sequential_escrow', [90000]);
    expect((await fay.api.post(`/v1/milestones/${c.ms[0]}/fund`)).status).toBe(200);
    expect((await contractor.api.post(`/v1/milestones/${c.ms[0]}/submit`, {})).status).toBe(200);
    expect((await ann.api.post(`/v1/milestones/${c.ms[0]}/approve`)).body.status).toBe('paid');
  });
});
