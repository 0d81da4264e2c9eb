import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newUser, startTestServer, type Client, type TestServer } from '../support/harness.ts';
import { startMailbox, type Mail } from '../support/mailbox.ts';
import { DAY, expectProblem, runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';


/** The invitation token of the newest mail to `email` (it is never returned by the API). */
function tokenFor(mails: Mail[], email: string): string {
  const mail = [...mails].reverse().find((m) => m.to.includes(email));
  if (!mail) throw new Error(`no mail to ${email}`);
  // Quoted-printable soft breaks may split the link.
  const m = /\/invitations\/([A-Za-z0-9_-]{20,100})/.exec(mail.raw.replace(/=\r?\n/g, ''));
  if (!m) throw new Error('no invitation link in the mail');
  return m[1]!;
}

// Organisations (issue 11): a company is the client; its members act for it by role.
describe.each(engines())('organisations on %s', (engine) => {
  let s: TestServer;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;
  let mails: Mail[] = [];

  beforeAll(async () => {
    smtp = await startMailbox();
    mails = smtp.mails;
    s = await startTestServer(engine, { SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await s?.stop();
    await smtp?.close();
  });

  /** An organisation whose owner invited and admitted one member per role given. */
  async function company(roles: Record<string, string[]>) {
    const owner = await newUser(s, 'owner');
    const org = await owner.api.post('/v1/organizations', { name: 'Acme Ltd' });
    expect(org.status).toBe(201);
    const members: Record<string, Awaited<ReturnType<typeof newUser>>> = {};
    for (const [name, r] of Object.entries(roles)) {
      const u = await newUser(s, name);
      const inv = await owner.api.post(`/v1/organizations/${org.body.id}/invitations`, { email: u.email, roles: r });
      expect(inv.status, JSON.stringify(inv.body)).toBe(201);
      await runJobs(s);
      const ok = await u.api.post(`/v1/invitations/${tokenFor(mails, u.email)}/accept`);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      members[name] = u;
    }
    return { owner, orgId: org.body.id as string, members };
  }

  /** A live contract whose client is the organisation, proposed by `by` and activated by the contractor. */
  async function orgContract(by: Client, orgId: string, contractorApi: Client, contractorId: string, policy: string, milestones: { title: string; amount: number }[]) {
    const c = await by.post('/v1/contracts', {
      title: 'Company work', clientId: orgId, contractorId, type: 'fixed', currency: 'USD', policy, milestones: milestones.map((m) => ({ dueDate: inDays(30), ...m })),
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const a = await contractorApi.post(`/v1/contracts/${c.body.id}/activate`);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body;
  }

  it('invitation lifecycle: an email with a single-use link valid 7 days; accept by signing in or creating the user', async () => {
    const owner = await newUser(s, 'owner');
    const org = (await owner.api.post('/v1/organizations', { name: 'Globex' })).body;
    expect(org).toMatchObject({ id: expect.stringMatching(/^org_/), name: 'Globex', myRoles: ['owner'] });

    // A new person: the API never shows the token; the email carries it.
    const email = `newcomer-${Date.now()}@example.com`;
    const inv = await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email, roles: ['finance', 'manager'] });
    expect(inv.status).toBe(201);
    expect(inv.body).toMatchObject({ email, roles: ['manager', 'finance'], status: 'pending' });
    expect(JSON.stringify(inv.body)).not.toMatch(/token/i);
    expect(new Date(inv.body.expiresAt).getTime() - serverNow(s).getTime()).toBeGreaterThan(6.9 * DAY);
    await runJobs(s);
    const token = tokenFor(mails, email);
    const list = await owner.api.get(`/v1/organizations/${org.id}/invitations`);
    expect(JSON.stringify(list.body)).not.toContain(token);

    // Without a session, name and password create the user with the invited email.
    expectProblem(await s.api.as(null).post(`/v1/invitations/${token}/accept`, {}), 422, 'validation_failed');
    const joined = await s.api.as(null).post(`/v1/invitations/${token}/accept`, { name: 'New Comer', password: 'correct horse battery' });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    expect(joined.body).toMatchObject({ organizationId: org.id, member: { email, roles: ['manager', 'finance'] } });
    // Single use.
    expectProblem(await s.api.as(null).post(`/v1/invitations/${token}/accept`, { name: 'Again', password: 'correct horse battery' }), 410, 'invitation_not_usable');
    expectProblem(await s.api.as(null).post(`/v1/invitations/${'x'.repeat(43)}/accept`, { name: 'X', password: 'correct horse battery' }), 404, 'not_found');

    // Inviting an existing member, and unknown roles, are refused; nothing is sent.
    const before = mails.length;
    expectProblem(await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email, roles: ['viewer'] }), 409, 'already_member');
    expectProblem(await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email: 'x@example.com', roles: ['boss'] }), 422, 'validation_failed');
    await runJobs(s);
    expect(mails.length).toBe(before);

    // Signed in as someone else: refused; as the invited email: joined.
    const other = await newUser(s, 'other');
    const invitee = await newUser(s, 'invitee');
    await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email: invitee.email, roles: ['viewer'] });
    await runJobs(s);
    const t2 = tokenFor(mails, invitee.email);
    expectProblem(await other.api.post(`/v1/invitations/${t2}/accept`), 403, 'forbidden');
    expect((await invitee.api.post(`/v1/invitations/${t2}/accept`)).status).toBe(200);

    // Revoked and expired links are refused.
    const late = await newUser(s, 'late');
    const r = await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email: late.email, roles: ['viewer'] });
    await runJobs(s);
    const t3 = tokenFor(mails, late.email);
    expect((await owner.api.del(`/v1/organizations/${org.id}/invitations/${r.body.id}`)).body.status).toBe('revoked');
    expectProblem(await late.api.post(`/v1/invitations/${t3}/accept`), 410, 'invitation_not_usable');
    await owner.api.post(`/v1/organizations/${org.id}/invitations`, { email: late.email, roles: ['viewer'] });
    await runJobs(s);
    const t4 = tokenFor(mails, late.email);
    await setClock(s, new Date(serverNow(s).getTime() + 8 * DAY));
    expectProblem(await late.api.post(`/v1/invitations/${t4}/accept`), 410, 'invitation_not_usable');
    const members = await owner.api.get(`/v1/organizations/${org.id}/members`);
    expect(members.body.data.map((m: { email: string }) => m.email).sort()).toEqual([owner.email, email, invitee.email].sort());
  });

  it('members and roles: the last owner stays; only admins manage members; non-members get 404', async () => {
    const { owner, orgId, members } = await company({ admin: ['admin'], viewer: ['viewer'] });
    const membersBefore = (await owner.api.get(`/v1/organizations/${orgId}/members`)).body;
    expectProblem(await owner.api.del(`/v1/organizations/${orgId}/members/${owner.id}`), 409, 'last_owner');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}/members/${owner.id}`, { roles: ['admin'] }), 409, 'last_owner');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}/members/${members.viewer!.id}`, { roles: ['chief'] }), 422, 'validation_failed');
    expectProblem(await owner.api.patch(`/v1/organizations/${orgId}/members/${members.viewer!.id}`, { roles: [] }), 422, 'validation_failed');
    // Refused, nothing changed.
    expect((await owner.api.get(`/v1/organizations/${orgId}/members`)).body).toEqual(membersBefore);
    const denied = await members.viewer!.api.patch(`/v1/organizations/${orgId}/members/${members.viewer!.id}`, { roles: ['admin'] });
    expectProblem(denied, 403, 'forbidden');
    expect(denied.body.missingRole).toBe('admin');
    // An admin sets roles (not owner), and removes a member; a member may leave.
    expect((await members.admin!.api.patch(`/v1/organizations/${orgId}/members/${members.viewer!.id}`, { roles: ['viewer', 'finance'] })).body.roles).toEqual(['finance', 'viewer']);
    expectProblem(await members.admin!.api.patch(`/v1/organizations/${orgId}/members/${members.viewer!.id}`, { roles: ['owner'] }), 403, 'forbidden');
    expect((await members.viewer!.api.del(`/v1/organizations/${orgId}/members/${members.viewer!.id}`)).status).toBe(204);
    expectProblem(await members.viewer!.api.get(`/v1/organizations/${orgId}`), 404, 'not_found');
    const stranger = await newUser(s, 'stranger');
    expectProblem(await stranger.api.get(`/v1/organizations/${orgId}/members`), 404, 'not_found');
    // A second owner lets the first leave.
    expect((await owner.api.patch(`/v1/organizations/${orgId}/members/${members.admin!.id}`, { roles: ['owner'] })).status).toBe(200);
    expect((await owner.api.del(`/v1/organizations/${orgId}/members/${owner.id}`)).status).toBe(204);
  });

  it('a manager/finance split on an escrow contract; viewers read only; removed members and outsiders get 404', async () => {
    const { owner, orgId, members } = await company({ manager: ['manager'], finance: ['finance'], viewer: ['viewer'] });
    const contractor = await newUser(s, 'contractor');
    const stranger = await newUser(s, 'stranger');
    // A contract naming an organisation the caller does not belong to is refused.
    const refused = await stranger.api.post('/v1/contracts', { title: 'X', clientId: orgId, contractorId: contractor.id, type: 'fixed', currency: 'USD' });
    expectProblem(refused, 403, 'forbidden');
    // Nor by naming it as the contractor; nothing was created.
    expectProblem(await members.manager!.api.post('/v1/contracts', { title: 'X', clientId: stranger.id, contractorId: orgId, type: 'fixed', currency: 'USD' }), 422, 'validation_failed');
    expect((await s.db.query('SELECT id FROM contracts WHERE client_id = $1 OR contractor_id = $1', [orgId])).length).toBe(0);
    const c = await orgContract(members.manager!.api, orgId, contractor.api, contractor.id, 'client_creates', [{ title: 'Design', amount: 40000 }]);
    expect(c.clientId).toBe(orgId);
    const ms = c.milestones[0].id as string;

    // Funding is finance's: the manager gets 403 naming the role.
    const byManager = await members.manager!.api.post(`/v1/milestones/${ms}/fund`, { paymentMethod: 'pm_card_ok' });
    expectProblem(byManager, 403, 'forbidden');
    expect(byManager.body.missingRole).toBe('finance');
    // The organisation's default payment method is set by finance.
    expectProblem(await members.manager!.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' }), 403, 'forbidden');
    expect((await members.finance!.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const funded = await members.finance!.api.post(`/v1/milestones/${ms}/fund`);
    expect(funded.status, JSON.stringify(funded.body)).toBe(200);
    expect(funded.body.status).toBe('funded');
    expect((await contractor.api.post(`/v1/milestones/${ms}/submit`, { note: 'done' })).status).toBe(200);

    // Approval is the manager's; the viewer reads but may not act.
    expect((await members.viewer!.api.get(`/v1/contracts/${c.id}`)).status).toBe(200);
    const byViewer = await members.viewer!.api.post(`/v1/milestones/${ms}/approve`);
    expectProblem(byViewer, 403, 'forbidden');
    expect(byViewer.body.missingRole).toBe('manager');
    expectProblem(await members.finance!.api.post(`/v1/milestones/${ms}/approve`), 403, 'forbidden');
    expectProblem(await stranger.api.post(`/v1/milestones/${ms}/approve`), 404, 'not_found');
    const approved = await members.manager!.api.post(`/v1/milestones/${ms}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe('paid');

    // The activity names the member who acted and the organisation; the other members are told.
    const activity = await owner.api.get(`/v1/contracts/${c.id}/activity`);
    expect(activity.status).toBe(200);
    const entries = activity.body.data as { kind: string; actorId: string | null; data: Record<string, unknown> }[];
    const fundEntry = entries.find((e) => e.kind === 'milestone.funded');
    expect(fundEntry).toMatchObject({ actorId: members.finance!.id, data: { organizationId: orgId, actorId: members.finance!.id } });
    const notes = await owner.api.get('/v1/notifications');
    expect(notes.body.data.some((n: { kind: string; contractId: string }) => n.kind === 'milestone.submitted' && n.contractId === c.id)).toBe(true);

    // Every member lists the organisation's contracts.
    for (const m of [owner, members.viewer!, members.finance!]) {
      expect((await m.api.get('/v1/contracts')).body.data.map((x: { id: string }) => x.id)).toContain(c.id);
    }
    // Messages reach every member: the contractor writes, each member counts it unread.
    expect((await contractor.api.post(`/v1/contracts/${c.id}/messages`, { body: 'Invoice attached' })).status).toBe(201);
    for (const m of [owner, members.manager!, members.viewer!]) expect((await m.api.get('/v1/me')).body.unreadMessages).toBe(1);
    expect((await members.viewer!.api.post(`/v1/contracts/${c.id}/messages/read`, {})).status).toBe(200);
    expectProblem(await members.viewer!.api.post(`/v1/contracts/${c.id}/messages`, { body: 'Hi' }), 403, 'forbidden');
    expect((await members.manager!.api.post(`/v1/contracts/${c.id}/messages`, { body: 'Thanks' })).status).toBe(201);
    // A removed member loses access at once.
    expect((await owner.api.del(`/v1/organizations/${orgId}/members/${members.viewer!.id}`)).status).toBe(204);
    expectProblem(await members.viewer!.api.get(`/v1/contracts/${c.id}`), 404, 'not_found');
    await expectLedgerClean(s);
  });

  it('the contractor view (seed 000): totals per contractor against the ledger, and pending/approved milestones across contracts', async () => {
    const { owner, orgId } = await company({});
    expect((await owner.api.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const ada = await newUser(s, 'ada');
    const bob = await newUser(s, 'bob');
    const c1 = await orgContract(owner.api, orgId, ada.api, ada.id, 'client_creates', [{ title: 'A1', amount: 10000 }, { title: 'A2', amount: 20000 }]);
    const c2 = await orgContract(owner.api, orgId, ada.api, ada.id, 'client_creates', [{ title: 'A3', amount: 30000 }]);
    const c3 = await orgContract(owner.api, orgId, bob.api, bob.id, 'company_managed', [{ title: 'B1', amount: 5000 }]);
    // A1 paid, A3 in escrow, A2 pending; B1 approved (a draft payment without escrow).
    for (const id of [c1.milestones[0].id, c2.milestones[0].id]) expect((await owner.api.post(`/v1/milestones/${id}/fund`)).status).toBe(200);
    expect((await ada.api.post(`/v1/milestones/${c1.milestones[0].id}/submit`, {})).status).toBe(200);
    expect((await owner.api.post(`/v1/milestones/${c1.milestones[0].id}/approve`)).status).toBe(200);
    expect((await bob.api.post(`/v1/milestones/${c3.milestones[0].id}/submit`, {})).status).toBe(200);
    expect((await owner.api.post(`/v1/milestones/${c3.milestones[0].id}/approve`)).status).toBe(200);

    const view = await owner.api.get(`/v1/organizations/${orgId}/contractors`);
    expect(view.status).toBe(200);
    const byId = new Map(view.body.data.map((p: { userId: string }) => [p.userId, p]));
    // The same figures as the contracts' overviews, which come from the ledger.
    const overviews = await Promise.all([c1, c2, c3].map(async (c) => (await owner.api.get(`/v1/contracts/${c.id}`)).body));
    const sum = (who: string, k: 'inEscrow' | 'paid' | 'remaining') => overviews.filter((o) => o.contractorId === who).reduce((a, o) => a + o.overview[k], 0);
    expect(byId.get(ada.id)).toMatchObject({ totals: [{ currency: 'USD', contracts: 2, inEscrow: sum(ada.id, 'inEscrow'), paid: sum(ada.id, 'paid'), pending: sum(ada.id, 'remaining') }] });
    expect(byId.get(ada.id)).toMatchObject({ totals: [{ inEscrow: 30000, paid: 10000, pending: 20000 }] });
    // And straight from the ledger: escrow balances of Ada's contracts, and what reached her (fees included).
    const [ledger] = await s.db.query<{ escrow: number; paid: number }>(
      `SELECT (SELECT COALESCE(SUM(balance), 0)::bigint FROM ledger_accounts a JOIN contracts c ON c.id = a.contract_id WHERE c.client_id = $1 AND c.contractor_id = $2 AND a.kind = 'escrow') AS escrow,
              (SELECT COALESCE(SUM(p.amount), 0)::bigint FROM postings p JOIN contracts c ON c.id = p.contract_id
                WHERE c.client_id = $1 AND c.contractor_id = $2 AND (p.destination = 'contractors:' || $2 || ':balance' OR p.destination = 'platform:fees:contractor')) AS paid`,
      [orgId, ada.id],
    );
    expect(byId.get(ada.id)).toMatchObject({ totals: [{ inEscrow: Number(ledger!.escrow), paid: Number(ledger!.paid) }] });
    expect(byId.get(bob.id)).toMatchObject({ totals: [{ contracts: 1, inEscrow: 0, paid: sum(bob.id, 'paid'), pending: sum(bob.id, 'remaining') }] });

    const pending = await owner.api.get(`/v1/organizations/${orgId}/contractors/${ada.id}/milestones?section=pending`);
    expect(pending.body.data.map((m: { title: string }) => m.title).sort()).toEqual(['A2', 'A3']);
    const approved = await owner.api.get(`/v1/organizations/${orgId}/contractors/${ada.id}/milestones?section=approved`);
    expect(approved.body.data.map((m: { title: string; contractTitle: string }) => [m.title, m.contractTitle])).toEqual([['A1', 'Company work']]);
    expect((await owner.api.get(`/v1/organizations/${orgId}/contractors/${bob.id}/milestones?section=approved`)).body.data[0]).toMatchObject({ title: 'B1', status: 'approved' });
    const stranger = await newUser(s, 'stranger');
    expectProblem(await stranger.api.get(`/v1/organizations/${orgId}/contractors`), 404, 'not_found');
    await expectLedgerClean(s);
  });
});
