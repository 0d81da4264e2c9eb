import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import { engines, inDays, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';
import { runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';
import { foreignPlatformUser, mapLimit, sha256hex } from '../support/reliability-helpers.ts';

/**
 * Authorization matrix (PRODUCT.md §2 Contract, §4, §5). Every route the server documents in
 * /openapi.json × every kind of caller, against an explicit table of expected status classes.
 * A route without an entry in the table fails the test, so a new route cannot ship without
 * deciding who may call it. Non-parties get 404 for contract resources (existence is not
 * disclosed), a party acting out of turn 403, no or a revoked token 401.
 *
 * Three callers follow rules rather than columns of the table (an entry may still name them):
 * - `session`: the client's login cookie, sent from the app's own origin, answers as the client;
 * - `crossSite`: the same cookie sent by another site (`Origin: https://evil.example`) gets
 *   403 on every unsafe method (CSRF) and answers as the client otherwise;
 * - `foreignAdmin`: another platform's admin token sees nothing of this platform (404 for any
 *   route naming one of its resources and for contract resources) and otherwise answers as
 *   the admin does on its own platform.
 */
type TableCaller = 'client' | 'contractor' | 'stranger' | 'foreign' | 'anonymous' | 'revoked' | 'admin';
type RuleCaller = 'session' | 'crossSite' | 'foreignAdmin';
type Caller = TableCaller | RuleCaller;
type Class = '2xx' | '401' | '403' | '404' | '422';
type Expect = Record<TableCaller, Class> & Partial<Record<RuleCaller, Class>>;
type Call = { path: string; body?: unknown; multipart?: boolean };
type Entry = { setup: () => Promise<Call>; expect: Expect };

const CALLERS: Caller[] = ['client', 'contractor', 'stranger', 'foreign', 'anonymous', 'revoked', 'admin', 'session', 'crossSite', 'foreignAdmin'];
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What `caller` must get on `route` (see the rules above). */
function expected(route: string, e: Expect, caller: Caller): Class {
  const [method, path] = route.split(' ') as [string, string];
  switch (caller) {
    case 'session':
      return e.session ?? e.client;
    case 'crossSite':
      return UNSAFE.has(method) ? '403' : (e.crossSite ?? e.client);
    case 'foreignAdmin':
      return e.foreignAdmin ?? (e.stranger === '404' || path.includes('{') ? '404' : e.admin);
    default:
      return e[caller];
  }
}

/** Contract resources: the two parties as given, non-parties 404, no/revoked token 401, admin as given. */
const party = (client: Class, contractor: Class, admin: Class): Expect => ({ client, contractor, stranger: '404', foreign: '404', anonymous: '401', revoked: '401', admin });
/** Platform-admin routes. */
const adminOnly: Expect = { client: '403', contractor: '403', stranger: '403', foreign: '403', anonymous: '401', revoked: '401', admin: '2xx' };
/** Anything an authenticated user does for themself. */
const anyUser = (admin: Class): Expect => ({ client: '2xx', contractor: '2xx', stranger: '2xx', foreign: '2xx', anonymous: '401', revoked: '401', admin });

const engine = engines().includes('postgres') ? 'postgres' : 'pglite';

describe(`authorization matrix over every route (${engine})`, () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('answers every route × caller as the table says, and the table covers every route', async () => {
    // ---- the callers ----
    const password = 'correct horse battery staple';
    const mkUser = async (name: string, withPassword = false) => {
      const email = `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.com`;
      const u = await s.admin.post('/v1/users', { email, name, ...(withPassword ? { password } : {}) });
      expect(u.status).toBe(201);
      const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, {});
      expect(t.status).toBe(201);
      return { id: u.body.id as string, email, token: t.body.token as string, api: s.api.as(t.body.token) };
    };
    const client = await mkUser('client', true);
    const contractor = await mkUser('contractor');
    const stranger = await mkUser('stranger');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const foreign = await foreignPlatformUser(s.db);
    // A revoked token of the client itself: a real party's credential, no longer valid.
    const old = await s.admin.post(`/v1/users/${client.id}/tokens`, { name: 'old' });
    expect((await client.api.del(`/v1/tokens/${old.body.id}`)).status).toBe(204);
    // Another platform's admin token (a second marketplace on the same deployment).
    const foreignAdminToken = `trk_${randomBytes(32).toString('base64url')}`;
    await s.db.query(
      `INSERT INTO api_tokens (id, platform_id, user_id, kind, name, token_hash, last_four, created_at, origin) VALUES ($1,$2,NULL,'admin','foreign admin',$3,$4,$5,'issued')`,
      [newId('token'), foreign.platformId, sha256hex(foreignAdminToken), foreignAdminToken.slice(-4), new Date()],
    );
    /** A fresh login session of the client for each call (one of the calls logs it out). */
    const clientSession = async () => {
      const r = await s.api.as(null).post('/v1/auth/login', { email: client.email, password });
      if (r.status !== 200) throw new Error(`login: ${r.status} ${JSON.stringify(r.body)}`);
      return /tranche_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')![0];
    };
    const fixedCallers: Record<TableCaller | 'foreignAdmin', Client> = {
      client: client.api,
      contractor: contractor.api,
      stranger: stranger.api,
      foreign: s.api.as(foreign.token),
      anonymous: s.api.as(null),
      revoked: s.api.as(old.body.token),
      admin: s.admin,
      foreignAdmin: s.api.as(foreignAdminToken),
    };
    const callerClient = async (caller: Caller): Promise<Client> => {
      if (caller === 'session') return s.api.as(null, { cookie: await clientSession(), origin: s.url });
      if (caller === 'crossSite') return s.api.as(null, { cookie: await clientSession(), origin: 'https://evil.example' });
      return fixedCallers[caller];
    };

    // ---- fixtures: a fresh resource for every call, so each caller meets the same state ----
    const ok = (r: Res, status = 200) => {
      if (r.status !== status) throw new Error(`fixture: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const escrow = { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } };
    const contract = async (opts: { policy?: unknown; activate?: boolean; milestones?: number } = {}) => {
      const c = ok(
        await client.api.post('/v1/contracts', {
          title: 'Authz', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: opts.policy ?? escrow,
          milestones: Array.from({ length: opts.milestones ?? 2 }, (_, j) => ({ title: `M${j}`, amount: 10_000 + j, dueDate: inDays(30 + j) })),
        }),
        201,
      );
      // The client proposes; the contractor accepts (activates) it.
      if (opts.activate !== false) ok(await contractor.api.post(`/v1/contracts/${c.id}/activate`));
      return { id: c.id as string, ms: (c.milestones as { id: string }[]).map((m) => m.id) };
    };
    const funded = async () => {
      const c = await contract();
      ok(await client.api.post(`/v1/milestones/${c.ms[0]}/fund`));
      return { ...c, m: c.ms[0]! };
    };
    const submitted = async () => {
      const f = await funded();
      ok(await contractor.api.post(`/v1/milestones/${f.m}/submit`, { note: 'done' }));
      return f;
    };
    const proposedByContractor = async () => {
      const c = await contract();
      const m = ok(await contractor.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Extra', amount: 5000, dueDate: inDays(12) }), 201);
      return m.id as string;
    };
    const disputeByClient = async () => {
      const f = await funded();
      return ok(await client.api.post(`/v1/milestones/${f.m}/dispute`, { reason: 'late' }), 201).id as string;
    };
    const changeRequestByContractor = async () => {
      const c = await contract();
      const cr = ok(await contractor.api.post(`/v1/contracts/${c.id}/change-requests`, { operations: [{ op: 'update', milestoneId: c.ms[0], changes: { amount: 12_345 } }] }), 201);
      return cr.id as string;
    };
    const refundRequest = async () => {
      const f = await funded();
      return ok(await client.api.post(`/v1/contracts/${f.id}/close`, { refund: 10_000 }), 202).id as string;
    };
    const draftPayment = async () => {
      const c = await contract({ policy: 'company_managed' });
      ok(await contractor.api.post(`/v1/milestones/${c.ms[0]}/submit`, {}));
      ok(await client.api.post(`/v1/milestones/${c.ms[0]}/approve`));
      const pays = ok(await client.api.get(`/v1/payments?contractId=${c.id}&status=draft`));
      return pays.data[0].id as string;
    };
    // Shared read-only world.
    // Hourly contracts. Invoices come from Monday's job: time is logged on a pool of contracts
    // this week, the clock moves to next Monday and the job runs, before any other fixture.
    const hourly = async () => {
      const c = ok(await client.api.post('/v1/contracts', { title: 'Hourly authz', clientId: client.id, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000, weeklyLimitHours: 40 }), 201);
      ok(await contractor.api.post(`/v1/contracts/${c.id}/activate`));
      return c.id as string;
    };
    const serverToday = () => serverNow(s).toISOString().slice(0, 10);
    const timeEntry = async (contractId: string) => ok(await contractor.api.post(`/v1/contracts/${contractId}/time-entries`, { date: serverToday(), minutes: 90, memo: 'authz' }), 201).id as string;
    const invoicePool = await mapLimit(Array.from({ length: 36 }, (_, i) => i), 4, async () => {
      const id = await hourly();
      await timeEntry(id);
      return id;
    });
    const now = serverNow(s);
    const nextMonday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + (7 - ((now.getUTCDay() + 6) % 7)), 0, 1));
    await setClock(s, nextMonday);
    await runJobs(s);
    const openInvoices: string[] = [];
    for (const id of invoicePool) openInvoices.push(...ok(await client.api.get(`/v1/contracts/${id}/invoices`)).data.filter((i: { status: string }) => i.status === 'open').map((i: { id: string }) => i.id));
    expect(openInvoices.length).toBe(invoicePool.length);
    const invoice = async () => openInvoices.pop() ?? (() => { throw new Error('fixture: invoice pool exhausted'); })();
    const worldHourly = invoicePool[0]!;
    const worldInvoice = (await invoice()) as string;
    const proposedTerms = async () => ok(await contractor.api.post(`/v1/contracts/${await hourly()}/hourly-terms`, { hourlyRate: 7000 }), 201).id as string;
    const milestoneRequest = async () => ok(await contractor.api.post(`/v1/contracts/${await hourly()}/milestone-requests`, { amount: 5000, description: 'advance' }), 201).id as string;

    const world = await funded();
    const worldDispute = await disputeByClient();
    const worldCr = await changeRequestByContractor();
    const worldPayment = (ok(await client.api.get(`/v1/payments?contractId=${(await (async () => {
      const c = await contract();
      ok(await client.api.post(`/v1/milestones/${c.ms[0]}/fund`));
      ok(await client.api.post(`/v1/milestones/${c.ms[0]}/approve`));
      return c.id;
    })())}`)).data[0].id) as string;
    // The contractor pays out a little of what the world payment left them.
    const worldPayout = (ok(await contractor.api.post('/v1/payouts', { amount: 100, currency: 'USD' }), 201) as { id: string }).id;
    const form = new FormData();
    form.append('file', new Blob(['deliverable notes']), 'notes.txt');
    const up = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${client.token}` }, body: form });
    expect(up.status).toBe(201);
    const fileId = ((await up.json()) as { id: string }).id;
    // Attached to a milestone of the world contract: the other party may read it, nobody else.
    ok(await client.api.post(`/v1/contracts/${world.id}/milestones`, { title: 'With brief', amount: 3000, dueDate: inDays(40), attachmentIds: [fileId] }), 201);

    const fixed = (call: Call) => async () => call;
    // Webhook endpoints stay paused, at a public address literal: this test never sends a webhook.
    const hookBody = { url: 'https://93.184.215.14/t', events: ['*'], enabled: false };
    const newHook = async () => ok(await s.admin.post('/v1/webhook-endpoints', hookBody), 201).id as string;
    const hook = await newHook();
    const hookMessage = ok(await s.admin.post(`/v1/webhook-endpoints/${hook}/test`), 202).messageId as string;
    // Reconciliation and chargebacks (the admin's): a report of a past day; a chargeback on a milestone of its own (its escrow frozen).
    const reconciliation = { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' };
    const run = ok(await s.admin.post('/v1/admin/reconciliations', reconciliation), 201).id as string;
    const chargebackBody = { milestoneId: (await funded()).m, disputeId: 'dp_matrix' };
    const chargeback = ok(await s.admin.post('/v1/admin/sandbox/chargebacks', chargebackBody), 201).id as string;

    // Organisations: the client owns them; the contractor is no member; the platform admin acts
    // for a person only (403 without Acting-User, on any platform).
    const newOrg = async () => ok(await client.api.post('/v1/organizations', { name: 'Matrix Ltd' }), 201).id as string;
    const org = await newOrg();
    const member = (admin: Class = '403'): Expect => ({ ...party('2xx', '404', admin), foreignAdmin: '403' });
    const orgWithMember = async () => {
      const o = await newOrg();
      const m = await mkUser('member');
      await s.db.query(`INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, ARRAY['viewer'], now())`, [o, m.id]);
      return { o, m: m.id };
    };
    const newInvitation = async () => ok(await client.api.post(`/v1/organizations/${org}/invitations`, { email: `inv-${randomBytes(4).toString('hex')}@example.com`, roles: ['viewer'] }), 201).id as string;
    /** A pending invitation for nobody's address, with a token this test knows (email delivery is organizations.test.ts's). */
    const invitationToken = async () => {
      const token = randomBytes(32).toString('base64url');
      await s.db.query(
        `INSERT INTO organization_invitations (id, org_id, email, roles, token_hash, invited_by, status, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, ARRAY['viewer'], $4, $5, 'pending', now() + interval '7 days', now(), now())`,
        [newId('invitation'), org, `nobody-${randomBytes(4).toString('hex')}@example.com`, sha256hex(token), client.id],
      );
      return token;
    };

    // ---- the table: every documented route ----
    const table: Record<string, Entry> = {
      'POST /v1/organizations': { setup: fixed({ path: '/v1/organizations', body: { name: 'New Ltd' } }), expect: anyUser('403') },
      'GET /v1/organizations': { setup: fixed({ path: '/v1/organizations' }), expect: anyUser('403') },
      'GET /v1/organizations/{id}': { setup: fixed({ path: `/v1/organizations/${org}` }), expect: member() },
      'PATCH /v1/organizations/{id}': { setup: fixed({ path: `/v1/organizations/${org}`, body: { name: 'Renamed Ltd' } }), expect: member() },
      'PUT /v1/organizations/{id}/payment-method': { setup: fixed({ path: `/v1/organizations/${org}/payment-method`, body: { paymentMethod: 'pm_card_ok' } }), expect: member() },
      'GET /v1/organizations/{id}/members': { setup: fixed({ path: `/v1/organizations/${org}/members` }), expect: member() },
      'PATCH /v1/organizations/{id}/members/{userId}': { setup: fixed({ path: `/v1/organizations/${org}/members/${client.id}`, body: { roles: ['owner', 'admin'] } }), expect: member() },
      'DELETE /v1/organizations/{id}/members/{userId}': { setup: async () => { const { o, m } = await orgWithMember(); return { path: `/v1/organizations/${o}/members/${m}` }; }, expect: member() },
      'POST /v1/organizations/{id}/invitations': { setup: async () => ({ path: `/v1/organizations/${org}/invitations`, body: { email: `x-${randomBytes(4).toString('hex')}@example.com`, roles: ['viewer'] } }), expect: member() },
      'GET /v1/organizations/{id}/invitations': { setup: fixed({ path: `/v1/organizations/${org}/invitations` }), expect: member() },
      'DELETE /v1/organizations/{id}/invitations/{invitationId}': { setup: async () => ({ path: `/v1/organizations/${org}/invitations/${await newInvitation()}` }), expect: member() },
      // Public, like login: the token decides; a signed-in caller must be the invited address.
      'POST /v1/invitations/{token}/accept': {
        setup: async () => ({ path: `/v1/invitations/${await invitationToken()}/accept` }),
        expect: { client: '403', contractor: '403', stranger: '403', foreign: '404', anonymous: '422', revoked: '401', admin: '403', foreignAdmin: '403' },
      },
      'GET /v1/organizations/{id}/contractors': { setup: fixed({ path: `/v1/organizations/${org}/contractors` }), expect: member() },
      'GET /v1/organizations/{id}/contractors/{userId}/milestones': { setup: fixed({ path: `/v1/organizations/${org}/contractors/${contractor.id}/milestones?section=pending` }), expect: member() },
      'POST /v1/users': { setup: async () => ({ path: '/v1/users', body: { email: `new-${Math.random().toString(36).slice(2)}@example.com`, name: 'New' } }), expect: adminOnly },
      'GET /v1/users/{id}': { setup: fixed({ path: `/v1/users/${client.id}` }), expect: party('2xx', '404', '2xx') },
      'POST /v1/users/{id}/tokens': { setup: fixed({ path: `/v1/users/${client.id}/tokens`, body: {} }), expect: adminOnly },
      'DELETE /v1/tokens/{id}': {
        setup: async () => ({ path: `/v1/tokens/${ok(await s.admin.post(`/v1/users/${client.id}/tokens`, {}), 201).id}` }),
        expect: party('2xx', '404', '2xx'),
      },
      // Public: the credentials in the body decide, not the caller's token.
      'POST /v1/auth/login': {
        setup: fixed({ path: '/v1/auth/login', body: { email: client.email, password } }),
        expect: { client: '2xx', contractor: '2xx', stranger: '2xx', foreign: '2xx', anonymous: '2xx', revoked: '2xx', admin: '2xx' },
      },
      'POST /v1/auth/logout': { setup: fixed({ path: '/v1/auth/logout' }), expect: anyUser('2xx') },
      'GET /v1/me': { setup: fixed({ path: '/v1/me' }), expect: anyUser('2xx') },
      'PUT /v1/me/payment-method': { setup: fixed({ path: '/v1/me/payment-method', body: { paymentMethod: 'pm_card_ok' } }), expect: anyUser('403') },
      // A wrong current password for everyone: the matrix's own logins keep working.
      'POST /v1/me/password': {
        setup: fixed({ path: '/v1/me/password', body: { currentPassword: 'not the password', newPassword: 'another long password' } }),
        expect: { client: '422', contractor: '422', stranger: '422', foreign: '422', anonymous: '401', revoked: '401', admin: '403' },
      },
      'GET /v1/me/notification-preferences': { setup: fixed({ path: '/v1/me/notification-preferences' }), expect: anyUser('403') },
      'PUT /v1/me/notification-preferences': { setup: fixed({ path: '/v1/me/notification-preferences', body: { email: { 'milestone.funded': true } } }), expect: anyUser('403') },
      'GET /v1/users/{id}/profile': { setup: fixed({ path: `/v1/users/${contractor.id}/profile` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts/{id}/reviews': {
        setup: async () => {
          const c = await contract();
          ok(await client.api.post(`/v1/contracts/${c.id}/close`, {}));
          return { path: `/v1/contracts/${c.id}/reviews`, body: { rating: 4 } };
        },
        expect: party('2xx', '2xx', '403'),
      },
      'GET /v1/contracts/{id}/reviews': { setup: fixed({ path: `/v1/contracts/${world.id}/reviews` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts': {
        setup: fixed({ path: '/v1/contracts', body: { title: 'New', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow' } }),
        // Naming users of another platform is a validation error there (they do not exist for it).
        expect: { client: '2xx', contractor: '2xx', stranger: '403', foreign: '422', anonymous: '401', revoked: '401', admin: '403' },
      },
      'GET /v1/contracts': { setup: fixed({ path: '/v1/contracts' }), expect: anyUser('2xx') },
      'GET /v1/contracts/{id}': { setup: fixed({ path: `/v1/contracts/${world.id}` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts/{id}/activate': { setup: async () => ({ path: `/v1/contracts/${(await contract({ activate: false })).id}/activate` }), expect: party('403', '2xx', '403') },
      'POST /v1/contracts/{id}/withdraw': { setup: async () => ({ path: `/v1/contracts/${(await contract({ activate: false })).id}/withdraw` }), expect: party('2xx', '403', '403') },
      'POST /v1/contracts/{id}/decline': { setup: async () => ({ path: `/v1/contracts/${(await contract({ activate: false })).id}/decline` }), expect: party('403', '2xx', '403') },
      'POST /v1/contracts/{id}/close': { setup: async () => ({ path: `/v1/contracts/${(await contract()).id}/close`, body: {} }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/contracts/{id}/refund-requests': { setup: fixed({ path: `/v1/contracts/${world.id}/refund-requests` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/refund-requests/{id}': { setup: async () => ({ path: `/v1/refund-requests/${await refundRequest()}` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/refund-requests/{id}/accept': { setup: async () => ({ path: `/v1/refund-requests/${await refundRequest()}/accept` }), expect: party('403', '2xx', '403') },
      'POST /v1/refund-requests/{id}/counter': { setup: async () => ({ path: `/v1/refund-requests/${await refundRequest()}/counter`, body: { refund: 1 } }), expect: party('403', '2xx', '403') },
      'POST /v1/refund-requests/{id}/decline': { setup: async () => ({ path: `/v1/refund-requests/${await refundRequest()}/decline` }), expect: party('403', '2xx', '403') },
      'POST /v1/refund-requests/{id}/withdraw': { setup: async () => ({ path: `/v1/refund-requests/${await refundRequest()}/withdraw` }), expect: party('2xx', '403', '403') },
      'GET /v1/admin/platform': { setup: fixed({ path: '/v1/admin/platform' }), expect: adminOnly },
      'POST /v1/contracts/{id}/time-entries': { setup: async () => ({ path: `/v1/contracts/${await hourly()}/time-entries`, body: { date: serverToday(), minutes: 30, memo: 'm' } }), expect: party('403', '2xx', '403') },
      'GET /v1/contracts/{id}/time-entries': { setup: fixed({ path: `/v1/contracts/${worldHourly}/time-entries` }), expect: party('2xx', '2xx', '2xx') },
      'PATCH /v1/time-entries/{id}': { setup: async () => ({ path: `/v1/time-entries/${await timeEntry(await hourly())}`, body: { minutes: 45 } }), expect: party('403', '2xx', '403') },
      'DELETE /v1/time-entries/{id}': { setup: async () => ({ path: `/v1/time-entries/${await timeEntry(await hourly())}` }), expect: party('403', '2xx', '403') },
      'GET /v1/contracts/{id}/hourly': { setup: fixed({ path: `/v1/contracts/${worldHourly}/hourly` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts/{id}/hourly-terms': { setup: async () => ({ path: `/v1/contracts/${await hourly()}/hourly-terms`, body: { hourlyRate: 6500 } }), expect: party('2xx', '2xx', '403') },
      'GET /v1/contracts/{id}/hourly-terms': { setup: fixed({ path: `/v1/contracts/${worldHourly}/hourly-terms` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/hourly-terms/{id}/accept': { setup: async () => ({ path: `/v1/hourly-terms/${await proposedTerms()}/accept` }), expect: party('2xx', '403', '403') },
      'POST /v1/hourly-terms/{id}/decline': { setup: async () => ({ path: `/v1/hourly-terms/${await proposedTerms()}/decline` }), expect: party('2xx', '403', '403') },
      'POST /v1/hourly-terms/{id}/withdraw': { setup: async () => ({ path: `/v1/hourly-terms/${await proposedTerms()}/withdraw` }), expect: party('403', '2xx', '403') },
      'POST /v1/contracts/{id}/milestone-requests': { setup: async () => ({ path: `/v1/contracts/${await hourly()}/milestone-requests`, body: { amount: 5000, description: 'advance' } }), expect: party('403', '2xx', '403') },
      'GET /v1/contracts/{id}/milestone-requests': { setup: fixed({ path: `/v1/contracts/${worldHourly}/milestone-requests` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/milestone-requests/{id}': { setup: async () => ({ path: `/v1/milestone-requests/${await milestoneRequest()}` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/milestone-requests/{id}/accept': { setup: async () => ({ path: `/v1/milestone-requests/${await milestoneRequest()}/accept` }), expect: party('2xx', '403', '403') },
      'POST /v1/milestone-requests/{id}/decline': { setup: async () => ({ path: `/v1/milestone-requests/${await milestoneRequest()}/decline`, body: { reason: 'not now' } }), expect: party('2xx', '403', '403') },
      'POST /v1/milestone-requests/{id}/withdraw': { setup: async () => ({ path: `/v1/milestone-requests/${await milestoneRequest()}/withdraw` }), expect: party('403', '2xx', '403') },
      'GET /v1/invoices': { setup: fixed({ path: '/v1/invoices' }), expect: anyUser('2xx') },
      'GET /v1/contracts/{id}/invoices': { setup: fixed({ path: `/v1/contracts/${worldHourly}/invoices` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/invoices/{id}': { setup: fixed({ path: `/v1/invoices/${worldInvoice}` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/invoices/{id}/pdf': { setup: fixed({ path: `/v1/invoices/${worldInvoice}/pdf` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/invoices/{id}/pay': { setup: async () => ({ path: `/v1/invoices/${await invoice()}/pay` }), expect: party('2xx', '403', '403') },
      'POST /v1/invoices/{id}/dispute': { setup: async () => ({ path: `/v1/invoices/${await invoice()}/dispute`, body: { reason: 'hours too high' } }), expect: party('2xx', '403', '403') },
      'POST /v1/invoices/{id}/void': { setup: async () => ({ path: `/v1/invoices/${await invoice()}/void` }), expect: party('403', '403', '2xx') },
      'PATCH /v1/admin/users/{id}': { setup: fixed({ path: `/v1/admin/users/${client.id}`, body: { metadata: { matrix: '1' } } }), expect: adminOnly },
      'PATCH /v1/admin/contracts/{id}': { setup: fixed({ path: `/v1/admin/contracts/${world.id}`, body: { metadata: { matrix: '1' } } }), expect: adminOnly },
      'PATCH /v1/admin/milestones/{id}': { setup: fixed({ path: `/v1/admin/milestones/${world.m}`, body: { metadata: { matrix: '1' } } }), expect: adminOnly },
      'GET /v1/users': { setup: fixed({ path: '/v1/users' }), expect: adminOnly },
      'GET /v1/users/{id}/tokens': { setup: fixed({ path: `/v1/users/${client.id}/tokens` }), expect: party('2xx', '404', '2xx') },
      'GET /v1/admin/disputes': { setup: fixed({ path: '/v1/admin/disputes' }), expect: adminOnly },
      'GET /v1/admin/events': { setup: fixed({ path: '/v1/admin/events' }), expect: adminOnly },
      'PATCH /v1/admin/platform': { setup: fixed({ path: '/v1/admin/platform', body: { timeZone: 'UTC' } }), expect: adminOnly },
      'GET /v1/contracts/{id}/milestones': { setup: fixed({ path: `/v1/contracts/${world.id}/milestones` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts/{id}/milestones': {
        setup: async () => ({ path: `/v1/contracts/${(await contract()).id}/milestones`, body: { title: 'Added', amount: 900, dueDate: inDays(20) } }),
        expect: party('2xx', '2xx', '403'),
      },
      'GET /v1/milestones/{id}': { setup: fixed({ path: `/v1/milestones/${world.m}` }), expect: party('2xx', '2xx', '2xx') },
      'PATCH /v1/milestones/{id}': { setup: async () => ({ path: `/v1/milestones/${(await contract()).ms[0]}`, body: { amount: 777 } }), expect: party('2xx', '2xx', '403') },
      'DELETE /v1/milestones/{id}': { setup: async () => ({ path: `/v1/milestones/${(await contract()).ms[0]}` }), expect: party('2xx', '2xx', '403') },
      'PUT /v1/contracts/{id}/milestone-order': {
        setup: async () => {
          const c = await contract();
          return { path: `/v1/contracts/${c.id}/milestone-order`, body: { milestoneIds: [...c.ms].reverse() } };
        },
        expect: party('2xx', '2xx', '403'),
      },
      'POST /v1/milestones/{id}/accept': { setup: async () => ({ path: `/v1/milestones/${await proposedByContractor()}/accept` }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/decline': { setup: async () => ({ path: `/v1/milestones/${await proposedByContractor()}/decline`, body: { reason: 'no' } }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/fund': { setup: async () => ({ path: `/v1/milestones/${(await contract()).ms[0]}/fund`, body: {} }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/submit': { setup: async () => ({ path: `/v1/milestones/${(await funded()).m}/submit`, body: { note: 'n' } }), expect: party('403', '2xx', '403') },
      'POST /v1/milestones/{id}/approve': { setup: async () => ({ path: `/v1/milestones/${(await submitted()).m}/approve` }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/reject': { setup: async () => ({ path: `/v1/milestones/${(await submitted()).m}/reject`, body: { reason: 'redo' } }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/release': { setup: async () => ({ path: `/v1/milestones/${(await funded()).m}/release`, body: { amount: 100 } }), expect: party('2xx', '403', '403') },
      'POST /v1/milestones/{id}/refund': { setup: async () => ({ path: `/v1/milestones/${(await funded()).m}/refund` }), expect: party('403', '2xx', '2xx') },
      'POST /v1/milestones/{id}/dispute': { setup: async () => ({ path: `/v1/milestones/${(await funded()).m}/dispute`, body: { reason: 'quality' } }), expect: party('2xx', '2xx', '403') },
      'POST /v1/contracts/{id}/change-requests': {
        setup: async () => {
          const c = await contract();
          return { path: `/v1/contracts/${c.id}/change-requests`, body: { operations: [{ op: 'update', milestoneId: c.ms[0], changes: { title: 'Renamed' } }] } };
        },
        expect: party('2xx', '2xx', '403'),
      },
      'GET /v1/contracts/{id}/change-requests': { setup: fixed({ path: `/v1/contracts/${world.id}/change-requests` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/change-requests/{id}': { setup: fixed({ path: `/v1/change-requests/${worldCr}` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/change-requests/{id}/accept': { setup: async () => ({ path: `/v1/change-requests/${await changeRequestByContractor()}/accept` }), expect: party('2xx', '403', '403') },
      'POST /v1/change-requests/{id}/decline': { setup: async () => ({ path: `/v1/change-requests/${await changeRequestByContractor()}/decline`, body: { reason: 'no' } }), expect: party('2xx', '403', '403') },
      'POST /v1/contracts/{id}/change-requests/preview': {
        setup: async () => {
          const c = await contract();
          return { path: `/v1/contracts/${c.id}/change-requests/preview`, body: { operations: [{ op: 'update', milestoneId: c.ms[0], changes: { title: 'Renamed' } }] } };
        },
        expect: party('2xx', '2xx', '403'),
      },
      'POST /v1/change-requests/{id}/modify': {
        setup: async () => {
          const id = await changeRequestByContractor();
          const cr = ok(await contractor.api.get(`/v1/change-requests/${id}`));
          return { path: `/v1/change-requests/${id}/modify`, body: { operations: [{ op: 'update', milestoneId: cr.operations[0].milestoneId, changes: { amount: 11_000 } }] } };
        },
        expect: party('2xx', '403', '403'),
      },
      'POST /v1/change-requests/{id}/modify/preview': {
        setup: async () => {
          const id = await changeRequestByContractor();
          const cr = ok(await contractor.api.get(`/v1/change-requests/${id}`));
          return { path: `/v1/change-requests/${id}/modify/preview`, body: { operations: [{ op: 'update', milestoneId: cr.operations[0].milestoneId, changes: { amount: 11_000 } }] } };
        },
        expect: party('2xx', '403', '403'),
      },
      'POST /v1/change-requests/{id}/withdraw': { setup: async () => ({ path: `/v1/change-requests/${await changeRequestByContractor()}/withdraw` }), expect: party('403', '2xx', '403') },
      'GET /v1/disputes/{id}': { setup: fixed({ path: `/v1/disputes/${worldDispute}` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/disputes/{id}/respond': { setup: async () => ({ path: `/v1/disputes/${await disputeByClient()}/respond`, body: { message: 'it was on time' } }), expect: party('403', '2xx', '403') },
      'POST /v1/disputes/{id}/resolve': { setup: async () => ({ path: `/v1/disputes/${await disputeByClient()}/resolve`, body: { releaseAmount: 4000, refundAmount: 6000 } }), expect: party('403', '403', '2xx') },
      'GET /v1/payments': { setup: fixed({ path: '/v1/payments' }), expect: anyUser('2xx') },
      'GET /v1/payments/{id}': { setup: fixed({ path: `/v1/payments/${worldPayment}` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/me/balance': { setup: fixed({ path: '/v1/me/balance' }), expect: anyUser('403') },
      'GET /v1/payouts': { setup: fixed({ path: '/v1/payouts' }), expect: anyUser('403') },
      // More than anyone's balance: every user is refused for the amount (422); the admin acts for nobody (403).
      'POST /v1/payouts': {
        setup: fixed({ path: '/v1/payouts', body: { amount: 900_000_000_000, currency: 'USD' } }),
        expect: { client: '422', contractor: '422', stranger: '422', foreign: '422', anonymous: '401', revoked: '401', admin: '403' },
      },
      'GET /v1/payouts/{id}': { setup: fixed({ path: `/v1/payouts/${worldPayout}` }), expect: party('404', '2xx', '2xx') },
      'GET /v1/me/payout-account': { setup: fixed({ path: '/v1/me/payout-account' }), expect: anyUser('403') },
      'POST /v1/me/payout-account': { setup: fixed({ path: '/v1/me/payout-account' }), expect: anyUser('403') },
      // Stripe's events: public (verified by their signature), and there only when Stripe is the provider (this server runs the sandbox).
      'POST /v1/providers/stripe/webhooks': {
        setup: fixed({ path: '/v1/providers/stripe/webhooks', body: {} }),
        expect: { client: '404', contractor: '404', stranger: '404', foreign: '404', anonymous: '404', revoked: '404', admin: '404' },
      },
      'POST /v1/payments/{id}/pay': { setup: async () => ({ path: `/v1/payments/${await draftPayment()}/pay`, body: {} }), expect: party('2xx', '403', '403') },
      'POST /v1/payments/pay': { setup: async () => ({ path: '/v1/payments/pay', body: { paymentIds: [await draftPayment()] } }), expect: party('2xx', '403', '403') },
      'GET /v1/contracts/{id}/activity': { setup: fixed({ path: `/v1/contracts/${world.id}/activity` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/notifications': { setup: fixed({ path: '/v1/notifications' }), expect: anyUser('403') },
      'POST /v1/notifications/read': { setup: fixed({ path: '/v1/notifications/read', body: {} }), expect: anyUser('403') },
      'GET /v1/contracts/{id}/messages': { setup: fixed({ path: `/v1/contracts/${world.id}/messages` }), expect: party('2xx', '2xx', '2xx') },
      'POST /v1/contracts/{id}/messages': { setup: fixed({ path: `/v1/contracts/${world.id}/messages`, body: { body: 'matrix' } }), expect: party('2xx', '2xx', '403') },
      'POST /v1/contracts/{id}/messages/read': { setup: fixed({ path: `/v1/contracts/${world.id}/messages/read`, body: {} }), expect: party('2xx', '2xx', '403') },
      // A 200 here is a stream that never ends: a malformed Last-Event-ID makes every caller who
      // gets past authentication and authorization answer 422 at once (the stream: live-events.test.ts).
      'GET /v1/events': {
        setup: fixed({ path: '/v1/events?lastEventId=x' }),
        expect: { client: '422', contractor: '422', stranger: '422', foreign: '422', anonymous: '401', revoked: '401', admin: '403' },
      },
      'POST /v1/files': { setup: fixed({ path: '/v1/files', multipart: true }), expect: anyUser('403') },
      'GET /v1/files/{id}': { setup: fixed({ path: `/v1/files/${fileId}` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/files/{id}/content': { setup: fixed({ path: `/v1/files/${fileId}/content` }), expect: party('2xx', '2xx', '2xx') },
      'GET /v1/admin/ledger/check': { setup: fixed({ path: '/v1/admin/ledger/check' }), expect: adminOnly },
      'GET /v1/admin/tokens': { setup: fixed({ path: '/v1/admin/tokens' }), expect: adminOnly },
      'POST /v1/admin/tokens': { setup: fixed({ path: '/v1/admin/tokens', body: { name: 'matrix' } }), expect: adminOnly },
      'DELETE /v1/admin/tokens/{id}': { setup: async () => ({ path: `/v1/admin/tokens/${ok(await s.admin.post('/v1/admin/tokens', {}), 201).id}` }), expect: adminOnly },
      'POST /v1/admin/tokens/{id}/rotate': { setup: async () => ({ path: `/v1/admin/tokens/${ok(await s.admin.post('/v1/admin/tokens', {}), 201).id}/rotate` }), expect: adminOnly },
      'POST /v1/admin/demo-data': { setup: fixed({ path: '/v1/admin/demo-data' }), expect: adminOnly },
      'POST /v1/webhook-endpoints': { setup: fixed({ path: '/v1/webhook-endpoints', body: hookBody }), expect: adminOnly },
      'GET /v1/webhook-endpoints': { setup: fixed({ path: '/v1/webhook-endpoints' }), expect: adminOnly },
      'GET /v1/webhook-endpoints/{id}': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}` }), expect: adminOnly },
      'PATCH /v1/webhook-endpoints/{id}': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}`, body: { events: ['*'] } }), expect: adminOnly },
      'DELETE /v1/webhook-endpoints/{id}': { setup: async () => ({ path: `/v1/webhook-endpoints/${await newHook()}` }), expect: adminOnly },
      'POST /v1/webhook-endpoints/{id}/rotate-secret': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}/rotate-secret` }), expect: adminOnly },
      'POST /v1/webhook-endpoints/{id}/test': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}/test` }), expect: adminOnly },
      'GET /v1/webhook-endpoints/{id}/deliveries': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}/deliveries` }), expect: adminOnly },
      'POST /v1/webhook-endpoints/{id}/deliveries/{messageId}/redeliver': { setup: fixed({ path: `/v1/webhook-endpoints/${hook}/deliveries/${hookMessage}/redeliver` }), expect: adminOnly },
      'PUT /v1/admin/clock': { setup: async () => ({ path: '/v1/admin/clock', body: { now: new Date().toISOString() } }), expect: adminOnly },
      'POST /v1/admin/jobs/run': { setup: fixed({ path: '/v1/admin/jobs/run' }), expect: adminOnly },
      'POST /v1/admin/reconciliations': { setup: fixed({ path: '/v1/admin/reconciliations', body: reconciliation }), expect: adminOnly },
      'GET /v1/admin/reconciliations': { setup: fixed({ path: '/v1/admin/reconciliations' }), expect: adminOnly },
      'GET /v1/admin/reconciliations/{id}': { setup: fixed({ path: `/v1/admin/reconciliations/${run}` }), expect: adminOnly },
      'GET /v1/admin/chargebacks': { setup: fixed({ path: '/v1/admin/chargebacks' }), expect: adminOnly },
      'GET /v1/admin/chargebacks/{id}': { setup: fixed({ path: `/v1/admin/chargebacks/${chargeback}` }), expect: adminOnly },
      // Another platform's admin does not find this platform's milestone.
      'POST /v1/admin/sandbox/chargebacks': { setup: fixed({ path: '/v1/admin/sandbox/chargebacks', body: chargebackBody }), expect: { ...adminOnly, foreignAdmin: '404' } },
      'POST /v1/admin/sandbox/chargebacks/{id}/close': { setup: fixed({ path: `/v1/admin/sandbox/chargebacks/${chargeback}/close`, body: { outcome: 'won' } }), expect: adminOnly },
    };

    // ---- the routes the server really has ----
    const doc = (await s.admin.get('/openapi.json')).body;
    const routes = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const missing = routes.filter((r) => !table[r]);
    const stale = Object.keys(table).filter((k) => !routes.includes(k));
    expect(missing, 'routes without an entry in the authorization table').toEqual([]);
    expect(stale, 'table entries for routes the server no longer has').toEqual([]);

    const classOf = (status: number): string => (status >= 200 && status < 300 ? '2xx' : String(status));
    const mismatches: string[] = [];
    let calls = 0;
    // Routes in parallel (each has its own fixtures); the callers of one route one after the other.
    await mapLimit(routes, 8, async (route) => {
      const entry = table[route]!;
      const method = route.split(' ')[0]!;
      for (const caller of CALLERS) {
        const call = await entry.setup();
        let res: Res;
        const as = await callerClient(caller);
        if (call.multipart) {
          const f = new FormData();
          f.append('file', new Blob(['hello']), 'hello.txt');
          const headers = { ...as.headers, ...(as.token ? { authorization: `Bearer ${as.token}` } : {}) };
          const r = await fetch(s.url + call.path, { method, headers, body: f });
          res = { status: r.status, body: await r.json().catch(() => null), headers: r.headers };
        } else {
          res = await as.req(method, call.path, call.body);
        }
        calls++;
        const got = classOf(res.status);
        const want = expected(route, entry.expect, caller);
        if (got !== want) mismatches.push(`${route} as ${caller}: expected ${want}, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        if (res.status >= 400 && typeof res.body?.code !== 'string') mismatches.push(`${route} as ${caller}: ${res.status} without a problem code`);
      }
    });
    process.stdout.write(`[authz-matrix] ${routes.length} routes × ${CALLERS.length} callers = ${calls} calls; ${mismatches.length} mismatches\n`);
    expect(mismatches).toEqual([]);
  }, 180_000);
});
