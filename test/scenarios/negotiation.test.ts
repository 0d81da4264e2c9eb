import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { activityKinds, expectProblem, milestoneList, notificationsOf } from '../support/negotiation-helpers.ts';

type Parties = Awaited<ReturnType<typeof newParties>>;

// Negotiation: contract proposals, milestone acceptance, change requests with their diff,
// the one-open-change-request rule, failed change requests, and reordering.
describe.each(engines())('negotiation on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  /** A live accept_every_change contract whose milestones the contractor accepted one by one. */
  async function agreedContract(p: Parties, milestones: { title: string; amount: number; dueDate?: string; description?: string }[]) {
    const c = await p.client.api.post('/v1/contracts', {
      title: 'Negotiated work',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'accept_every_change',
      milestones: milestones.map((m) => ({ dueDate: inDays(30), ...m })),
    });
    expect(c.status).toBe(201);
    for (const m of c.body.milestones) {
      expect(m.status).toBe('proposed');
      const a = await p.contractor.api.post(`/v1/milestones/${m.id}/accept`);
      expect(a.status).toBe(200);
    }
    expect((await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const ms = await milestoneList(p.client.api, c.body.id);
    expect(ms.map((m) => m.status)).toEqual(milestones.map(() => 'accepted'));
    return { contractId: c.body.id as string, ids: ms.map((m) => m.id) };
  }

  it('(a) contractor proposes a contract with three milestones; client accepts two, declines one, activates', async () => {
    const p = await newParties(s);
    // Under client_creates only the client adds milestones, so a contractor's proposal may not carry any.
    const refused = await p.contractor.api.post('/v1/contracts', {
      title: 'Proposal',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'client_creates',
      milestones: [{ title: 'One', amount: 1000, dueDate: inDays(10) }],
    });
    expectProblem(refused, 403, 'forbidden');

    // accept_every_change, opened to both creators: every milestone needs the other side.
    const c = await p.contractor.api.post('/v1/contracts', {
      title: 'Proposal',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: { preset: 'accept_every_change', overrides: { milestoneCreators: 'both' } },
      milestones: [
        { title: 'Research', amount: 10000, dueDate: inDays(10) },
        { title: 'Design', amount: 20000, dueDate: inDays(20) },
        { title: 'Gold plating', amount: 99900, dueDate: inDays(30) },
      ],
    });
    expect(c.status).toBe(201);
    expect(c.body.status).toBe('proposal');
    const [m1, m2, m3] = c.body.milestones;
    for (const m of c.body.milestones) expect(m).toMatchObject({ status: 'proposed', proposedBy: 'contractor' });
    expect((await notificationsOf(p.client.api, 'contract.created', c.body.id)).length).toBe(1);

    // The author cannot accept or decline their own proposals; a stranger cannot see them.
    expectProblem(await p.contractor.api.post(`/v1/milestones/${m1.id}/accept`), 403, 'forbidden');
    expectProblem(await p.contractor.api.post(`/v1/milestones/${m3.id}/decline`, { reason: 'no' }), 403, 'forbidden');
    const { client: stranger } = await newParties(s);
    expectProblem(await stranger.api.post(`/v1/milestones/${m1.id}/accept`), 404, 'not_found');
    // Nothing in a proposal can be funded.
    expect((await p.client.api.post(`/v1/milestones/${m1.id}/fund`)).status).toBe(409);

    const a1 = await p.client.api.post(`/v1/milestones/${m1.id}/accept`);
    expect(a1.status).toBe(200);
    expect(a1.body).toMatchObject({ status: 'accepted', proposedBy: null });
    expect((await p.client.api.post(`/v1/milestones/${m2.id}/accept`)).body.status).toBe('accepted');
    const d3 = await p.client.api.post(`/v1/milestones/${m3.id}/decline`, { reason: 'out of budget' });
    expect(d3.status).toBe(200);
    expect(d3.body.status).toBe('declined');
    // Answered once: accepting the declined one now is a state conflict.
    const again = await p.client.api.post(`/v1/milestones/${m3.id}/accept`);
    expectProblem(again, 409, 'invalid_state');
    expect(again.body.state).toBe('declined');

    // The contractor may not activate; the client does.
    expectProblem(await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`), 403, 'forbidden');
    const live = await p.client.api.post(`/v1/contracts/${c.body.id}/activate`);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('active');
    // The declined milestone is not part of the price.
    expect(live.body.overview).toMatchObject({ total: 30000, inEscrow: 0, paid: 0, remaining: 30000 });
    expect(live.body.milestones.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([
      [m1.id, 'accepted'],
      [m2.id, 'accepted'],
      [m3.id, 'declined'],
    ]);
    expect((await notificationsOf(p.contractor.api, 'milestone.declined', c.body.id, m3.id)).length).toBe(1);
    expect((await notificationsOf(p.contractor.api, 'milestone.accepted', c.body.id)).length).toBe(2);
    expect((await notificationsOf(p.contractor.api, 'contract.activated', c.body.id)).length).toBe(1);

    // The accepted ones can now be funded.
    expect((await p.client.api.post(`/v1/milestones/${m1.id}/fund`)).body.status).toBe('funded');
    await expectLedgerClean(s);
  });

  it('(a) under client_creates the contractor proposes, the client adds milestones, the contractor answers them', async () => {
    const p = await newParties(s);
    const c = await p.contractor.api.post('/v1/contracts', {
      title: 'Proposal',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'client_creates',
    });
    expect(c.status).toBe(201);
    const ids: string[] = [];
    for (const [title, amount] of [['A', 1000], ['B', 2000], ['C', 3000]] as const) {
      const m = await p.client.api.post(`/v1/contracts/${c.body.id}/milestones`, { title, amount, dueDate: inDays(10) });
      expect(m.status).toBe(201);
      expect(m.body).toMatchObject({ status: 'proposed', proposedBy: 'client' });
      ids.push(m.body.id);
    }
    // The contractor may not add any under this policy.
    expectProblem(await p.contractor.api.post(`/v1/contracts/${c.body.id}/milestones`, { title: 'X', amount: 1, dueDate: inDays(10) }), 403, 'forbidden');
    expectProblem(await p.client.api.post(`/v1/milestones/${ids[0]}/accept`), 403, 'forbidden');
    expect((await p.contractor.api.post(`/v1/milestones/${ids[0]}/accept`)).body.status).toBe('accepted');
    expect((await p.contractor.api.post(`/v1/milestones/${ids[1]}/accept`)).body.status).toBe('accepted');
    expect((await p.contractor.api.post(`/v1/milestones/${ids[2]}/decline`)).body.status).toBe('declined');
    const live = await p.client.api.post(`/v1/contracts/${c.body.id}/activate`);
    expect(live.status).toBe(200);
    expect(live.body.overview.total).toBe(3000);
  });

  it('(a) contract proposals: only the other party declines, only the author withdraws', async () => {
    const p = await newParties(s);
    const propose = () =>
      p.contractor.api.post('/v1/contracts', { title: 'Proposal', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', policy: 'client_creates' });

    const one = await propose();
    expect(one.status).toBe(201);
    expectProblem(await p.contractor.api.post(`/v1/contracts/${one.body.id}/decline`), 403, 'forbidden');
    expectProblem(await p.client.api.post(`/v1/contracts/${one.body.id}/withdraw`), 403, 'forbidden');
    const { client: stranger } = await newParties(s);
    expectProblem(await stranger.api.post(`/v1/contracts/${one.body.id}/decline`), 404, 'not_found');
    const declined = await p.client.api.post(`/v1/contracts/${one.body.id}/decline`);
    expect(declined.status).toBe(200);
    expect(declined.body.status).toBe('declined');
    expect((await notificationsOf(p.contractor.api, 'contract.declined', one.body.id)).length).toBe(1);
    // Ended: it can be neither activated nor withdrawn.
    expectProblem(await p.client.api.post(`/v1/contracts/${one.body.id}/activate`), 409, 'invalid_state');
    expectProblem(await p.contractor.api.post(`/v1/contracts/${one.body.id}/withdraw`), 409, 'invalid_state');

    const two = await propose();
    const m = await p.client.api.post(`/v1/contracts/${two.body.id}/milestones`, { title: 'A', amount: 1000, dueDate: inDays(10) });
    expect(m.status).toBe(201);
    const withdrawn = await p.contractor.api.post(`/v1/contracts/${two.body.id}/withdraw`);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    // Its unfinished milestones went with it.
    expect(withdrawn.body.milestones.map((x: { status: string }) => x.status)).toEqual(['cancelled']);
    expect((await notificationsOf(p.client.api, 'contract.withdrawn', two.body.id)).length).toBe(1);
    expectProblem(await p.client.api.post(`/v1/contracts/${two.body.id}/decline`), 409, 'invalid_state');
  });

  it('(b) a change request with add, update, remove and reorder shows its diff and applies on acceptance', async () => {
    const p = await newParties(s);
    const due = [inDays(10), inDays(20), inDays(30), inDays(40)];
    const { contractId, ids } = await agreedContract(p, [
      { title: 'A', amount: 1000, dueDate: due[0] },
      { title: 'B', amount: 2000, dueDate: due[1], description: 'bee' },
      { title: 'C', amount: 3000, dueDate: due[2] },
      { title: 'D', amount: 4000, dueDate: due[3] },
    ]);
    const [A, B, C, D] = ids as [string, string, string, string];
    const newDue = inDays(45);

    const cr = await p.client.api.post(`/v1/contracts/${contractId}/change-requests`, {
      message: 'Rescope',
      operations: [
        { op: 'add', milestone: { title: 'E', amount: 5000, dueDate: newDue, description: 'new' } },
        { op: 'update', milestoneId: B, changes: { title: 'B2', amount: 2500, description: null } },
        { op: 'remove', milestoneId: C },
        { op: 'reorder', milestoneIds: [D, A, B] },
      ],
    });
    expect(cr.status).toBe(201);
    expect(cr.body).toMatchObject({ status: 'open', authorRole: 'client', authorId: p.client.id, message: 'Rescope', contractId });
    expect(cr.body.id).toMatch(/^cr_/);
    // Nothing applied yet.
    expect((await milestoneList(p.client.api, contractId)).map((m) => [m.title, m.amount, m.position, m.status])).toEqual([
      ['A', 1000, 1, 'accepted'],
      ['B', 2000, 2, 'accepted'],
      ['C', 3000, 3, 'accepted'],
      ['D', 4000, 4, 'accepted'],
    ]);
    expect((await notificationsOf(p.contractor.api, 'change_request.opened', contractId)).length).toBe(1);

    const view = await p.contractor.api.get(`/v1/change-requests/${cr.body.id}`);
    expect(view.status).toBe(200);
    const diff = view.body.diff;
    expect(diff.totalBefore).toBe(10000);
    expect(diff.totalAfter).toBe(1000 + 2500 + 4000 + 5000);
    const row = (id: string | null, change: string) => {
      const r = diff.milestones.filter((x: { milestoneId: string | null; change: string }) => x.milestoneId === id && x.change === change);
      expect(r, `${change} ${id}`).toHaveLength(1);
      return r[0];
    };
    expect(diff.milestones).toHaveLength(5);
    expect(row(A, 'moved')).toEqual({
      milestoneId: A,
      change: 'moved',
      before: { title: 'A', amount: 1000, dueDate: due[0], description: null, attachmentIds: [], position: 1 },
      after: { title: 'A', amount: 1000, dueDate: due[0], description: null, attachmentIds: [], position: 2 },
    });
    expect(row(B, 'updated')).toEqual({
      milestoneId: B,
      change: 'updated',
      before: { title: 'B', amount: 2000, dueDate: due[1], description: 'bee', attachmentIds: [], position: 2 },
      after: { title: 'B2', amount: 2500, dueDate: due[1], description: null, attachmentIds: [], position: 3 },
    });
    expect(row(C, 'removed')).toEqual({
      milestoneId: C,
      change: 'removed',
      before: { title: 'C', amount: 3000, dueDate: due[2], description: null, attachmentIds: [], position: 3 },
      after: null,
    });
    expect(row(D, 'moved')).toEqual({
      milestoneId: D,
      change: 'moved',
      before: { title: 'D', amount: 4000, dueDate: due[3], description: null, attachmentIds: [], position: 4 },
      after: { title: 'D', amount: 4000, dueDate: due[3], description: null, attachmentIds: [], position: 1 },
    });
    expect(row(null, 'added')).toEqual({
      milestoneId: null,
      change: 'added',
      before: null,
      after: { title: 'E', amount: 5000, dueDate: newDue, description: 'new', attachmentIds: [], position: 4 },
    });
    // Both parties see the same request; a stranger does not.
    expect((await p.client.api.get(`/v1/change-requests/${cr.body.id}`)).body.diff).toEqual(diff);
    const { client: stranger } = await newParties(s);
    expectProblem(await stranger.api.get(`/v1/change-requests/${cr.body.id}`), 404, 'not_found');
    const listed = await p.contractor.api.get(`/v1/contracts/${contractId}/change-requests?status=open`);
    expect(listed.body.data.map((x: { id: string }) => x.id)).toEqual([cr.body.id]);

    // The author cannot accept it; the other side does.
    expectProblem(await p.client.api.post(`/v1/change-requests/${cr.body.id}/accept`), 403, 'forbidden');
    const accepted = await p.contractor.api.post(`/v1/change-requests/${cr.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    expect(accepted.body.resolvedAt).not.toBeNull();
    const addedRow = accepted.body.diff.milestones.find((x: { change: string }) => x.change === 'added');
    expect(addedRow.milestoneId).toMatch(/^ms_/);

    const after = await milestoneList(p.client.api, contractId);
    const live = after.filter((m) => m.status !== 'cancelled');
    expect(live.map((m) => [m.id, m.title, m.amount, m.dueDate, m.description, m.position, m.status])).toEqual([
      [D, 'D', 4000, due[3], null, 1, 'accepted'],
      [A, 'A', 1000, due[0], null, 2, 'accepted'],
      [B, 'B2', 2500, due[1], null, 3, 'accepted'],
      [addedRow.milestoneId, 'E', 5000, newDue, 'new', 4, 'accepted'],
    ]);
    expect(after.find((m) => m.id === C)?.status).toBe('cancelled');
    const contract = await p.client.api.get(`/v1/contracts/${contractId}`);
    expect(contract.body.overview.total).toBe(12500);
    // Answered: it cannot be answered again.
    expectProblem(await p.contractor.api.post(`/v1/change-requests/${cr.body.id}/accept`), 409, 'invalid_state');
    expect((await notificationsOf(p.client.api, 'change_request.accepted', contractId)).length).toBe(1);
    expect(await activityKinds(p.client.api, contractId)).toEqual(expect.arrayContaining(['change_request.opened', 'change_request.accepted']));
    await expectLedgerClean(s);
  });

  it('(c) while a change request is open no other change is possible', async () => {
    const p = await newParties(s);
    const { contractId, ids } = await agreedContract(p, [
      { title: 'A', amount: 1000 },
      { title: 'B', amount: 2000 },
    ]);
    const [A, B] = ids as [string, string];
    const cr = await p.client.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'update', milestoneId: A, changes: { amount: 1500 } }] });
    expect(cr.status).toBe(201);
    expect(cr.body.status).toBe('open');

    const second = await p.contractor.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'remove', milestoneId: B }] });
    expectProblem(second, 409, 'change_request_open');
    expect(second.body.changeRequestId).toBe(cr.body.id);
    expectProblem(await p.client.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'remove', milestoneId: B }] }), 409, 'change_request_open');
    expectProblem(await p.client.api.patch(`/v1/milestones/${B}`, { title: 'B2' }), 409, 'change_request_open');
    expectProblem(await p.contractor.api.patch(`/v1/milestones/${B}`, { title: 'B3' }), 409, 'change_request_open');
    expectProblem(await p.client.api.del(`/v1/milestones/${B}`), 409, 'change_request_open');
    expectProblem(await p.client.api.post(`/v1/contracts/${contractId}/milestones`, { title: 'C', amount: 3000, dueDate: inDays(10) }), 409, 'change_request_open');
    expectProblem(await p.client.api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: [B, A] }), 409, 'change_request_open');

    // Nothing changed, and only one change request exists.
    expect((await milestoneList(p.client.api, contractId)).map((m) => [m.id, m.title, m.amount, m.status])).toEqual([
      [A, 'A', 1000, 'accepted'],
      [B, 'B', 2000, 'accepted'],
    ]);
    const all = await p.client.api.get(`/v1/contracts/${contractId}/change-requests`);
    expect(all.body.data.map((x: { id: string }) => x.id)).toEqual([cr.body.id]);

    // Once it is answered, changes are possible again.
    expect((await p.contractor.api.post(`/v1/change-requests/${cr.body.id}/decline`)).body.status).toBe('declined');
    const next = await p.client.api.patch(`/v1/milestones/${B}`, { title: 'B2' });
    expect(next.status).toBe(202);
  });

  it('(d) a change request touching a milestone funded meanwhile fails on acceptance and applies nothing', async () => {
    const p = await newParties(s);
    const { contractId, ids } = await agreedContract(p, [
      { title: 'A', amount: 1000 },
      { title: 'B', amount: 2000 },
    ]);
    const [A, B] = ids as [string, string];
    const cr = await p.client.api.post(`/v1/contracts/${contractId}/change-requests`, {
      operations: [
        { op: 'add', milestone: { title: 'C', amount: 3000, dueDate: inDays(15) } },
        { op: 'update', milestoneId: B, changes: { title: 'B2' } },
        { op: 'update', milestoneId: A, changes: { amount: 1500 } },
      ],
    });
    expect(cr.status).toBe(201);
    // Funding is not a change to the milestones: it is allowed while the request is open.
    const funded = await p.client.api.post(`/v1/milestones/${A}/fund`);
    expect(funded.status).toBe(200);
    expect(funded.body).toMatchObject({ status: 'funded', inEscrow: 1000 });
    const entriesBefore = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1', [contractId]);

    const accept = await p.contractor.api.post(`/v1/change-requests/${cr.body.id}/accept`);
    expect(accept.status).toBe(409);
    expect(accept.body.code).toBe('invalid_state');
    expect(accept.body.changeRequest).toMatchObject({ id: cr.body.id, status: 'failed' });

    const view = await p.client.api.get(`/v1/change-requests/${cr.body.id}`);
    expect(view.body.status).toBe('failed');
    expect(view.body.failureReason).toEqual(expect.any(String));
    expect(view.body.resolvedAt).not.toBeNull();
    // Nothing applied: no new milestone, B keeps its title, A its amount and escrow.
    expect((await milestoneList(p.client.api, contractId)).map((m) => [m.id, m.title, m.amount, m.status, m.inEscrow])).toEqual([
      [A, 'A', 1000, 'funded', 1000],
      [B, 'B', 2000, 'accepted', 0],
    ]);
    const entriesAfter = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1', [contractId]);
    expect(entriesAfter[0]!.n).toBe(entriesBefore[0]!.n);
    expect((await notificationsOf(p.client.api, 'change_request.failed', contractId)).length).toBe(1);
    expect((await notificationsOf(p.contractor.api, 'change_request.failed', contractId)).length).toBe(1);
    // A failed request no longer blocks changes.
    expect((await p.client.api.patch(`/v1/milestones/${B}`, { title: 'B3' })).status).toBe(202);
    await expectLedgerClean(s);

    // Opening a change request on a funded milestone is refused outright.
    const p2 = await newParties(s);
    const other = await agreedContract(p2, [{ title: 'X', amount: 1000 }]);
    expect((await p2.client.api.post(`/v1/milestones/${other.ids[0]}/fund`)).status).toBe(200);
    const direct = await p2.client.api.post(`/v1/contracts/${other.contractId}/change-requests`, { operations: [{ op: 'update', milestoneId: other.ids[0], changes: { amount: 5 } }] });
    expectProblem(direct, 409, 'invalid_state');
    expect(direct.body.state).toBe('funded');
  });

  it('(e) decline with a reason; withdraw by the author only', async () => {
    const p = await newParties(s);
    const { contractId, ids } = await agreedContract(p, [{ title: 'A', amount: 1000 }]);
    const [A] = ids as [string];

    const cr1 = await p.contractor.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'update', milestoneId: A, changes: { amount: 9000 } }] });
    expect(cr1.status).toBe(201);
    expect(cr1.body.authorRole).toBe('contractor');
    expectProblem(await p.contractor.api.post(`/v1/change-requests/${cr1.body.id}/decline`, { reason: 'mine' }), 403, 'forbidden');
    const declined = await p.client.api.post(`/v1/change-requests/${cr1.body.id}/decline`, { reason: 'Too expensive' });
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ status: 'declined', declineReason: 'Too expensive' });
    expect((await p.contractor.api.get(`/v1/change-requests/${cr1.body.id}`)).body.declineReason).toBe('Too expensive');
    const told = await notificationsOf(p.contractor.api, 'change_request.declined', contractId);
    expect(told).toHaveLength(1);
    expect(told[0]!.body).toContain('Too expensive');
    expect((await milestoneList(p.client.api, contractId))[0]!.amount).toBe(1000);
    expectProblem(await p.contractor.api.post(`/v1/change-requests/${cr1.body.id}/withdraw`), 409, 'invalid_state');

    const cr2 = await p.contractor.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'update', milestoneId: A, changes: { title: 'A+' } }] });
    expect(cr2.status).toBe(201);
    expectProblem(await p.client.api.post(`/v1/change-requests/${cr2.body.id}/withdraw`), 403, 'forbidden');
    const { client: stranger } = await newParties(s);
    expectProblem(await stranger.api.post(`/v1/change-requests/${cr2.body.id}/withdraw`), 404, 'not_found');
    const withdrawn = await p.contractor.api.post(`/v1/change-requests/${cr2.body.id}/withdraw`);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.status).toBe('withdrawn');
    expectProblem(await p.client.api.post(`/v1/change-requests/${cr2.body.id}/accept`), 409, 'invalid_state');
    expect((await milestoneList(p.client.api, contractId))[0]!.title).toBe('A');
    expect((await notificationsOf(p.client.api, 'change_request.withdrawn', contractId)).length).toBe(1);
  });

  it('(f) reorder: funded milestones keep their place; duplicates, omissions and foreign ids are refused', async () => {
    const p = await newParties(s);
    // sequential_escrow: the client reorders alone (applied at once).
    const c = await liveContract(s, p, 'sequential_escrow', [
      { title: 'A', amount: 1000 },
      { title: 'B', amount: 2000 },
      { title: 'C', amount: 3000 },
      { title: 'D', amount: 4000 },
    ]);
    const contractId = c.id as string;
    const [A, B, C, D] = (await milestoneList(p.client.api, contractId)).map((m) => m.id) as [string, string, string, string];
    expect((await p.client.api.post(`/v1/milestones/${B}/fund`)).status).toBe(200);
    const other = await liveContract(s, p, 'sequential_escrow', [{ title: 'X', amount: 1000 }]);
    const X = (await milestoneList(p.client.api, other.id))[0]!.id;
    const snapshot = async () => (await milestoneList(p.client.api, contractId)).map((m) => [m.id, m.position, m.version]);
    const before = await snapshot();

    const bad: [string, string[]][] = [
      ['duplicate', [A, B, C, C]],
      ['duplicate with all', [A, B, C, D, D]],
      ['omission', [A, B, C]],
      ['other contract', [A, B, C, D, X]],
      ['other contract instead', [A, B, C, X]],
      ['funded moved', [B, A, C, D]],
    ];
    for (const [what, order] of bad) {
      const r = await p.client.api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: order });
      expect(r.status, what).toBe(422);
      expect(r.body.code, what).toBe('validation_failed');
      expect(r.body.errors?.length, what).toBeGreaterThan(0);
    }
    expect(await snapshot()).toEqual(before);
    // A stranger does not see the contract.
    const { client: stranger } = await newParties(s);
    expectProblem(await stranger.api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: [D, B, C, A] }), 404, 'not_found');

    // B (funded) stays second; the rest move around it.
    const ok = await p.client.api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: [D, B, A, C] });
    expect(ok.status).toBe(200);
    expect(ok.body.milestones.map((m: { id: string; position: number }) => [m.id, m.position])).toEqual([
      [D, 1],
      [B, 2],
      [A, 3],
      [C, 4],
    ]);
    expect((await milestoneList(p.client.api, contractId)).map((m) => m.id)).toEqual([D, B, A, C]);
    expect((await notificationsOf(p.contractor.api, 'milestone.reordered', contractId)).length).toBe(1);

    // The contractor's reorder needs the client's acceptance under this policy: 202.
    const asked = await p.contractor.api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: [A, B, D, C] });
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'open', authorRole: 'contractor' });
    expect((await milestoneList(p.client.api, contractId)).map((m) => m.id)).toEqual([D, B, A, C]);
    expect((await p.client.api.post(`/v1/change-requests/${asked.body.id}/accept`)).body.status).toBe('accepted');
    expect((await milestoneList(p.client.api, contractId)).map((m) => m.id)).toEqual([A, B, D, C]);
    await expectLedgerClean(s);
  });

  it('(g) edits and deletes answer 202 when the policy needs acceptance, 200 when it does not', async () => {
    const p = await newParties(s);
    // accept_every_change: every change by either side waits for the other.
    const { contractId, ids } = await agreedContract(p, [
      { title: 'A', amount: 1000 },
      { title: 'B', amount: 2000 },
    ]);
    const [A, B] = ids as [string, string];
    const edit = await p.client.api.patch(`/v1/milestones/${A}`, { amount: 1200 });
    expect(edit.status).toBe(202);
    expect(edit.body).toMatchObject({ status: 'open', authorRole: 'client', operations: [{ op: 'update', milestoneId: A, changes: { amount: 1200 } }] });
    expect(edit.body.diff).toMatchObject({ totalBefore: 3000, totalAfter: 3200 });
    expect((await milestoneList(p.client.api, contractId))[0]!.amount).toBe(1000);
    expect((await p.contractor.api.post(`/v1/change-requests/${edit.body.id}/accept`)).status).toBe(200);
    expect((await milestoneList(p.client.api, contractId))[0]!.amount).toBe(1200);

    const del = await p.contractor.api.del(`/v1/milestones/${B}`);
    expect(del.status).toBe(202);
    expect(del.body).toMatchObject({ status: 'open', authorRole: 'contractor', operations: [{ op: 'remove', milestoneId: B }] });
    expect((await milestoneList(p.client.api, contractId))[1]!.status).toBe('accepted');
    expect((await p.client.api.post(`/v1/change-requests/${del.body.id}/accept`)).status).toBe(200);
    expect((await milestoneList(p.client.api, contractId))[1]!.status).toBe('cancelled');

    // sequential_escrow: the client edits and deletes at once (200); the contractor asks (202).
    const p2 = await newParties(s);
    const c2 = await liveContract(s, p2, 'sequential_escrow', [
      { title: 'A', amount: 1000 },
      { title: 'B', amount: 2000 },
    ]);
    const [A2, B2] = (await milestoneList(p2.client.api, c2.id)).map((m) => m.id) as [string, string];
    const direct = await p2.client.api.patch(`/v1/milestones/${A2}`, { amount: 1300, title: 'A!' });
    expect(direct.status).toBe(200);
    expect(direct.body).toMatchObject({ id: A2, amount: 1300, title: 'A!', status: 'accepted' });
    const dropped = await p2.client.api.del(`/v1/milestones/${B2}`);
    expect(dropped.status).toBe(200);
    expect(dropped.body.status).toBe('cancelled');
    expect((await p2.client.api.get(`/v1/contracts/${c2.id}/change-requests`)).body.data).toEqual([]);
    const asked = await p2.contractor.api.patch(`/v1/milestones/${A2}`, { amount: 1400 });
    expect(asked.status).toBe(202);
    expect(asked.body.status).toBe('open');
    expect((await milestoneList(p2.client.api, c2.id))[0]!.amount).toBe(1300);

    // A change request by a party that may change alone applies at once (201, accepted).
    expect((await p2.client.api.post(`/v1/change-requests/${asked.body.id}/decline`)).status).toBe(200);
    const alone = await p2.client.api.post(`/v1/contracts/${c2.id}/change-requests`, { operations: [{ op: 'add', milestone: { title: 'C', amount: 700, dueDate: inDays(5) } }] });
    expect(alone.status).toBe(201);
    expect(alone.body.status).toBe('accepted');
    expect(alone.body.diff.milestones[0].milestoneId).toMatch(/^ms_/);
    expect((await milestoneList(p2.client.api, c2.id)).filter((m) => m.status === 'accepted').map((m) => m.title)).toEqual(['A!', 'C']);
    await expectLedgerClean(s);
  });
});
