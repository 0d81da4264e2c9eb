import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, newUser, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';
import { runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';

/**
 * The role × action matrix, generated from the server's own OpenAPI document: every route that
 * acts on an organisation's contract — addressed by the contract or milestone, or by a payment,
 * change request, dispute, refund request, invoice, time entry, milestone request, hourly terms
 * or file id — called by each role, by a member of another organisation and by a removed
 * member. The viewer must be refused every change with the missing role named, the member
 * holding that role is never refused for a role, owners and admins never, and the two outsiders
 * get 404 (lists: they do not see the organisation's item).
 *
 * Every documented route is either in the table below or named as not acting on a contract,
 * with the reason: a route in neither fails the test, so a new route cannot ship without
 * deciding what an organisation's members may do with it (as test/reliability/authz-matrix.test.ts).
 */

/** Routes that act on no organisation's contract, and why they are not in the matrix. */
const NOT_ON_A_CONTRACT: Record<string, string> = {
  'POST /v1/users': 'platform admin: users',
  'GET /v1/users': 'platform admin: users',
  'GET /v1/users/{id}': 'a user reads themself',
  'GET /v1/users/{id}/profile': 'a party’s public profile (a person or an organisation), no contract',
  'POST /v1/users/{id}/tokens': 'platform admin: tokens',
  'GET /v1/users/{id}/tokens': 'a user’s own tokens',
  'DELETE /v1/tokens/{id}': 'a user’s own tokens',
  'POST /v1/auth/login': 'public',
  'POST /v1/auth/logout': 'the caller’s own session',
  'GET /v1/me': 'the caller',
  'PUT /v1/me/payment-method': 'the caller',
  'POST /v1/me/password': 'the caller',
  'GET /v1/me/notification-preferences': 'the caller',
  'PUT /v1/me/notification-preferences': 'the caller',
  'GET /v1/me/balance': 'the caller’s balance as a contractor (organisations are clients only)',
  'POST /v1/payouts': 'a contractor’s payout of their own balance',
  'GET /v1/payouts': 'a contractor’s own payouts',
  'GET /v1/payouts/{id}': 'a contractor’s own payouts',
  'GET /v1/me/payout-account': 'the caller’s payout account as a contractor (organisations are clients only)',
  'POST /v1/me/payout-account': 'the caller’s payout account as a contractor (organisations are clients only)',
  'POST /v1/providers/stripe/webhooks': 'public: the payment provider’s events',
  'POST /v1/contracts': 'creation: naming an organisation one is not a member of is organizations.test.ts’s',
  'GET /v1/notifications': 'the caller’s own',
  'POST /v1/notifications/read': 'the caller’s own',
  'GET /v1/events': 'the caller’s own stream (live-events.test.ts: members get their organisation’s events)',
  'POST /v1/files': 'an upload belongs to its uploader until attached',
  'POST /v1/organizations': 'founding one',
  'GET /v1/organizations': 'the caller’s memberships',
  'GET /v1/organizations/{id}': 'the organisation itself: organizations.test.ts and the authz matrix',
  'PATCH /v1/organizations/{id}': 'the organisation itself (admin): organizations-four-eyes.test.ts',
  'PUT /v1/organizations/{id}/payment-method': 'the organisation itself (finance): organizations.test.ts',
  'GET /v1/organizations/{id}/members': 'the organisation itself',
  'PATCH /v1/organizations/{id}/members/{userId}': 'the organisation itself (admin): organizations.test.ts',
  'DELETE /v1/organizations/{id}/members/{userId}': 'the organisation itself (admin): organizations.test.ts',
  'POST /v1/organizations/{id}/invitations': 'the organisation itself (admin): organizations.test.ts',
  'GET /v1/organizations/{id}/invitations': 'the organisation itself (admin)',
  'DELETE /v1/organizations/{id}/invitations/{invitationId}': 'the organisation itself (admin)',
  'POST /v1/invitations/{token}/accept': 'public: the token decides',
  'GET /v1/organizations/{id}/contractors': 'the organisation’s view: organizations.test.ts',
  'GET /v1/organizations/{id}/contractors/{userId}/milestones': 'the organisation’s view: organizations.test.ts',
};
/** Platform-admin routes (the authz matrix refuses them to every user). */
const isAdminRoute = (route: string) => /^\w+ \/v1\/(admin|webhook-endpoints)\b/.test(route);

type Target = { url: string; body?: unknown; /** a list: members see this id in it, outsiders do not */ listed?: string };

describe.each(engines())('organisation role × action matrix on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('answers every route on an organisation’s contract by role as the roles say, and covers every route', async () => {
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
    const manager = members.manager!;
    const finance = members.finance!;

    const ok = (r: Res, status = 200) => {
      if (r.status !== status) throw new Error(`fixture: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    /** A fresh live fixed-price contract of the organisation with two agreed milestones. */
    const fixed = async (policy: unknown = { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } }) => {
      const c = ok(
        await manager.post('/v1/contracts', {
          title: 'Matrix', clientId: orgId, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy,
          milestones: [{ title: 'One', amount: 10000, dueDate: inDays(30) }, { title: 'Two', amount: 20000, dueDate: inDays(30) }],
        }),
        201,
      );
      const a = ok(await contractor.api.post(`/v1/contracts/${c.id}/activate`));
      return { contractId: c.id as string, milestoneIds: (a.milestones as { id: string }[]).map((m) => m.id) };
    };
    const hourly = async () => {
      const c = ok(await manager.post('/v1/contracts', { title: 'Hourly matrix', clientId: orgId, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000 }), 201);
      ok(await contractor.api.post(`/v1/contracts/${c.id}/activate`));
      return c.id as string;
    };
    const today = () => serverNow(s).toISOString().slice(0, 10);
    const timeEntry = async (contractId: string) => ok(await contractor.api.post(`/v1/contracts/${contractId}/time-entries`, { date: today(), minutes: 90, memo: 'matrix' }), 201).id as string;

    // Invoices come from Monday's job: time is logged this week on a pool of hourly contracts,
    // the clock moves to next Monday and the job runs, before any other fixture.
    const pool: string[] = [];
    for (let i = 0; i < 8; i++) {
      const id = await hourly();
      await timeEntry(id);
      pool.push(id);
    }
    const now = serverNow(s);
    await setClock(s, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + (7 - ((now.getUTCDay() + 6) % 7)), 0, 1)));
    await runJobs(s);
    const openInvoices: string[] = [];
    for (const id of pool) openInvoices.push(...ok(await owner.api.get(`/v1/contracts/${id}/invoices`)).data.filter((i: { status: string }) => i.status === 'open').map((i: { id: string }) => i.id));
    expect(openInvoices.length).toBe(pool.length);
    const invoice = async () => openInvoices.pop() ?? (() => { throw new Error('fixture: invoice pool exhausted'); })();

    const funded = async () => {
      const f = await fixed();
      ok(await finance.post(`/v1/milestones/${f.milestoneIds[0]}/fund`));
      return f;
    };
    const draftPayment = async () => {
      const f = await fixed('company_managed');
      ok(await contractor.api.post(`/v1/milestones/${f.milestoneIds[0]}/submit`, {}));
      ok(await manager.post(`/v1/milestones/${f.milestoneIds[0]}/approve`));
      return ok(await owner.api.get(`/v1/payments?contractId=${f.contractId}&status=draft`)).data[0].id as string;
    };
    /** A change request of the contractor's, and a milestone it is about. */
    const changeRequestOn = async () => {
      const f = await fixed();
      const cr = ok(await contractor.api.post(`/v1/contracts/${f.contractId}/change-requests`, { operations: [{ op: 'update', milestoneId: f.milestoneIds[0], changes: { amount: 12_345 } }] }), 201);
      return { id: cr.id as string, milestoneId: f.milestoneIds[0]! };
    };
    const changeRequest = async () => (await changeRequestOn()).id;
    const disputeByContractor = async () => {
      const f = await funded();
      return ok(await contractor.api.post(`/v1/milestones/${f.milestoneIds[0]}/dispute`, { reason: 'stalled' }), 201).id as string;
    };
    const refundRequest = async () => {
      const f = await funded();
      return ok(await finance.post(`/v1/contracts/${f.contractId}/close`, { refund: 10_000 }), 202).id as string;
    };
    const milestoneRequest = async () => ok(await contractor.api.post(`/v1/contracts/${await hourly()}/milestone-requests`, { amount: 5000, description: 'advance' }), 201).id as string;
    const hourlyTerms = async () => ok(await contractor.api.post(`/v1/contracts/${await hourly()}/hourly-terms`, { hourlyRate: 7000 }), 201).id as string;
    const file = async () => {
      const f = await fixed();
      const form = new FormData();
      form.append('file', new Blob(['brief']), 'brief.txt');
      const up = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${contractor.token}` }, body: form });
      const id = ((await up.json()) as { id: string }).id;
      // Attached by the contractor to a milestone of the organisation's contract.
      ok(await contractor.api.post(`/v1/contracts/${f.contractId}/milestones`, { title: 'With brief', amount: 3000, dueDate: inDays(40), attachmentIds: [id] }), 201);
      return id;
    };

    /** Routes addressed by something other than the contract or milestone: how to reach one of the organisation's. */
    const BY_ID: Record<string, () => Promise<Target>> = {
      'GET /v1/contracts': async () => ({ url: '/v1/contracts', listed: (await fixed()).contractId }),
      'GET /v1/payments': async () => ({ url: '/v1/payments', listed: await draftPayment() }),
      'GET /v1/payments/{id}': async () => ({ url: `/v1/payments/${await draftPayment()}` }),
      'POST /v1/payments/{id}/pay': async () => ({ url: `/v1/payments/${await draftPayment()}/pay`, body: {} }),
      'POST /v1/payments/pay': async () => ({ url: '/v1/payments/pay', body: { paymentIds: [await draftPayment()] } }),
      'GET /v1/change-requests/{id}': async () => ({ url: `/v1/change-requests/${await changeRequest()}` }),
      'POST /v1/change-requests/{id}/accept': async () => ({ url: `/v1/change-requests/${await changeRequest()}/accept` }),
      'POST /v1/change-requests/{id}/decline': async () => ({ url: `/v1/change-requests/${await changeRequest()}/decline`, body: { reason: 'no' } }),
      'POST /v1/change-requests/{id}/modify': async () => {
        const cr = await changeRequestOn();
        return { url: `/v1/change-requests/${cr.id}/modify`, body: { operations: [{ op: 'update', milestoneId: cr.milestoneId, changes: { amount: 11_111 } }] } };
      },
      'POST /v1/change-requests/{id}/modify/preview': async () => {
        const cr = await changeRequestOn();
        return { url: `/v1/change-requests/${cr.id}/modify/preview`, body: { operations: [{ op: 'update', milestoneId: cr.milestoneId, changes: { amount: 11_111 } }] } };
      },
      'POST /v1/change-requests/{id}/withdraw': async () => ({ url: `/v1/change-requests/${await changeRequest()}/withdraw` }),
      'GET /v1/disputes/{id}': async () => ({ url: `/v1/disputes/${await disputeByContractor()}` }),
      'POST /v1/disputes/{id}/respond': async () => ({ url: `/v1/disputes/${await disputeByContractor()}/respond`, body: { message: 'it is late' } }),
      'POST /v1/disputes/{id}/resolve': async () => ({ url: `/v1/disputes/${await disputeByContractor()}/resolve`, body: { releaseAmount: 4000, refundAmount: 6000 } }),
      'GET /v1/refund-requests/{id}': async () => ({ url: `/v1/refund-requests/${await refundRequest()}` }),
      'POST /v1/refund-requests/{id}/accept': async () => ({ url: `/v1/refund-requests/${await refundRequest()}/accept` }),
      'POST /v1/refund-requests/{id}/counter': async () => ({ url: `/v1/refund-requests/${await refundRequest()}/counter`, body: { refund: 1 } }),
      'POST /v1/refund-requests/{id}/decline': async () => ({ url: `/v1/refund-requests/${await refundRequest()}/decline` }),
      'POST /v1/refund-requests/{id}/withdraw': async () => ({ url: `/v1/refund-requests/${await refundRequest()}/withdraw` }),
      'GET /v1/invoices': async () => ({ url: '/v1/invoices', listed: await invoice() }),
      'GET /v1/invoices/{id}': async () => ({ url: `/v1/invoices/${await invoice()}` }),
      'GET /v1/invoices/{id}/pdf': async () => ({ url: `/v1/invoices/${await invoice()}/pdf` }),
      'POST /v1/invoices/{id}/pay': async () => ({ url: `/v1/invoices/${await invoice()}/pay` }),
      'POST /v1/invoices/{id}/dispute': async () => ({ url: `/v1/invoices/${await invoice()}/dispute`, body: { reason: 'hours too high' } }),
      'POST /v1/invoices/{id}/void': async () => ({ url: `/v1/invoices/${await invoice()}/void` }),
      'PATCH /v1/time-entries/{id}': async () => ({ url: `/v1/time-entries/${await timeEntry(await hourly())}`, body: { minutes: 45 } }),
      'DELETE /v1/time-entries/{id}': async () => ({ url: `/v1/time-entries/${await timeEntry(await hourly())}` }),
      'GET /v1/milestone-requests/{id}': async () => ({ url: `/v1/milestone-requests/${await milestoneRequest()}` }),
      'POST /v1/milestone-requests/{id}/accept': async () => ({ url: `/v1/milestone-requests/${await milestoneRequest()}/accept` }),
      'POST /v1/milestone-requests/{id}/decline': async () => ({ url: `/v1/milestone-requests/${await milestoneRequest()}/decline`, body: { reason: 'not now' } }),
      'POST /v1/milestone-requests/{id}/withdraw': async () => ({ url: `/v1/milestone-requests/${await milestoneRequest()}/withdraw` }),
      'POST /v1/hourly-terms/{id}/accept': async () => ({ url: `/v1/hourly-terms/${await hourlyTerms()}/accept` }),
      'POST /v1/hourly-terms/{id}/decline': async () => ({ url: `/v1/hourly-terms/${await hourlyTerms()}/decline` }),
      'POST /v1/hourly-terms/{id}/withdraw': async () => ({ url: `/v1/hourly-terms/${await hourlyTerms()}/withdraw` }),
      'GET /v1/files/{id}': async () => ({ url: `/v1/files/${await file()}` }),
      'GET /v1/files/{id}/content': async () => ({ url: `/v1/files/${await file()}/content` }),
    };

    const doc = (await s.admin.get('/openapi.json')).body;
    const exampleOf = (op: any): unknown => {
      const c = op.requestBody?.content?.['application/json'];
      if (!c) return undefined;
      const schema = c.schema?.$ref ? doc.components.schemas[c.schema.$ref.split('/').pop()] : c.schema;
      return c.example ?? schema?.example ?? (schema?.anyOf ?? []).map((x: any) => x.example).find((x: unknown) => x !== undefined);
    };
    const all = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ route: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, op })));
    const onContract = (path: string) => /^\/v1\/(contracts|milestones)\/\{id\}/.test(path);
    const uncovered = all.map((r) => r.route).filter((r) => !isAdminRoute(r) && !NOT_ON_A_CONTRACT[r] && !BY_ID[r] && !onContract(r.split(' ')[1]!));
    expect(uncovered, 'routes neither in the organisation matrix nor named as acting on no contract').toEqual([]);
    const stale = [...Object.keys(NOT_ON_A_CONTRACT), ...Object.keys(BY_ID)].filter((k) => !all.some((r) => r.route === k));
    expect(stale, 'entries for routes the server no longer has').toEqual([]);

    // Routes on /contracts/{id} or /milestones/{id}: a fresh contract each (hourly ones for hourly routes).
    const HOURLY = /\/(time-entries|hourly|hourly-terms|milestone-requests|invoices)\b/;
    const bodies = (milestoneIds: string[]): Record<string, unknown> => ({
      'POST /v1/milestones/{id}/reject': { reason: 'Not yet' },
      'POST /v1/milestones/{id}/release': { amount: 100 },
      'POST /v1/milestones/{id}/dispute': { reason: 'Stalled' },
      'PUT /v1/contracts/{id}/milestone-order': { milestoneIds: [...milestoneIds].reverse() },
      'POST /v1/contracts/{id}/time-entries': { date: today(), minutes: 30, memo: 'm' },
    });
    const routes = all
      .filter((r) => BY_ID[r.route] || onContract(r.path))
      // An event stream never ends; uploads are multipart (files have their own tests).
      .filter((r) => !r.op.responses?.['200']?.content?.['text/event-stream'] && !r.op.requestBody?.content?.['multipart/form-data']);
    const targetOf = async ({ route, method, path, op }: (typeof routes)[number]): Promise<Target> => {
      if (BY_ID[route]) return BY_ID[route]();
      let contractId: string;
      let milestoneIds: string[] = [];
      if (HOURLY.test(path)) contractId = await hourly();
      else ({ contractId, milestoneIds } = await fixed());
      const url = path.replace('{id}', path.startsWith('/v1/contracts') ? contractId : milestoneIds[0]!).replace(/\{\w+\}/g, 'x');
      const body = method === 'GET' || method === 'DELETE' ? undefined : (bodies(milestoneIds)[route] ?? exampleOf(op) ?? {});
      return { url, body };
    };

    const mismatches: string[] = [];
    const needs: Record<string, string> = {};
    const show = (r: Res) => `${r.status} ${JSON.stringify(r.body).slice(0, 160)}`;
    const missingRole = (r: Res): string | undefined => (r.status === 403 ? r.body?.missingRole : undefined);
    const READS = new Set(['POST /v1/contracts/{id}/messages/read']);
    for (const r of routes) {
      const { route, method } = r;
      const t = await targetOf(r);
      const call = (c: Client) => c.req(method, t.url, t.body);
      for (const [who, c] of Object.entries(outsiders)) {
        const res = await call(c);
        if (t.listed) {
          if (res.status !== 200 || JSON.stringify(res.body).includes(t.listed)) mismatches.push(`${route} as ${who}: expected a list without ${t.listed}, got ${show(res)}`);
        } else if (res.status !== 404) mismatches.push(`${route} as ${who}: expected 404, got ${show(res)}`);
      }
      // The viewer first, on the untouched fixture: reads pass, every change is refused naming the role.
      const v = await call(members.viewer!);
      const need = missingRole(v);
      if (method === 'GET' || READS.has(route)) {
        if (v.status === 403 || v.status === 404) mismatches.push(`${route} as viewer: a read, got ${show(v)}`);
        if (t.listed && !JSON.stringify(v.body).includes(t.listed)) mismatches.push(`${route} as viewer: the list lacks ${t.listed}`);
      } else if (!need || !['manager', 'finance'].includes(need)) {
        mismatches.push(`${route} as viewer: expected 403 naming manager or finance, got ${show(v)}`);
      } else needs[route] = need;
      for (const role of ['finance', 'manager', 'admin', 'owner']) {
        const res = await call(members[role]!);
        const m = missingRole(res);
        // (A 403 without missingRole is the party's own rule: out of turn, the contractor's action.)
        if (m && (role === 'admin' || role === 'owner' || m === role)) mismatches.push(`${route} as ${role}: refused for ${m}: ${show(res)}`);
        if (res.status === 404) mismatches.push(`${route} as ${role}: a member got 404: ${show(res)}`);
      }
    }
    process.stdout.write(`[org-role-matrix] ${routes.length} routes; roles needed: ${JSON.stringify(needs)}\n`);
    expect(mismatches).toEqual([]);
    expect(routes.length).toBeGreaterThan(60);
    // Money moves are finance's; the rest of the changes the manager's.
    expect({
      fund: needs['POST /v1/milestones/{id}/fund'],
      close: needs['POST /v1/contracts/{id}/close'],
      payPayment: needs['POST /v1/payments/{id}/pay'],
      payPayments: needs['POST /v1/payments/pay'],
      payInvoice: needs['POST /v1/invoices/{id}/pay'],
      acceptMilestoneRequest: needs['POST /v1/milestone-requests/{id}/accept'],
      withdrawRefundRequest: needs['POST /v1/refund-requests/{id}/withdraw'],
      approve: needs['POST /v1/milestones/{id}/approve'],
      addMilestone: needs['POST /v1/contracts/{id}/milestones'],
      acceptChangeRequest: needs['POST /v1/change-requests/{id}/accept'],
      respondDispute: needs['POST /v1/disputes/{id}/respond'],
    }).toEqual({
      fund: 'finance', close: 'finance', payPayment: 'finance', payPayments: 'finance', payInvoice: 'finance', acceptMilestoneRequest: 'finance', withdrawRefundRequest: 'finance',
      approve: 'manager', addMilestone: 'manager', acceptChangeRequest: 'manager', respondDispute: 'manager',
    });
  }, 480_000);
});
