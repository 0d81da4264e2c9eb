import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, liveContract, startTestServer, type Client, type TestServer } from '../support/harness.ts';

// Issue 12: the contracts list says who the other party is, what is in escrow, paid and left to
// fund, and what waits for the caller; it searches and sorts. Payments name what they pay for.
describe.each(engines())('contract and payment lists on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  const person = async (name: string, email = `${name.toLowerCase().replace(/\W/g, "")}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.com`) => {
    const u = await s.admin.post('/v1/users', { email, name });
    const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, {});
    const api = s.api.as(t.body.token);
    expect((await api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    return { id: u.body.id as string, email, api };
  };
  const titles = async (api: Client, query: string) => {
    const r = await api.get(`/v1/contracts?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.data.map((c: { title: string }) => c.title);
  };
  const create = async (client: { id: string; api: Client }, contractor: { id: string; api: Client }, title: string, policy: unknown, amounts: number[]) => {
    const c = await client.api.post('/v1/contracts', {
      title, clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy,
      milestones: amounts.map((amount, i) => ({ title: `${title} part ${i + 1}`, amount, dueDate: inDays(30) })),
    });
    expect(c.status).toBe(201);
    return c.body as { id: string; milestones: { id: string }[] };
  };

  it('searches the title and the other party, sorts, pages, and says what waits for you', async () => {
    const tag = Math.random().toString(36).slice(2, 7);
    const ana = await person('Ana');
    const bo = await person('Bo Builder');
    const cy = await person('Cyrus', `cyrus-${tag}@studiobox.com`);
    const site = await create(ana, bo, `Website ${tag}`, 'sequential_escrow', [40000, 20000]);
    const logo = await create(ana, cy, `Logo ${tag}`, 'sequential_escrow', [30000]);
    const app = await create(ana, bo, `App ${tag}`, 'company_managed', [50000]);
    for (const [c, who] of [[site, bo], [logo, cy], [app, bo]] as const) expect((await who.api.post(`/v1/contracts/${c.id}/activate`)).status).toBe(200);
    expect((await ana.api.post(`/v1/milestones/${site.milestones[0]!.id}/fund`)).status).toBe(200);
    expect((await ana.api.post(`/v1/milestones/${logo.milestones[0]!.id}/fund`)).status).toBe(200);
    expect((await ana.api.post(`/v1/milestones/${logo.milestones[0]!.id}/release`, { amount: 10000 })).status).toBe(200);
    // company_managed: approve creates a draft payment for the client to pay.
    expect((await bo.api.post(`/v1/milestones/${app.milestones[0]!.id}/submit`, {})).status).toBe(200);
    expect((await ana.api.post(`/v1/milestones/${app.milestones[0]!.id}/approve`)).status).toBe(200);

    // Search: title, the other party's name or email; never the caller's own name.
    expect(await titles(ana.api, `q=${tag}`)).toHaveLength(3);
    expect(await titles(ana.api, 'q=cyrus')).toEqual([`Logo ${tag}`]);
    expect(await titles(ana.api, `q=${encodeURIComponent(`@studiobox.com`)}&role=client`)).toEqual(expect.arrayContaining([`Logo ${tag}`]));
    expect(await titles(ana.api, `q=builder&status=active`)).toEqual([`App ${tag}`, `Website ${tag}`]);
    expect(await titles(bo.api, 'q=bo%20builder')).toEqual([]);
    expect(await titles(bo.api, `q=ana&role=contractor`)).toEqual([`App ${tag}`, `Website ${tag}`]);
    // LIKE's wildcards are taken literally.
    expect(await titles(ana.api, 'q=%25')).toEqual([]);

    // Sorts.
    expect(await titles(ana.api, `q=${tag}&sort=title_asc`)).toEqual([`App ${tag}`, `Logo ${tag}`, `Website ${tag}`]);
    expect(await titles(ana.api, `q=${tag}&sort=escrow_desc`)).toEqual([`Website ${tag}`, `Logo ${tag}`, `App ${tag}`]);
    expect((await titles(ana.api, `q=${tag}&sort=updated_desc`))[0]).toBe(`App ${tag}`);
    const first = await ana.api.get(`/v1/contracts?q=${tag}&sort=title_asc&limit=2`);
    expect(first.body.data.map((c: { title: string }) => c.title)).toEqual([`App ${tag}`, `Logo ${tag}`]);
    const rest = await ana.api.get(`/v1/contracts?q=${tag}&sort=title_asc&limit=2&cursor=${first.body.nextCursor}`);
    expect(rest.body).toMatchObject({ data: [{ title: `Website ${tag}` }], nextCursor: null });
    expect((await ana.api.get(`/v1/contracts?sort=title_asc&cursor=bm9wZQ`)).status).toBe(422);
    expect((await ana.api.get('/v1/contracts?sort=oldest')).status).toBe(422);

    // Each item: the parties, the overview, what waits for the caller.
    const list = (await ana.api.get(`/v1/contracts?q=${tag}`)).body.data as any[];
    const item = (t: string) => list.find((c) => c.title === `${t} ${tag}`);
    expect(item('Website')).toMatchObject({
      contractor: { name: 'Bo Builder' }, client: { name: 'Ana' }, viewerRole: 'client', nextAction: null,
      overview: { total: 60000, inEscrow: 40000, paid: 0, remaining: 20000, currency: 'USD' },
    });
    expect(item('Logo')).toMatchObject({ contractor: { name: 'Cyrus' }, overview: { inEscrow: 20000, paid: 10000 }, nextAction: null });
    // The approved-but-unpaid draft: the client's next action is to pay it.
    expect(item('App')).toMatchObject({ nextAction: 'pay', overview: { total: 50000, inEscrow: 0, paid: 0, remaining: 50000 } });
    const boList = (await bo.api.get(`/v1/contracts?q=${tag}`)).body.data as any[];
    expect(boList.find((c) => c.title === `Website ${tag}`)).toMatchObject({ viewerRole: 'contractor', nextAction: 'submit' });

    // Payments name their contract and milestone; drafts are found by status.
    const drafts = await ana.api.get('/v1/payments?status=draft');
    expect(drafts.body.data).toEqual([expect.objectContaining({ status: 'draft', amount: 50000, contractTitle: `App ${tag}`, milestoneTitle: `App ${tag} part 1` })]);
    const paid = await cy.api.get(`/v1/payments?contractId=${logo.id}`);
    expect(paid.body.data).toEqual([expect.objectContaining({ contractTitle: `Logo ${tag}`, milestoneTitle: `Logo ${tag} part 1`, amount: 10000 })]);
  });

  it('a contract can name the other party by email', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const body = { title: 'By email', type: 'fixed', currency: 'USD', policy: 'sequential_escrow' };
    const made = await ana.api.post('/v1/contracts', { ...body, clientId: ana.id, counterpartyEmail: bo.email.toUpperCase() });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ clientId: ana.id, contractorId: bo.id, contractor: { name: 'Bo' }, status: 'proposal' });
    const asContractor = await bo.api.post('/v1/contracts', { ...body, contractorId: bo.id, counterpartyEmail: ana.email });
    expect(asContractor.body).toMatchObject({ clientId: ana.id, contractorId: bo.id });
    const refused = async (b: Record<string, unknown>, field: string) => {
      const r = await ana.api.post('/v1/contracts', { ...body, ...b });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    };
    await refused({ clientId: ana.id, counterpartyEmail: 'nobody-here@example.com' }, 'counterpartyEmail');
    await refused({ clientId: ana.id, contractorId: bo.id, counterpartyEmail: bo.email }, 'counterpartyEmail');
    await refused({ counterpartyEmail: bo.email }, 'counterpartyEmail');
    await refused({ clientId: ana.id }, 'contractorId');
    await refused({ clientId: ana.id, counterpartyEmail: 'not an email' }, 'counterpartyEmail');
    await refused({ clientId: ana.id, counterpartyEmail: ana.email }, 'contractorId');
  });

  it('next actions follow the work: proposal, proposed milestone, change request, review, fund', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const next = async (api: Client, id: string) => (await api.get(`/v1/contracts/${id}`)).body.nextAction;
    const proposal = await create(ana, bo, 'Proposal', 'sequential_escrow', [10000]);
    expect([await next(ana.api, proposal.id), await next(bo.api, proposal.id)]).toEqual([null, 'accept_proposal']);

    const c = await liveContract(s, { client: ana, contractor: bo }, 'sequential_escrow', [{ title: 'One', amount: 10000 }]);
    const extra = await bo.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Extra', amount: 5000, dueDate: inDays(20) });
    expect(await next(ana.api, c.id)).toBe('accept_milestone');
    expect((await ana.api.post(`/v1/milestones/${extra.body.id}/accept`)).status).toBe(200);
    expect(await next(ana.api, c.id)).toBe('fund');
    const cr = await bo.api.post(`/v1/contracts/${c.id}/change-requests`, { operations: [{ op: 'update', milestoneId: extra.body.id, changes: { amount: 6000 } }] });
    expect(cr.body.status).toBe('open');
    expect([await next(ana.api, c.id), await next(bo.api, c.id)]).toEqual(['answer_change_request', null]);
    expect((await ana.api.post(`/v1/change-requests/${cr.body.id}/decline`)).status).toBe(200);
    const m = c.milestones[0].id;
    expect((await ana.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect([await next(ana.api, c.id), await next(bo.api, c.id)]).toEqual([null, 'submit']);
    expect((await bo.api.post(`/v1/milestones/${m}/submit`, {})).status).toBe(200);
    expect([await next(ana.api, c.id), await next(bo.api, c.id)]).toEqual(['review', null]);
    expect((await ana.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    expect(await next(ana.api, c.id)).toBe('fund');
    expect((await bo.api.post(`/v1/milestones/${m}/dispute`, { reason: 'x' })).status).toBe(409);
  });
});
