import { createTrancheClient } from '@tranche/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, startTestServer, type TestServer } from '../support/harness.ts';

// The generated client (packages/client) against the real server: an operator's backend
// creates users, acts for them with the admin token, and reads typed answers and problems.
describe.each(engines())('typed client round trip on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('creates users, acts for them, runs a milestone to paid and reads problems as data', async () => {
    const admin = createTrancheClient({ baseUrl: s.url, token: s.adminToken! });
    const mk = async (name: string) => {
      const { data, error, response } = await admin.POST('/v1/users', { body: { email: `${name}-${Date.now()}@example.com`, name } });
      expect(error).toBeUndefined();
      expect(response.status).toBe(201);
      return data!.id;
    };
    const clientId = await mk('client');
    const contractorId = await mk('contractor');
    const asClient = createTrancheClient({ baseUrl: s.url, token: s.adminToken!, actingUser: clientId });
    const asContractor = createTrancheClient({ baseUrl: s.url, token: s.adminToken!, actingUser: contractorId });
    expect((await asClient.PUT('/v1/me/payment-method', { body: { paymentMethod: 'pm_card_ok' } })).response.status).toBe(200);

    const created = await asClient.POST('/v1/contracts', {
      body: { title: 'Typed', clientId, contractorId, type: 'fixed', currency: 'EUR', policy: 'sequential_escrow', milestones: [{ title: 'First', amount: 12_345, dueDate: inDays(10) }] },
    });
    expect(created.data?.status).toBe('proposal');
    const id = created.data!.id;
    const live = await asContractor.POST('/v1/contracts/{id}/activate', { params: { path: { id } } });
    expect(live.data?.status).toBe('active');
    const m = live.data!.milestones![0]!;
    expect((await asClient.POST('/v1/milestones/{id}/fund', { params: { path: { id: m.id } } })).data?.status).toBe('funded');
    const approved = await asClient.POST('/v1/milestones/{id}/approve', { params: { path: { id: m.id } } });
    expect(approved.data).toMatchObject({ status: 'paid', releasedAmount: 12_345 });
    const page = await asContractor.GET('/v1/contracts/{id}', { params: { path: { id } } });
    expect(page.data?.overview).toMatchObject({ paid: 12_345, inEscrow: 0, currency: 'EUR' });

    // A problem is data, with its stable code.
    const again = await asClient.POST('/v1/milestones/{id}/approve', { params: { path: { id: m.id } } });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ code: 'invalid_state', state: 'paid' });
    const nobody = createTrancheClient({ baseUrl: s.url });
    expect((await nobody.GET('/v1/me')).error).toMatchObject({ code: 'unauthenticated' });
  });
});
