import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { expectProblem, expectRefused } from '../support/scenario-helpers.ts';

// Operator integration, item 5: an operator's own ids and metadata on users, contracts and
// milestones, lookups by them, a user's tokens, the platform's disputes and the event log.
describe.each(engines())('operator API on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());
  const uniq = () => Math.random().toString(36).slice(2, 10);

  it('users carry externalId and metadata, unique per platform, found by email or externalId', async () => {
    const ext = `acct-${uniq()}`;
    const email = `ext-${uniq()}@example.com`;
    const u = await s.admin.post('/v1/users', { email, name: 'Ext', externalId: ext, metadata: { plan: 'pro' } });
    expect(u.status).toBe(201);
    expect(u.body).toMatchObject({ externalId: ext, metadata: { plan: 'pro' } });
    await expectRefused(s, () => s.admin.post('/v1/users', { email: `other-${uniq()}@example.com`, name: 'Dup', externalId: ext }), 409, 'external_id_taken', 'externalId');
    await expectRefused(s, () => s.admin.post('/v1/users', { email: `m-${uniq()}@example.com`, name: 'M', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }), 422, 'validation_failed');
    await expectRefused(s, () => s.admin.post('/v1/users', { email: `m-${uniq()}@example.com`, name: 'M', metadata: { ['k'.repeat(41)]: 'v' } }), 422, 'validation_failed');
    await expectRefused(s, () => s.admin.post('/v1/users', { email: `m-${uniq()}@example.com`, name: 'M', metadata: { k: 'v'.repeat(501) } }), 422, 'validation_failed');
    expect((await s.admin.get(`/v1/users?externalId=${ext}`)).body.data.map((x: { id: string }) => x.id)).toEqual([u.body.id]);
    expect((await s.admin.get(`/v1/users?email=${encodeURIComponent(email.toUpperCase())}`)).body.data.map((x: { id: string }) => x.id)).toEqual([u.body.id]);
    expect((await s.admin.get(`/v1/users?externalId=nobody-${uniq()}`)).body.data).toEqual([]);
    const p = await newParties(s);
    expectProblem(await p.client.api.get('/v1/users'), 403, 'forbidden');
    // Changed later by the operator; a null key is removed, null externalId clears it.
    const changed = await s.admin.patch(`/v1/admin/users/${u.body.id}`, { metadata: { plan: null, seats: '5' } });
    expect(changed.body).toMatchObject({ externalId: ext, metadata: { seats: '5' } });
    expect(changed.body.metadata).not.toHaveProperty('plan');
    expect((await s.admin.patch(`/v1/admin/users/${u.body.id}`, { externalId: null })).body.externalId).toBeNull();
    expectProblem(await p.client.api.patch(`/v1/admin/users/${u.body.id}`, { metadata: { x: 'y' } }), 403, 'forbidden');
  });

  it('contracts and milestones: written with the admin token only, filterable, patched by the operator', async () => {
    const p = await newParties(s);
    const ext = `order-${uniq()}`;
    const asClient = s.admin.actingAs(p.client.id);
    await expectRefused(
      s,
      () => p.client.api.post('/v1/contracts', { title: 'Mine', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', externalId: ext }),
      403,
      'forbidden',
      'externalId',
    );
    const c = await asClient.post('/v1/contracts', {
      title: 'Operator order', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
      externalId: ext, metadata: { team: 'mobile' },
      milestones: [{ title: 'One', amount: 5000, dueDate: inDays(10), externalId: `${ext}-1`, metadata: { sprint: '1' } }, { title: 'Two', amount: 6000, dueDate: inDays(20) }],
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ externalId: ext, metadata: { team: 'mobile' } });
    expect(c.body.milestones[0]).toMatchObject({ externalId: `${ext}-1`, metadata: { sprint: '1' } });
    expect(c.body.milestones[1]).toMatchObject({ externalId: null, metadata: {} });
    await expectRefused(s, () => asClient.post('/v1/contracts', { title: 'Again', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', externalId: ext }), 409, 'external_id_taken');
    // The parties see the operator's fields (they are not secret), and find by them.
    expect((await p.contractor.api.get(`/v1/contracts/${c.body.id}`)).body.externalId).toBe(ext);
    const byExt = await s.admin.get(`/v1/contracts?externalId=${ext}`);
    expect(byExt.body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    expect((await s.admin.get(`/v1/contracts?metadata=team:mobile&partyId=${p.client.id}`)).body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    expect((await s.admin.get(`/v1/contracts?metadata=team:web&partyId=${p.client.id}`)).body.data).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await s.admin.get(`/v1/contracts?partyId=${p.contractor.id}&createdFrom=${today}`)).body.data).toHaveLength(1);
    expect((await s.admin.get(`/v1/contracts?partyId=${p.contractor.id}&createdTo=${today}`)).body.data).toHaveLength(0);
    expectProblem(await s.admin.get('/v1/contracts?metadata=no-colon'), 422, 'validation_failed');
    const ms = await p.client.api.get(`/v1/contracts/${c.body.id}/milestones?externalId=${ext}-1`);
    expect(ms.body.data.map((m: { title: string }) => m.title)).toEqual(['One']);
    // The operator patches them later.
    const patched = await s.admin.patch(`/v1/admin/contracts/${c.body.id}`, { metadata: { team: 'web', stage: 'beta' } });
    expect(patched.body).toMatchObject({ id: c.body.id, metadata: { team: 'web', stage: 'beta' }, overview: { total: 11000 } });
    const m2 = await s.admin.patch(`/v1/admin/milestones/${c.body.milestones[1].id}`, { externalId: `${ext}-2` });
    expect(m2.body).toMatchObject({ id: c.body.milestones[1].id, externalId: `${ext}-2` });
    await expectRefused(s, () => s.admin.patch(`/v1/admin/milestones/${c.body.milestones[0].id}`, { externalId: `${ext}-2` }), 409, 'external_id_taken');
    expectProblem(await s.admin.patch(`/v1/admin/contracts/ctr_01jd0000000000000000000000`, { metadata: {} }), 404, 'not_found');
  });

  it('a user’s tokens are listed without their values, to the admin and to the user', async () => {
    const p = await newParties(s);
    const extra = await s.admin.post(`/v1/users/${p.client.id}/tokens`, { name: 'backend' });
    const list = await s.admin.get(`/v1/users/${p.client.id}/tokens`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: { id: string }) => t.id)).toContain(extra.body.id);
    expect(JSON.stringify(list.body)).not.toContain(extra.body.token);
    expect(list.body.data.find((t: { id: string }) => t.id === extra.body.id)).toMatchObject({ name: 'backend', lastFour: extra.body.token.slice(-4), revokedAt: null });
    expect((await p.client.api.get(`/v1/users/${p.client.id}/tokens`)).status).toBe(200);
    expectProblem(await p.contractor.api.get(`/v1/users/${p.client.id}/tokens`), 404, 'not_found');
  });

  it('the admin lists disputes by status and party, and reads every event after a given one', async () => {
    const p = await newParties(s);
    const c = await s.admin.actingAs(p.client.id).post('/v1/contracts', {
      title: 'Disputed', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
      milestones: [{ title: 'One', amount: 5000, dueDate: inDays(10) }],
    });
    expect((await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const m = c.body.milestones[0].id;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    const d = await p.client.api.post(`/v1/milestones/${m}/dispute`, { reason: 'late' });
    expect(d.status).toBe(201);
    const open = await s.admin.get(`/v1/admin/disputes?status=open&partyId=${p.contractor.id}`);
    expect(open.body.data.map((x: { id: string }) => x.id)).toEqual([d.body.id]);
    expect((await s.admin.get(`/v1/admin/disputes?status=resolved&partyId=${p.contractor.id}`)).body.data).toEqual([]);
    expectProblem(await p.client.api.get('/v1/admin/disputes'), 403, 'forbidden');

    // Events of this contract, page by page, oldest first, as a resync would read them.
    const seen: { id: string; type: string }[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r: { body: { data: { id: string; type: string; contractId: string }[]; nextAfter: string | null } } = await s.admin.get(`/v1/admin/events?contractId=${c.body.id}&limit=2${after ? `&after=${after}` : ''}`);
      if (!r.body.data.length) break;
      seen.push(...r.body.data);
      after = r.body.nextAfter;
    }
    expect(seen.map((e) => e.type)).toEqual(['contract.created', 'contract.activated', 'milestone.funded', 'dispute.opened']);
    expect([...seen.map((e) => e.id)].sort()).toEqual(seen.map((e) => e.id));
    const activity = await p.client.api.get(`/v1/contracts/${c.body.id}/activity`);
    expect(new Set(activity.body.data.map((a: { id: string }) => a.id))).toEqual(new Set(seen.map((e) => e.id)));
    expectProblem(await s.admin.get('/v1/admin/events?after=nope'), 422, 'validation_failed');
    expectProblem(await p.client.api.get('/v1/admin/events'), 403, 'forbidden');
  });
});
