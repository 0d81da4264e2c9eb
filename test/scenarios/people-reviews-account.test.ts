import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailbox, type Mail } from '../support/mailbox.ts';
import { engines, inDays, liveContract, startTestServer, type Client, type TestServer } from '../support/harness.ts';
import { DAY, runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';

// Issue 12: both parties' public profiles on contracts (seed 004: "access your specialist's
// info"), reviews at close (seed 001: "leave a review"), password change and email preferences.
describe.each(engines())('profiles, reviews and the account on %s', (engine) => {
  let s: TestServer;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;
  let mails: Mail[];
  beforeAll(async () => {
    smtp = await startMailbox();
    mails = smtp.mails;
    s = await startTestServer(engine, { SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await s?.stop();
    await smtp?.close();
  });

  const password = 'correct horse battery staple';
  const person = async (name: string) => {
    const email = `${name.toLowerCase()}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.com`;
    const u = await s.admin.post('/v1/users', { email, name, password });
    const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, {});
    const api = s.api.as(t.body.token);
    expect((await api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    return { id: u.body.id as string, email, api };
  };
  const closedContract = async (client: { id: string; api: Client }, contractor: { id: string; api: Client }) => {
    const c = await liveContract(s, { client, contractor }, 'sequential_escrow', [{ title: 'Design', amount: 40000, dueDate: inDays(30, serverNow(s)) }]);
    expect((await client.api.post(`/v1/contracts/${c.id}/close`, {})).status).toBe(200);
    return c.id as string;
  };

  it('contracts carry both profiles; a profile is for people you share a contract with', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const stranger = await person('Stranger');
    const c = await liveContract(s, { client: ana, contractor: bo }, 'sequential_escrow', [{ title: 'Design', amount: 40000, dueDate: inDays(30, serverNow(s)) }]);
    const view = await ana.api.get(`/v1/contracts/${c.id}`);
    expect(view.body).toMatchObject({
      client: { id: ana.id, kind: 'user', name: 'Ana', rating: null },
      contractor: { id: bo.id, kind: 'user', name: 'Bo', rating: null },
      viewerRole: 'client',
      nextAction: 'fund',
    });
    expect(JSON.stringify(view.body.contractor)).not.toContain(bo.email);
    expect((await bo.api.get(`/v1/contracts/${c.id}`)).body).toMatchObject({ viewerRole: 'contractor', nextAction: null });

    const profile = await ana.api.get(`/v1/users/${bo.id}/profile`);
    expect(profile.status).toBe(200);
    expect(profile.body).toEqual({ id: bo.id, kind: 'user', name: 'Bo', memberSince: expect.any(String), rating: null });
    expect((await ana.api.get(`/v1/users/${ana.id}/profile`)).status).toBe(200);
    expect((await stranger.api.get(`/v1/users/${bo.id}/profile`)).status).toBe(404);
    expect((await bo.api.get(`/v1/users/${stranger.id}/profile`)).status).toBe(404);
  });

  it('an organisation client shows as the organisation; its members see their side and next action', async () => {
    const owner = await person('Olga');
    const bo = await person('Bo');
    const org = (await owner.api.post('/v1/organizations', { name: 'Acme Ltd' })).body;
    expect((await owner.api.put(`/v1/organizations/${org.id}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await owner.api.post('/v1/contracts', {
      title: 'Org work', clientId: org.id, contractorId: bo.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
      milestones: [{ title: 'One', amount: 10000, dueDate: inDays(30, serverNow(s)) }],
    });
    expect(c.status).toBe(201);
    expect((await bo.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const seen = await bo.api.get(`/v1/contracts/${c.body.id}`);
    expect(seen.body.client).toEqual({ id: org.id, kind: 'organization', name: 'Acme Ltd', memberSince: expect.any(String), rating: null });
    expect(seen.body.viewerRole).toBe('contractor');
    expect((await owner.api.get(`/v1/contracts/${c.body.id}`)).body).toMatchObject({ viewerRole: 'client', nextAction: 'fund' });
    expect((await owner.api.get(`/v1/contracts?q=bo`)).body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    expect((await bo.api.get(`/v1/contracts?q=acme`)).body.data.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    // The contractor's profile is open to the organisation's members.
    expect((await owner.api.get(`/v1/users/${bo.id}/profile`)).status).toBe(200);
  });

  it('each party rates the other once at close; hidden until both are in, never changed; the average shows on the profile', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const stranger = await person('Stranger');
    const live = await liveContract(s, { client: ana, contractor: bo }, 'sequential_escrow', [{ title: 'Design', amount: 40000, dueDate: inDays(30, serverNow(s)) }]);
    const early = await ana.api.post(`/v1/contracts/${live.id}/reviews`, { rating: 5 });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('invalid_state');
    expect((await ana.api.post(`/v1/contracts/${live.id}/close`, {})).status).toBe(200);
    const id = live.id as string;
    expect((await ana.api.get(`/v1/contracts/${id}`)).body.nextAction).toBe('leave_review');

    for (const rating of [0, 6, 2.5, '5']) {
      const bad = await ana.api.post(`/v1/contracts/${id}/reviews`, { rating });
      expect(bad.status).toBe(422);
      expect(bad.body.errors[0].field).toBe('rating');
    }
    expect((await stranger.api.post(`/v1/contracts/${id}/reviews`, { rating: 5 })).status).toBe(404);
    expect((await s.admin.post(`/v1/contracts/${id}/reviews`, { rating: 5 })).status).toBe(403);

    const mine = await ana.api.post(`/v1/contracts/${id}/reviews`, { rating: 5, comment: 'Clear and on time' });
    expect(mine.status).toBe(201);
    expect(mine.body).toMatchObject({ authorId: ana.id, authorRole: 'client', subjectId: bo.id, rating: 5, comment: 'Clear and on time', visible: false, visibleAt: null });
    const twice = await ana.api.post(`/v1/contracts/${id}/reviews`, { rating: 1 });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('review_exists');
    // Hidden from Bo (he is told one is in, not what it says); Ana sees her own.
    expect((await bo.api.get(`/v1/contracts/${id}/reviews`)).body.data).toEqual([]);
    expect((await ana.api.get(`/v1/contracts/${id}/reviews`)).body.data.map((r: { rating: number }) => r.rating)).toEqual([5]);
    const told = (await bo.api.get('/v1/notifications')).body.data[0];
    expect(told).toMatchObject({ kind: 'review.posted', title: 'Ana left a review' });
    expect(JSON.stringify(told)).not.toContain('Clear and on time');
    expect((await ana.api.get(`/v1/users/${bo.id}/profile`)).body.rating).toBeNull();
    expect((await ana.api.get(`/v1/contracts/${id}`)).body.nextAction).toBeNull();

    // Both in: both visible at once.
    const his = await bo.api.post(`/v1/contracts/${id}/reviews`, { rating: 4 });
    expect(his.body.visible).toBe(true);
    const both = await ana.api.get(`/v1/contracts/${id}/reviews`);
    expect(both.body.data.map((r: { rating: number; visible: boolean }) => [r.rating, r.visible])).toEqual([
      [5, true],
      [4, true],
    ]);
    expect((await bo.api.get(`/v1/users/${bo.id}/profile`)).body.rating).toEqual({ average: 5, count: 1 });
    expect((await bo.api.get(`/v1/contracts/${id}`)).body.client.rating).toEqual({ average: 4, count: 1 });

    // Only one review in: it shows 14 days after the close (the timer), and counts in the average.
    const second = await closedContract(ana, bo);
    expect((await ana.api.post(`/v1/contracts/${second}/reviews`, { rating: 2 })).status).toBe(201);
    await setClock(s, new Date(serverNow(s).getTime() + 13 * DAY));
    await runJobs(s);
    expect((await bo.api.get(`/v1/contracts/${second}/reviews`)).body.data).toEqual([]);
    await setClock(s, new Date(serverNow(s).getTime() + 2 * DAY));
    await runJobs(s);
    expect((await bo.api.get(`/v1/contracts/${second}/reviews`)).body.data.map((r: { rating: number; visible: boolean }) => [r.rating, r.visible])).toEqual([[2, true]]);
    expect((await stranger.api.get(`/v1/contracts/${second}/reviews`)).status).toBe(404);
    expect((await ana.api.get(`/v1/users/${bo.id}/profile`)).body.rating).toEqual({ average: 3.5, count: 2 });
    // Bo may still leave his; it is visible at once.
    expect((await bo.api.post(`/v1/contracts/${second}/reviews`, { rating: 3 })).body.visible).toBe(true);
  });

  it('changes the password: other sessions end, this one stays', async () => {
    const ana = await person('Ana');
    const login = async (pw: string) => {
      const r = await s.api.as(null).post('/v1/auth/login', { email: ana.email, password: pw });
      return r.status === 200 ? s.api.as(null, { cookie: /tranche_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')![0], origin: s.url }) : null;
    };
    const here = (await login(password))!;
    const elsewhere = (await login(password))!;
    const wrong = await here.post('/v1/me/password', { currentPassword: 'not my password', newPassword: 'a brand new password' });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('current_password_incorrect');
    expect((await here.post('/v1/me/password', { currentPassword: password, newPassword: 'short' })).status).toBe(422);
    const changed = await here.post('/v1/me/password', { currentPassword: password, newPassword: 'a brand new password' });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ otherSessionsEnded: 1 });
    expect((await here.get('/v1/me')).status).toBe(200);
    expect((await elsewhere.get('/v1/me')).status).toBe(401);
    expect(await login(password)).toBeNull();
    expect(await login('a brand new password')).not.toBeNull();
    // The API token is a credential of its own.
    expect((await ana.api.get('/v1/me')).status).toBe(200);
  });

  it('emails per kind of event as the user chose; in-app notifications stay', async () => {
    const ana = await person('Ana');
    const bo = await person('Bo');
    const prefs = await bo.api.get('/v1/me/notification-preferences');
    expect(prefs.status).toBe(200);
    expect(prefs.body.email['milestone.funded']).toBe(true);
    expect(Object.values(prefs.body.email).every((v) => v === true)).toBe(true);
    const set = await bo.api.put('/v1/me/notification-preferences', { email: { 'milestone.funded': false } });
    expect(set.status).toBe(200);
    expect(set.body.email).toMatchObject({ 'milestone.funded': false, 'milestone.released': true });
    expect((await bo.api.put('/v1/me/notification-preferences', { email: { 'no.such_kind': false } })).status).toBe(422);
    expect((await bo.api.put('/v1/me/notification-preferences', { email: { 'milestone.funded': 'no' } })).status).toBe(422);
    expect((await s.admin.get('/v1/me/notification-preferences')).status).toBe(403);

    const title = `Build ${Math.random().toString(36).slice(2, 8)}`;
    const c = await liveContract(s, { client: ana, contractor: bo }, 'sequential_escrow', [{ title, amount: 30000, dueDate: inDays(30, serverNow(s)) }]);
    const m = c.milestones[0].id;
    expect((await ana.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect((await ana.api.post(`/v1/milestones/${m}/release`, { amount: 1000 })).status).toBe(200);
    expect((await runJobs(s)).failed).toBe(0);
    const to = (who: string, subject: string) => mails.filter((x) => x.to.includes(who) && x.headers.subject === subject);
    // In the app: both; by email: the release only.
    const kinds = (await bo.api.get('/v1/notifications')).body.data.map((n: { kind: string }) => n.kind);
    expect(kinds).toEqual(expect.arrayContaining(['milestone.funded', 'milestone.released']));
    expect(to(bo.email, `Payment released for “${title}”`)).toHaveLength(1);
    expect(to(bo.email, `Milestone “${title}” funded`)).toHaveLength(0);
  });
});
