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
});
