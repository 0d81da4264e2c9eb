import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, newParties, newUser, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';

async function all(api: Client, path: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r: Res = await api.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status).toBe(200);
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    ids.push(...r.body.data.map((x: { id: string }) => x.id));
    cursor = r.body.nextCursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

describe.each(engines())('cursor pagination on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('walks every contract once, newest first, by role and for both roles', async () => {
    const p = await newParties(s);
    const other = await newUser(s, 'other-client');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await p.client.api.post('/v1/contracts', { title: `C${i}`, clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD' });
      created.push(r.body.id);
    }
    // The contractor is also the client of two contracts with someone else.
    for (let i = 0; i < 2; i++) {
      const r = await p.contractor.api.post('/v1/contracts', { title: `X${i}`, clientId: p.contractor.id, contractorId: other.id, type: 'fixed', currency: 'EUR' });
      created.push(r.body.id);
    }
    const asClient = await all(p.client.api, '/v1/contracts', 2);
    expect(asClient.ids).toEqual(created.slice(0, 5).reverse());
    expect(asClient.pages).toBe(3);
    const both = await all(p.contractor.api, '/v1/contracts', 3);
    expect(both.ids).toEqual([...created].reverse());
    expect((await all(p.contractor.api, '/v1/contracts?role=client', 1)).ids).toEqual(created.slice(5).reverse());
    expect((await all(p.contractor.api, '/v1/contracts?role=contractor', 10)).ids).toEqual(created.slice(0, 5).reverse());
    expect((await all(other.api, '/v1/contracts?status=active', 10)).ids).toEqual([]);
  });

  it('refuses a cursor it did not issue', async () => {
    const u = await newUser(s, 'cursor');
    const r = await u.api.get('/v1/contracts?cursor=not-ours');
    expect(r.status).toBe(422);
    expect(r.body.errors[0].field).toBe('cursor');
  });
});
