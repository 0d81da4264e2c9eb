import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { contractInvoices, logTime, plusDays, runAt, weeks } from '../support/hourly-helpers.ts';

// An organisation as the client of an hourly contract: Wednesday's payment charges the
// organisation's default payment method (set by a finance member), as every other charge does.
describe.each(engines())('hourly invoices of an organisation on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  /** An organisation founded by `owner`, and a way to add members with roles straight away. */
  async function organization(owner: { api: { post: (path: string, body: unknown) => Promise<{ body: { id: string } }> } }) {
    const orgId = (await owner.api.post('/v1/organizations', { name: 'Acme' })).body.id;
    const join = async (name: string, roles: string[]) => {
      const u = await newUser(s, name);
      await s.db.query('INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, $3, now())', [orgId, u.id, roles]);
      return u;
    };
    return { orgId, join };
  }

  it('pays the week on Wednesday with the organisation’s card', async () => {
    const owner = await newUser(s, 'owner');
    const contractor = await newUser(s, 'contractor');
    const org = await owner.api.post('/v1/organizations', { name: 'Acme' });
    expect(org.status).toBe(201);
    expect((await owner.api.put(`/v1/organizations/${org.body.id}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await owner.api.post('/v1/contracts', { title: 'Support', clientId: org.body.id, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000 });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const w = await weeks(s).next();
    await logTime({ client: owner, contractor }, c.body.id, w.day(1), 120);
    await runAt(s, plusDays(w.monday, 7)); // Monday: the invoice
    const [open] = await contractInvoices(owner.api, c.body.id);
    expect(open).toMatchObject({ status: 'open', amount: 12000 });
    await runAt(s, plusDays(w.monday, 9)); // Wednesday: paid with the organisation's card
    const [paid] = await contractInvoices(owner.api, c.body.id);
    expect(paid).toMatchObject({ status: 'paid', charged: 12000 });
    await expectLedgerClean(s);
  });

  it('four eyes on a past-due invoice: a first finance member’s payment charges nothing, the same member again is refused, a second member’s pays it once', async () => {
    const owner = await newUser(s, 'owner');
    const contractor = await newUser(s, 'contractor');
    const { orgId, join } = await organization(owner);
    const fay = await join('fay', ['finance']);
    const fred = await join('fred', ['finance']);
    expect((await owner.api.patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 10000 } })).status).toBe(200);
    // The organisation's card is declined on Wednesday: the invoice goes past due.
    expect((await fay.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    const c = await owner.api.post('/v1/contracts', { title: 'Support', clientId: orgId, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000 });
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const w = await weeks(s).next();
    await logTime({ client: owner, contractor }, c.body.id, w.day(1), 120);
    await runAt(s, plusDays(w.monday, 7));
    await runAt(s, plusDays(w.monday, 9));
    const [due] = await contractInvoices(owner.api, c.body.id);
    expect(due).toMatchObject({ status: 'past_due', amount: 12000, pendingApproval: null });
    const entries = async () => (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1', [c.body.id]))[0]!.n;
    const before = await entries();

    const first = await fay.api.post(`/v1/invoices/${due.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: 'past_due', charged: 0, pendingApproval: { by: fay.id } });
    expect(await entries()).toBe(before);
    const again = await fay.api.post(`/v1/invoices/${due.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 403, code: 'second_approver_required' });
    expect(((await fred.api.get('/v1/notifications')).body.data as { kind: string }[]).some((n) => n.kind === 'invoice.approval_pending')).toBe(true);

    const second = await fred.api.post(`/v1/invoices/${due.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({ status: 'paid', charged: 12000, pendingApproval: null });
    expect(await entries()).toBe(before + 1);
    await expectLedgerClean(s);
  });

  it('a finance member disputes an invoice as the organisation: the organisation opens it, the member who acted is named', async () => {
    const owner = await newUser(s, 'owner');
    const contractor = await newUser(s, 'contractor');
    const { orgId, join } = await organization(owner);
    const finance = await join('finance', ['finance']);
    const manager = await join('manager', ['manager']);
    expect((await finance.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await manager.api.post('/v1/contracts', { title: 'Support', clientId: orgId, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000 });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const w = await weeks(s).next();
    await logTime({ client: owner, contractor }, c.body.id, w.day(1), 180);
    await runAt(s, plusDays(w.monday, 7)); // Monday: the invoice
    const [open] = await contractInvoices(owner.api, c.body.id);

    // The manager may not (finance's), an outsider gets 404.
    const byManager = await manager.api.post(`/v1/invoices/${open.id}/dispute`, { reason: 'too many hours' });
    expect({ status: byManager.status, missingRole: byManager.body.missingRole }).toEqual({ status: 403, missingRole: 'finance' });
    expect((await (await newUser(s, 'stranger')).api.post(`/v1/invoices/${open.id}/dispute`, { reason: 'x' })).status).toBe(404);
    const d = await finance.api.post(`/v1/invoices/${open.id}/dispute`, { reason: 'Three hours on Tuesday were not agreed' });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect(d.body).toMatchObject({ invoiceId: open.id, openedBy: orgId, openerRole: 'client', status: 'open' });
    // The activity and the webhook data name the member and the organisation; the other members and the contractor are told.
    const entry = ((await owner.api.get(`/v1/contracts/${c.body.id}/activity`)).body.data as { kind: string; actorId: string; data: Record<string, unknown> }[]).find((e) => e.kind === 'invoice.disputed');
    expect(entry).toMatchObject({ actorId: finance.id, data: { organizationId: orgId, actorId: finance.id, disputeId: d.body.id } });
    for (const who of [owner, manager, contractor]) {
      expect(((await who.api.get('/v1/notifications')).body.data as { kind: string }[]).some((n) => n.kind === 'invoice.disputed'), who.email).toBe(true);
    }
    expect(((await finance.api.get('/v1/notifications')).body.data as { kind: string }[]).some((n) => n.kind === 'invoice.disputed')).toBe(false);
    // Every member reads the dispute; the contractor answers it; the organisation may not answer its own.
    expect((await manager.api.get(`/v1/disputes/${d.body.id}`)).body).toMatchObject({ openedBy: orgId });
    expect((await manager.api.post(`/v1/disputes/${d.body.id}/respond`, { message: 'ours' })).status).toBe(403);
    expect((await contractor.api.post(`/v1/disputes/${d.body.id}/respond`, { message: 'They were, by email' })).status).toBe(200);
    await expectLedgerClean(s);
  });
});
