import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, liveContract, startTestServer, type Client, type TestServer } from '../support/harness.ts';

// Issue 12: the author previews a change set before sending it (seed 001: "show/hide changes to
// preview"); the other party may modify it with a counter-proposal (seed 001: "approve, decline,
// or modify"); notifications say who changed what.
describe.each(engines())('change sets: preview, modify, words on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  const person = async (name: string) => {
    const u = await s.admin.post('/v1/users', { email: `${name.toLowerCase()}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.com`, name });
    const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, {});
    return { id: u.body.id as string, api: s.api.as(t.body.token) };
  };
  const lastNotification = async (api: Client) => (await api.get('/v1/notifications')).body.data[0] as { kind: string; title: string; body: string };

  it('previews without writing, sends, is modified by the other party, and the counter is accepted', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const c = await liveContract(s, { client: ana, contractor: bo }, { preset: 'accept_every_change', overrides: { milestoneCreators: 'both' } }, [
      { title: 'Draft', amount: 10000 },
      { title: 'Design', amount: 40000 },
    ]);
    const [draft, design] = c.milestones.map((m: { id: string }) => m.id);
    const operations = [
      { op: 'add', milestone: { title: 'Logo', amount: 30000, dueDate: inDays(40) } },
      { op: 'remove', milestoneId: draft },
      { op: 'update', milestoneId: design, changes: { amount: 45000 } },
    ];

    // The dry run: the plan and totals, and nothing written.
    const preview = await bo.api.post(`/v1/contracts/${c.id}/change-requests/preview`, { operations });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ mode: 'change_request', agreedBefore: 50000, agreedAfter: 75000, currency: 'USD', diff: { totalBefore: 50000, totalAfter: 75000 } });
    expect(preview.body.diff.milestones.map((r: { change: string }) => r.change).sort()).toEqual(['added', 'removed', 'updated']);
    expect((await bo.api.get(`/v1/contracts/${c.id}/change-requests`)).body.data).toEqual([]);
    expect((await ana.api.get(`/v1/contracts/${c.id}`)).body.milestones.map((m: { title: string; amount: number }) => [m.title, m.amount])).toEqual([
      ['Draft', 10000],
      ['Design', 40000],
    ]);
    // A preview fails where sending would, and still writes nothing.
    const bad = await bo.api.post(`/v1/contracts/${c.id}/change-requests/preview`, { operations: [{ op: 'remove', milestoneId: 'ms_01jdq4z9v6x7m3k8t2w5r1c0zz' }] });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');

    // Sent: the client is told who proposed what.
    const sent = await bo.api.post(`/v1/contracts/${c.id}/change-requests`, { operations });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: 'open', supersedes: null, supersededBy: null });
    const told = await lastNotification(ana.api);
    expect(told.kind).toBe('change_request.opened');
    expect(told.title).toBe('Bo proposed milestone changes');
    expect(told.body).toContain('add “Logo” (300.00 USD), remove “Draft”, change “Design”: amount 400.00 USD → 450.00 USD');
    // While it is open, a preview says so as sending would.
    expect((await ana.api.post(`/v1/contracts/${c.id}/change-requests/preview`, { operations })).body.code).toBe('change_request_open');

    // Modify: only the other party; the counter supersedes the original and waits for its author.
    expect((await bo.api.post(`/v1/change-requests/${sent.body.id}/modify`, { operations })).status).toBe(403);
    const counterOps = [{ op: 'add', milestone: { title: 'Logo', amount: 25000, dueDate: inDays(40) } }];
    // The counter's dry run: checked as modifying is (only the other party), planned, nothing written.
    expect((await bo.api.post(`/v1/change-requests/${sent.body.id}/modify/preview`, { operations: counterOps })).status).toBe(403);
    const counterPreview = await ana.api.post(`/v1/change-requests/${sent.body.id}/modify/preview`, { operations: counterOps });
    expect(counterPreview.status).toBe(200);
    expect(counterPreview.body).toMatchObject({ mode: 'change_request', agreedBefore: 50000, agreedAfter: 75000, diff: { totalAfter: 75000 } });
    expect((await ana.api.get(`/v1/change-requests/${sent.body.id}`)).body.status).toBe('open');
    const counter = await ana.api.post(`/v1/change-requests/${sent.body.id}/modify`, { operations: counterOps, message: 'Logo only, for less' });
    expect(counter.status).toBe(201);
    expect(counter.body).toMatchObject({ status: 'open', authorId: ana.id, authorRole: 'client', supersedes: sent.body.id, supersededBy: null, diff: { totalAfter: 75000 } });
    const original = await bo.api.get(`/v1/change-requests/${sent.body.id}`);
    expect(original.body).toMatchObject({ status: 'superseded', supersededBy: counter.body.id });
    const boTold = await lastNotification(bo.api);
    expect(boTold.kind).toBe('change_request.modified');
    expect(boTold.body).toContain('Ana answered your milestone changes');
    expect(boTold.body).toContain('add “Logo” (250.00 USD)');
    // The superseded one can no longer be answered; the counter's author cannot accept it.
    expect((await ana.api.post(`/v1/change-requests/${sent.body.id}/modify`, { operations: counterOps })).body.code).toBe('invalid_state');
    expect((await ana.api.post(`/v1/change-requests/${sent.body.id}/modify/preview`, { operations: counterOps })).body.code).toBe('invalid_state');
    expect((await ana.api.post(`/v1/change-requests/${counter.body.id}/accept`)).status).toBe(403);
    const listed = await bo.api.get(`/v1/contracts/${c.id}/change-requests?status=superseded`);
    expect(listed.body.data.map((r: { id: string }) => r.id)).toEqual([sent.body.id]);

    const accepted = await bo.api.post(`/v1/change-requests/${counter.body.id}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    const after = await ana.api.get(`/v1/contracts/${c.id}`);
    expect(after.body.milestones.map((m: { title: string; amount: number }) => [m.title, m.amount])).toEqual([
      ['Draft', 10000],
      ['Design', 40000],
      ['Logo', 25000],
    ]);
    const anaTold = await lastNotification(ana.api);
    expect(anaTold.body).toContain('Bo accepted the milestone changes');
  });

  it('a direct edit says who changed what', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const c = await liveContract(s, { client: ana, contractor: bo }, 'sequential_escrow', [{ title: 'Design', amount: 40000 }]);
    // The client changes alone under this policy: the contractor is told what changed.
    const edit = await ana.api.patch(`/v1/milestones/${c.milestones[0].id}`, { amount: 42000, title: 'Design v2' });
    expect(edit.status).toBe(200);
    const told = await lastNotification(bo.api);
    expect(told.body).toBe('Ana changed “Design v2” on “Test contract”: title “Design” → “Design v2”, amount 400.00 USD → 420.00 USD.');
  });
});
