import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, newUser, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';

/**
 * The role × action matrix, generated from the server's own OpenAPI document: every route on a
 * contract or a milestone, called on an organisation's contract by each role, by a member of
 * another organisation and by a removed member. No table to keep in step: the viewer must be
 * refused every change with the missing role named, the member holding that role is never
 * refused for a role, owners and admins never, and the two outsiders get 404.
 */
describe.each(engines())('organisation role × action matrix on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('answers every contract and milestone route by role as the roles say', async () => {
    const owner = await newUser(s, 'owner');
    const contractor = await newUser(s, 'contractor');
    const orgId = (await owner.api.post('/v1/organizations', { name: 'Matrix Co' })).body.id as string;
    expect((await owner.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const join = async (org: string, name: string, roles: string[]) => {
      const u = await newUser(s, name);
      await s.db.query('INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, $3, now())', [org, u.id, roles]);
      return u;
    };
    const members: Record<string, Client> = { owner: owner.api };
    for (const role of ['admin', 'manager', 'finance', 'viewer']) members[role] = (await join(orgId, role, [role])).api;
    const removed = await join(orgId, 'removed', ['owner', 'admin', 'manager', 'finance']);
    expect((await owner.api.del(`/v1/organizations/${orgId}/members/${removed.id}`)).status).toBe(204);
    const otherOwner = await newUser(s, 'elsewhere');
    await otherOwner.api.post('/v1/organizations', { name: 'Other Co' });
    const outsiders: Record<string, Client> = { removed: removed.api, otherOrganisation: otherOwner.api };

    /** A fresh live contract of the organisation with two agreed milestones. */
    const fixture = async () => {
      const c = await members.manager!.post('/v1/contracts', {
        title: 'Matrix', clientId: orgId, contractorId: contractor.id, type: 'fixed', currency: 'USD',
        policy: { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } },
        milestones: [{ title: 'One', amount: 10000, dueDate: inDays(30) }, { title: 'Two', amount: 20000, dueDate: inDays(30) }],
      });
      if (c.status !== 201) throw new Error(`contract: ${c.status} ${JSON.stringify(c.body)}`);
      const a = await contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
      if (a.status !== 200) throw new Error(`activate: ${a.status} ${JSON.stringify(a.body)}`);
      return { contractId: c.body.id as string, milestoneIds: (a.body.milestones as { id: string }[]).map((m) => m.id) };
    };

    const doc = (await s.admin.get('/openapi.json')).body;
    const exampleOf = (op: any): unknown => {
      const c = op.requestBody?.content?.['application/json'];
      if (!c) return undefined;
      const schema = c.schema?.$ref ? doc.components.schemas[c.schema.$ref.split('/').pop()] : c.schema;
      return c.example ?? schema?.example ?? (schema?.anyOf ?? []).map((x: any) => x.example).find((x: unknown) => x !== undefined);
    };
    // Bodies the document has no example for, where an empty body is not valid.
    const bodies = (f: Awaited<ReturnType<typeof fixture>>): Record<string, unknown> => ({
      'POST /v1/milestones/{id}/reject': { reason: 'Not yet' },
      'POST /v1/milestones/{id}/release': { amount: 100 },
      'POST /v1/milestones/{id}/dispute': { reason: 'Stalled' },
      'PUT /v1/contracts/{id}/milestone-order': { milestoneIds: [...f.milestoneIds].reverse() },
    });
    const routes = Object.entries<Record<string, any>>(doc.paths)
      .filter(([path]) => /^\/v1\/(contracts|milestones)\/\{id\}/.test(path))
      .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ method: m.toUpperCase(), path, op })))
      // An event stream never ends; uploads are multipart (files have their own tests).
      .filter((r) => !r.op.responses?.['200']?.content?.['text/event-stream'] && !r.op.requestBody?.content?.['multipart/form-data']);
    expect(routes.length).toBeGreaterThan(25);

    const mismatches: string[] = [];
    const needs: Record<string, string> = {};
    const show = (r: Res) => `${r.status} ${JSON.stringify(r.body).slice(0, 160)}`;
    const missingRole = (r: Res): string | undefined => (r.status === 403 ? r.body?.missingRole : undefined);
    for (const { method, path, op } of routes) {
      const route = `${method} ${path}`;
      const f = await fixture();
      const url = path.replace('{id}', path.startsWith('/v1/contracts') ? f.contractId : f.milestoneIds[0]!).replace(/\{\w+\}/g, 'x');
      const body = method === 'GET' || method === 'DELETE' ? undefined : (bodies(f)[route] ?? exampleOf(op) ?? {});
      const call = (c: Client) => c.req(method, url, body);
      for (const [who, c] of Object.entries(outsiders)) {
        const r = await call(c);
        if (r.status !== 404) mismatches.push(`${route} as ${who}: expected 404, got ${show(r)}`);
      }
      // The viewer first, on the untouched fixture: reads pass, every change is refused naming the role.
      const v = await call(members.viewer!);
      const need = missingRole(v);
      if (method === 'GET' || route === 'POST /v1/contracts/{id}/messages/read') {
        if (v.status === 403 || v.status === 404) mismatches.push(`${route} as viewer: a read, got ${show(v)}`);
      } else if (!need || !['manager', 'finance'].includes(need)) {
        mismatches.push(`${route} as viewer: expected 403 naming manager or finance, got ${show(v)}`);
      } else needs[route] = need;
      for (const role of ['finance', 'manager', 'admin', 'owner']) {
        const r = await call(members[role]!);
        const m = missingRole(r);
        // (A 403 without missingRole is the party's own rule: out of turn, the contractor's action.)
        if (m && (role === 'admin' || role === 'owner' || m === role)) mismatches.push(`${route} as ${role}: refused for ${m}: ${show(r)}`);
      }
    }
    process.stdout.write(`[org-role-matrix] ${routes.length} routes; roles needed: ${JSON.stringify(needs)}\n`);
    expect(mismatches).toEqual([]);
    // The money actions are finance's, the rest of the changes the manager's.
    expect(needs['POST /v1/milestones/{id}/fund']).toBe('finance');
    expect(needs['POST /v1/contracts/{id}/close']).toBe('finance');
    expect(needs['POST /v1/milestones/{id}/approve']).toBe('manager');
    expect(needs['POST /v1/contracts/{id}/milestones']).toBe('manager');
  }, 240_000);
});
