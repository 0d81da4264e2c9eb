import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, liveContract, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { startMailbox, type Mail } from '../support/mailbox.ts';
import { expectProblem, runJobs, serverNow, setClock, tinyPdf, upload } from '../support/negotiation-helpers.ts';

const MINUTE = 60_000;

function listen(start: (port: number, host: string, cb: () => void) => unknown, address: () => AddressInfo | string | null): Promise<number> {
  return new Promise((resolve) => start(0, '127.0.0.1', () => resolve((address() as AddressInfo).port)));
}

// The conversation of a contract: messages, pagination, attachments, read markers, unread
// counts, notifications that can be read, the email digest (real SMTP, test clock) and the
// message.created webhook; bad input refused with nothing changed.
describe.each(engines())('messages on %s', (engine) => {
  let s: TestServer;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;
  let mails: Mail[] = [];
  let hooks: Server;
  let hooksUrl: string;
  const deliveries: { body: string; headers: Record<string, string> }[] = [];

  beforeAll(async () => {
    smtp = await startMailbox();
    mails = smtp.mails;
    hooks = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        deliveries.push({ body, headers: req.headers as Record<string, string> });
        res.writeHead(200).end('ok');
      });
    });
    hooksUrl = `http://127.0.0.1:${await listen((port, host, cb) => hooks.listen(port, host, cb), () => hooks.address())}`;
    s = await startTestServer(engine, { SMTP_URL: smtp.url, TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1' });
  });
  afterAll(async () => {
    await s?.stop();
    await smtp?.close();
    await new Promise<void>((r) => (hooks ? hooks.close(() => r()) : r()));
  });

  it('sends and lists messages newest first, paginated with the usual cursor; only the parties (and the admin) see them', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const sent: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const who = i % 2 ? p.client : p.contractor;
      const r = await who.api.post(`/v1/contracts/${c.id}/messages`, { body: `  message ${i}  ` });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ contractId: c.id, authorId: who.id, body: `message ${i}`, attachments: [] });
      expect(r.body.id).toMatch(/^cmsg_/);
      expect(r.body.createdAt).toEqual(expect.any(String));
      sent.push(r.body.id);
    }
    const first = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.data.map((m: { body: string }) => m.body)).toEqual(['message 5', 'message 4']);
    const second = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((m: { body: string }) => m.body)).toEqual(['message 3', 'message 2']);
    const third = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body.data.map((m: { id: string }) => m.id)).toEqual([sent[0]]);
    expect(third.body.nextCursor).toBeNull();
    // before= a message id is a cursor at it; after= catches up, oldest first.
    const before = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?before=${sent[2]}`);
    expect(before.body.data.map((m: { id: string }) => m.id)).toEqual([sent[1], sent[0]]);
    const after = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?after=${sent[1]}&limit=2`);
    expect(after.body.data.map((m: { id: string }) => m.id)).toEqual([sent[2], sent[3]]);
    expect(after.body.nextCursor).toBe(sent[3]);
    const rest = await p.contractor.api.get(`/v1/contracts/${c.id}/messages?after=${after.body.nextCursor}&limit=2`);
    expect(rest.body).toMatchObject({ data: [{ id: sent[4] }], nextCursor: null });
    expectProblem(await p.contractor.api.get(`/v1/contracts/${c.id}/messages?after=${sent[1]}&before=${sent[3]}`), 422, 'validation_failed');
    expectProblem(await p.contractor.api.get(`/v1/contracts/${c.id}/messages?after=nope`), 422, 'validation_failed');

    // Outsiders: 404 for reading, writing and marking read, as if the contract did not exist.
    const outsider = await newUser(s, 'outsider');
    expectProblem(await outsider.api.get(`/v1/contracts/${c.id}/messages`), 404, 'not_found');
    expectProblem(await outsider.api.post(`/v1/contracts/${c.id}/messages`, { body: 'hi' }), 404, 'not_found');
    expectProblem(await outsider.api.post(`/v1/contracts/${c.id}/messages/read`, {}), 404, 'not_found');
    // The admin reads; it writes only acting as a party.
    expect((await s.admin.get(`/v1/contracts/${c.id}/messages`)).body.data).toHaveLength(5);
    expectProblem(await s.admin.post(`/v1/contracts/${c.id}/messages`, { body: 'as admin' }), 403, 'forbidden');
    const acting = await s.admin.actingAs(p.client.id).post(`/v1/contracts/${c.id}/messages`, { body: 'for the client' });
    expect(acting.status).toBe(201);
    expect(acting.body.authorId).toBe(p.client.id);

    // The timeline links the conversation once and never copies it.
    const activity = (await p.client.api.get(`/v1/contracts/${c.id}/activity?limit=100`)).body.data as { kind: string; data: Record<string, unknown> }[];
    const started = activity.filter((a) => a.kind === 'conversation.started');
    expect(started).toHaveLength(1);
    expect(started[0]!.data).toMatchObject({ messageId: sent[0], messages: `/v1/contracts/${c.id}/messages` });
    expect(JSON.stringify(activity)).not.toContain('message 3');
  });

  it('refuses bad messages with a 4xx and stores nothing', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const other = await liveContract(s, await newParties(s), 'client_creates');
    const path = `/v1/contracts/${c.id}/messages`;
    expectProblem(await p.client.api.post(path, { body: '' }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: ' \n\t ' }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, {}), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: 'x'.repeat(10_001) }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: 'nul \u0000 here' }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: 'hi', extra: 1 }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: 'hi', attachmentIds: ['file_01jdq4z9v6x7m3k8t2w5r1c0aa'] }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(path, { body: 'hi', attachmentIds: ['not-a-file'] }), 422, 'validation_failed');
    // A file of someone else (here the other party's) cannot be attached by this author.
    const theirs = await upload(s, p.contractor.token, tinyPdf(), 'theirs.pdf');
    expectProblem(await p.client.api.post(path, { body: 'hi', attachmentIds: [theirs.body.id] }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(`/v1/contracts/${c.id}/messages/read`, { upTo: 'cmsg_01jdq4z9v6x7m3k8t2w5r1c0aa' }), 422, 'validation_failed');
    expectProblem(await p.client.api.post(`/v1/contracts/${c.id}/messages/read`, { upTo: 'nope' }), 422, 'validation_failed');
    expect((await p.client.api.get(path)).body.data).toEqual([]);

    // Exactly 10,000 characters (code points, so emoji count once) is accepted.
    const long = '😀'.repeat(10_000);
    const ok = await p.client.api.post(path, { body: long });
    expect(ok.status).toBe(201);
    expect([...ok.body.body]).toHaveLength(10_000);

    // upTo of another thread is refused, and the marker stays.
    const foreign = await (await newParties(s)).client.api.post(`/v1/contracts/${other.id}/messages`, { body: 'elsewhere' });
    expect(foreign.status).toBe(404); // not a party of `other` either
    const q = await newParties(s);
    const c2 = await liveContract(s, q, 'client_creates');
    const m2 = await q.client.api.post(`/v1/contracts/${c2.id}/messages`, { body: 'in c2' });
    expectProblem(await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`, { upTo: m2.body.id }), 422, 'validation_failed');
    expect((await p.contractor.api.get(`/v1/contracts/${c.id}`)).body.unreadMessages).toBe(1);
  });

  it('attachments are the author’s own files and become readable by the other party', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const f = await upload(s, p.contractor.token, tinyPdf(), 'spec.pdf', 'application/pdf');
    expect(f.status).toBe(201);
    // Before it is attached, the client cannot read it.
    expectProblem(await p.client.api.get(`/v1/files/${f.body.id}`), 404, 'not_found');
    const m = await p.contractor.api.post(`/v1/contracts/${c.id}/messages`, { body: 'see attached', attachmentIds: [f.body.id] });
    expect(m.status).toBe(201);
    expect(m.body.attachments).toEqual([{ id: f.body.id, filename: 'spec.pdf', contentType: 'application/pdf', size: tinyPdf().length }]);
    const got = await fetch(`${s.url}/v1/files/${f.body.id}/content`, { headers: { authorization: `Bearer ${p.client.token}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(tinyPdf())).toBe(true);
    // A stranger still cannot.
    const stranger = await newUser(s, 'stranger');
    expectProblem(await stranger.api.get(`/v1/files/${f.body.id}`), 404, 'not_found');
  });

  it('keeps read markers and unread counts per party: contract responses, the list, /me; notifications read one by one or all', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const quiet = await liveContract(s, p, 'client_creates');
    const ids: string[] = [];
    for (const body of ['one', 'two', 'three']) ids.push((await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body })).body.id);

    // The author has nothing unread; the other party has three.
    expect((await p.client.api.get(`/v1/contracts/${c.id}`)).body.unreadMessages).toBe(0);
    expect((await p.contractor.api.get(`/v1/contracts/${c.id}`)).body.unreadMessages).toBe(3);
    const list = await p.contractor.api.get('/v1/contracts');
    expect(list.body.data.find((x: { id: string }) => x.id === c.id).unreadMessages).toBe(3);
    expect(list.body.data.find((x: { id: string }) => x.id === quiet.id).unreadMessages).toBe(0);
    expect((await p.contractor.api.get('/v1/contracts?unread=true')).body.data.map((x: { id: string }) => x.id)).toEqual([c.id]);
    expect((await p.contractor.api.get('/v1/contracts?unread=false')).body.data.map((x: { id: string }) => x.id)).toEqual([quiet.id]);
    expect((await p.client.api.get('/v1/contracts?unread=true')).body.data).toEqual([]);
    expectProblem(await p.contractor.api.get('/v1/contracts?unread=maybe'), 422, 'validation_failed');
    const me = await p.contractor.api.get('/v1/me');
    expect(me.body).toMatchObject({ unreadMessages: 3 });
    expect(me.body.unreadNotifications).toBeGreaterThanOrEqual(3);

    // Each message is an in-app notification for the other party at once.
    const notes = await p.contractor.api.get('/v1/notifications?unread=true&limit=100');
    const about = notes.body.data.filter((n: { kind: string; contractId: string }) => n.kind === 'message.created' && n.contractId === c.id);
    expect(about).toHaveLength(3);
    expect(about[0]).toMatchObject({ title: expect.stringContaining('New message'), data: { messageId: ids[2] } });

    // Read up to the second message: one left, and those two notifications are read with it.
    const r1 = await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`, { upTo: ids[1] });
    expect(r1.status).toBe(200);
    expect(r1.body).toEqual({ contractId: c.id, readUpTo: ids[1], unreadMessages: 1 });
    expect((await p.contractor.api.get(`/v1/contracts/${c.id}`)).body.unreadMessages).toBe(1);
    const left = (await p.contractor.api.get('/v1/notifications?unread=true&limit=100')).body.data.filter((n: { kind: string; contractId: string }) => n.kind === 'message.created' && n.contractId === c.id);
    expect(left.map((n: { data: { messageId: string } }) => n.data.messageId)).toEqual([ids[2]]);
    // The marker never moves back.
    const back = await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`, { upTo: ids[0] });
    expect(back.body).toMatchObject({ readUpTo: ids[1], unreadMessages: 1 });
    // No upTo: everything.
    expect((await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`)).body).toEqual({ contractId: c.id, readUpTo: ids[2], unreadMessages: 0 });
    expect((await p.contractor.api.get('/v1/me')).body.unreadMessages).toBe(0);

    // Notifications: one by one, then all at once; someone else's id refuses the request.
    await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body: 'four' });
    await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body: 'five' });
    const unread = (await p.contractor.api.get('/v1/notifications?unread=true')).body.data as { id: string }[];
    expect(unread.length).toBeGreaterThanOrEqual(2);
    const clientNote = (await p.client.api.get('/v1/notifications')).body.data[0];
    expectProblem(await p.contractor.api.post('/v1/notifications/read', { ids: [unread[0]!.id, clientNote.id] }), 422, 'validation_failed');
    expectProblem(await p.contractor.api.post('/v1/notifications/read', { ids: ['bad'] }), 422, 'validation_failed');
    expect((await p.contractor.api.get('/v1/notifications?unread=true')).body.data).toHaveLength(unread.length);
    const one = await p.contractor.api.post('/v1/notifications/read', { ids: [unread[0]!.id] });
    expect(one.body).toEqual({ read: 1, unreadNotifications: unread.length - 1 });
    const again = await p.contractor.api.post('/v1/notifications/read', { ids: [unread[0]!.id] });
    expect(again.body).toEqual({ read: 0, unreadNotifications: unread.length - 1 });
    expect((await p.contractor.api.get('/v1/notifications?unread=false')).body.data.map((n: { id: string }) => n.id)).toContain(unread[0]!.id);
    const all = await p.contractor.api.post('/v1/notifications/read');
    expect(all.body).toEqual({ read: unread.length - 1, unreadNotifications: 0 });
    expect((await p.contractor.api.get('/v1/me')).body.unreadNotifications).toBe(0);
    // Reading notifications does not read the thread.
    expect((await p.contractor.api.get(`/v1/contracts/${c.id}`)).body.unreadMessages).toBe(2);
  });

  it('keeps the conversation after the contract closes, read-only', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    await p.contractor.api.post(`/v1/contracts/${c.id}/messages`, { body: 'before close' });
    const closed = await p.client.api.post(`/v1/contracts/${c.id}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', unreadMessages: 1 });
    const r = await p.client.api.post(`/v1/contracts/${c.id}/messages`, { body: 'after close' });
    expectProblem(r, 409, 'invalid_state');
    expect(r.body.state).toBe('closed');
    expect((await p.client.api.get(`/v1/contracts/${c.id}/messages`)).body.data.map((m: { body: string }) => m.body)).toEqual(['before close']);
    expect((await p.client.api.post(`/v1/contracts/${c.id}/messages/read`)).body.unreadMessages).toBe(0);
  });

  it('emails the other party once per burst of unread messages, ten minutes after it starts; not when read in time', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const start = await setClock(s, new Date(serverNow(s).getTime() + 3600_000));
    const mine = () => mails.filter((m) => m.to.includes(p.contractor.email) && /unread message/.test(m.headers.subject ?? ''));
    const send = (body: string) => p.client.api.post(`/v1/contracts/${c.id}/messages`, { body });

    expect((await send('first of the burst')).status).toBe(201);
    await setClock(s, new Date(start.getTime() + 2 * MINUTE));
    expect((await send('second of the burst')).status).toBe(201);
    await setClock(s, new Date(start.getTime() + 5 * MINUTE));
    expect((await send('third of the burst')).status).toBe(201);
    await runJobs(s);
    expect(mine()).toHaveLength(0); // not ten minutes yet

    await setClock(s, new Date(start.getTime() + 10 * MINUTE + 1000));
    await runJobs(s);
    await runJobs(s);
    expect(mine(), JSON.stringify(mails.map((m) => [m.to, m.headers.subject]))).toHaveLength(1);
    const mail = mine()[0]!;
    expect(mail.headers.subject).toBe('3 unread messages on “Test contract”');
    for (const b of ['first of the burst', 'second of the burst', 'third of the burst']) expect(mail.raw).toContain(b);
    expect(mails.filter((m) => m.to.includes(p.client.email) && /unread message/.test(m.headers.subject ?? ''))).toHaveLength(0); // the author gets none

    // Later: nothing more for the same burst.
    await setClock(s, new Date(start.getTime() + 30 * MINUTE));
    await runJobs(s);
    expect(mine()).toHaveLength(1);

    // A new burst, read within ten minutes: no email.
    await send('read in time');
    await setClock(s, new Date(start.getTime() + 35 * MINUTE));
    await p.contractor.api.post(`/v1/contracts/${c.id}/messages/read`);
    await setClock(s, new Date(start.getTime() + 45 * MINUTE));
    await runJobs(s);
    expect(mine()).toHaveLength(1);

    // Another burst left unread: a second email, with only the new message.
    await send('left unread');
    await setClock(s, new Date(start.getTime() + 56 * MINUTE));
    await runJobs(s);
    await runJobs(s);
    expect(mine()).toHaveLength(2);
    expect(mine()[1]!.headers.subject).toBe('1 unread message on “Test contract”');
    expect(mine()[1]!.raw).toContain('left unread');
    expect(mine()[1]!.raw).not.toContain('first of the burst');
  });

  it('sends operators a signed message.created webhook', async () => {
    const ep = await s.admin.post('/v1/webhook-endpoints', { url: `${hooksUrl}/messages`, events: ['message.created'] });
    expect(ep.status).toBe(201);
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates');
    const m = await p.contractor.api.post(`/v1/contracts/${c.id}/messages`, { body: 'hook me' });
    await runJobs(s);
    const mine = deliveries.filter((d) => JSON.parse(d.body).data.contractId === c.id);
    expect(mine).toHaveLength(1);
    const event = new Webhook(ep.body.secret).verify(mine[0]!.body, mine[0]!.headers) as { type: string; data: Record<string, unknown> };
    expect(event).toMatchObject({ type: 'message.created', data: { messageId: m.body.id, contractId: c.id, authorId: p.contractor.id, body: 'hook me', attachmentIds: [] } });
    await s.admin.del(`/v1/webhook-endpoints/${ep.body.id}`);
  });
});
