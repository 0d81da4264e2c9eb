import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, liveContract, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { milestoneList } from '../support/negotiation-helpers.ts';
import { SseClient } from '../support/sse.ts';

// GET /v1/events: Server-Sent Events of the caller's messages, contract activity, notifications
// and unread counts; Last-Event-ID resumes without loss; heartbeats; bounded streams per user;
// a message committed through another server process on the same PostgreSQL arrives within a second.
describe.each(engines())('live events on %s', (engine) => {
  let s: TestServer;
  const open: SseClient[] = [];
  const stream = async (token: string | null, headers: Record<string, string> = {}, query = '') => {
    const c = await SseClient.open(`${s.url}/v1/events${query}`, token ? { authorization: `Bearer ${token}`, ...headers } : headers);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    s = await startTestServer(engine, { LIVE_HEARTBEAT_MS: '300', LIVE_STREAMS_PER_USER: '3' });
  });
  afterAll(async () => {
    // Stopping with streams still open: the server ends them rather than waiting for them.
    await s?.stop();
    await Promise.all(open.map((c) => c.close()));
  });

  it('refuses without credentials (401), the admin as itself (403) and a malformed Last-Event-ID (422)', async () => {
    const anon = await stream(null);
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.body!).code).toBe('unauthenticated');
    const admin = await stream(s.adminToken);
    expect(admin.status).toBe(403);
    const u = await newUser(s, 'watcher');
    for (const bad of ['nope', '12', '1-2-3', '-1-2', '99999999999999999999999-1']) {
      const r = await stream(u.token, { 'last-event-id': bad });
      expect(r.status, bad).toBe(422);
      expect(JSON.parse(r.body!)).toMatchObject({ code: 'validation_failed', errors: [{ field: 'Last-Event-ID' }] });
    }
    const q = await stream(u.token, {}, '?lastEventId=zzz');
    expect(q.status).toBe(422);
  });

  it('streams messages, activity, notifications and unread counts to the parties only; heartbeats keep it open', async () => {
    const p = await newParties(s);
    const outsider = await newUser(s, 'outsider');
    const c = await liveContract(s, p, 'client_creates', [{ title: 'Design', amount: 50000 }]);
    const contractor = await stream(p.contractor.token);
    const client = await stream(p.client.token);
    const stranger = await stream(outsider.token);
    expect(contractor.status).toBe(200);
    expect(contractor.headers!.get('content-type')).toContain('text/event-stream');
    await contractor.waitFor((e) => e.some((x) => x.event === 'ready'));
    await stranger.waitFor((e) => e.some((x) => x.event === 'ready'));

    const m = await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body: 'live hello' });
    expect(m.status).toBe(201);
    const got = await contractor.waitFor((e) => e.some((x) => x.event === 'message' && x.data.message.id === m.body.id), 2000, 'message');
    const msgEvent = got.find((x) => x.event === 'message')!;
    expect(msgEvent.data).toMatchObject({ message: { id: m.body.id, body: 'live hello', authorId: p.client.id, contractId: c.id }, unreadMessages: 1, unread: { messages: 1 } });
    expect(msgEvent.id).toMatch(/^\d+-\d+$/);
    await contractor.waitFor((e) => e.some((x) => x.event === 'notification' && x.data.notification.kind === 'message.created'));
    // The author's own stream gets the message too (their other tabs), with nothing unread.
    await client.waitFor((e) => e.some((x) => x.event === 'message' && x.data.unreadMessages === 0));

    // Activity of the contract reaches both parties.
    const ms = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${ms.id}/fund`)).status).toBe(200);
    await contractor.waitFor((e) => e.some((x) => x.event === 'activity' && x.data.activity.kind === 'milestone.funded'));
    await client.waitFor((e) => e.some((x) => x.event === 'activity' && x.data.activity.kind === 'milestone.funded'));

    // Reading moves the counts, on every stream of the reader.
    expect((await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`)).status).toBe(200);
    await contractor.waitFor((e) => e.some((x) => x.event === 'read' && x.data.contractId === c.id && x.data.unreadMessages === 0));

    // Heartbeats (a comment line) keep coming.
    const before = contractor.comments;
    await contractor.waitFor(() => contractor.comments >= before + 2, 3000, 'heartbeats');

    // Nothing of this contract reached the outsider's stream.
    expect(stranger.events.filter((e) => e.event !== 'ready')).toEqual([]);
    expect(JSON.stringify(stranger.events)).not.toContain(c.id);
  });

  it('resumes after Last-Event-ID with nothing lost and nothing repeated', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const first = await stream(p.contractor.token);
    await first.waitFor((e) => e.some((x) => x.event === 'ready'));
    await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body: 'one' });
    const seen = await first.waitFor((e) => e.some((x) => x.event === 'message'));
    const lastId = seen.filter((x) => x.event === 'message').at(-1)!.id!;
    await first.close();
    // The stream is gone; what happens now must not be lost.
    await new Promise((r) => setTimeout(r, 100));
    const sent = [];
    for (const body of ['two', 'three', 'four']) sent.push((await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body })).body.id);
    const resumed = await stream(p.contractor.token, { 'last-event-id': lastId });
    expect(resumed.status).toBe(200);
    const events = await resumed.waitFor((e) => e.filter((x) => x.event === 'message').length >= 3, 3000, 'three messages');
    expect(events.filter((x) => x.event === 'message').map((x) => x.data.message.body)).toEqual(['two', 'three', 'four']);
    expect(events.filter((x) => x.event === 'message').map((x) => x.data.message.id)).toEqual(sent);
    // Ids only go forward.
    const ids = events.filter((x) => x.id && x.event !== 'ready').map((x) => x.id!.split('-').map(BigInt));
    for (let i = 1; i < ids.length; i++) expect(ids[i]![0]! > ids[i - 1]![0]! || (ids[i]![0] === ids[i - 1]![0] && ids[i]![1]! > ids[i - 1]![1]!)).toBe(true);
    // The query form works as well (EventSource cannot set headers on its first request).
    const viaQuery = await stream(p.contractor.token, {}, `?lastEventId=${lastId}`);
    await viaQuery.waitFor((e) => e.filter((x) => x.event === 'message').length >= 3);
  });

  it('bounds open streams per user', async () => {
    const u = await newUser(s, 'many-tabs');
    const streams = [await stream(u.token), await stream(u.token), await stream(u.token)];
    for (const x of streams) expect(x.status).toBe(200);
    const fourth = await stream(u.token);
    expect(fourth.status).toBe(429);
    expect(JSON.parse(fourth.body!).code).toBe('rate_limited');
    expect(fourth.headers!.get('retry-after')).toBeTruthy();
    // Closing one frees a place.
    await streams[0]!.close();
    let again: SseClient | undefined;
    for (let i = 0; i < 20 && again?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await stream(u.token);
    }
    expect(again!.status).toBe(200);
  });

  it.runIf(engine === 'postgres')('delivers a message committed through a second server process within a second', async () => {
    // A second API process on the same database (the harness makes it a spare database of its
    // own, which the DATABASE_URL given here replaces).
    const other = await startTestServer('postgres', { DATABASE_URL: s.databaseUrl! });
    try {
      const p = await newParties(s);
      const c = await liveContract(s, p, 'client_creates');
      const listener = await stream(p.contractor.token);
      await listener.waitFor((e) => e.some((x) => x.event === 'ready'));
      const t0 = Date.now();
      const m = await other.api.as(p.client.token).post(`/v1/contracts/${c.id}/messages`, { body: 'from the other process' });
      expect(m.status).toBe(201);
      await listener.waitFor((e) => e.some((x) => x.event === 'message' && x.data.message.id === m.body.id), 1000, 'the message from process 2');
      expect(Date.now() - t0).toBeLessThan(1000);
      // And the other way: a stream on the second process hears a command on the first.
      const there = await SseClient.open(`${other.url}/v1/events`, { authorization: `Bearer ${p.client.token}` });
      open.push(there);
      await there.waitFor((e) => e.some((x) => x.event === 'ready'));
      const reply = await p.contractor.api.post(`/v1/contracts/${c.id}/messages`, { body: 'back to process 2' });
      await there.waitFor((e) => e.some((x) => x.event === 'message' && x.data.message.id === reply.body.id), 1000, 'the reply on process 2');
      await there.close();
    } finally {
      await other.stop();
    }
  });
});

