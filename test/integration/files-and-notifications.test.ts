import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { startMailbox, type Mail } from '../support/mailbox.ts';
import {
  elfBinary, expectProblem, milestoneList, runJobs, serverNow, setClock, tinyPdf, tinyPng, upload,
} from '../support/negotiation-helpers.ts';

type Delivery = { path: string; headers: IncomingHttpHeaders; body: string };

/** Listens on a free port of 127.0.0.1; returns the port. */
function listen(start: (port: number, host: string, cb: () => void) => unknown, address: () => AddressInfo | string | null): Promise<number> {
  return new Promise((resolve) => start(0, '127.0.0.1', () => resolve((address() as AddressInfo).port)));
}

// Uploads (content-sniffed types, size limit, who may read), and outgoing notifications:
// email through a real SMTP server, signed webhooks, and retries of a failing endpoint.
describe.each(engines())('files and notifications on %s', (engine) => {
  let s: TestServer;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;
  let mails: Mail[] = [];
  let hooks: Server;
  let hooksUrl: string;
  const deliveries: Delivery[] = [];
  let failing = true;

  beforeAll(async () => {
    smtp = await startMailbox();
    mails = smtp.mails;

    hooks = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        deliveries.push({ path: req.url ?? '', headers: req.headers, body });
        const fail = req.url === '/fail' && failing;
        res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' }).end(fail ? 'boom' : 'ok');
      });
    });
    const hookPort = await listen((port, host, cb) => hooks.listen(port, host, cb), () => hooks.address());
    hooksUrl = `http://127.0.0.1:${hookPort}`;

    // The webhook receiver is on 127.0.0.1: allowed here only (by default such addresses are refused).
    s = await startTestServer(engine, { SMTP_URL: smtp.url, TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1' });
  });
  afterAll(async () => {
    await s?.stop();
    await smtp?.close();
    await new Promise<void>((r) => (hooks ? hooks.close(() => r()) : r()));
  });

  it('accepts PNG and PDF by content; refuses executables, unknown binaries, empty and oversized files', async () => {
    const u = await newUser(s, 'uploader');
    const png = await upload(s, u.token, tinyPng(), 'pixel.png', 'image/png');
    expect(png.status).toBe(201);
    expect(png.body).toMatchObject({ filename: 'pixel.png', contentType: 'image/png', size: tinyPng().length });
    expect(png.body.id).toMatch(/^file_/);
    expect(png.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The declared type does not matter: the content decides.
    const pdf = await upload(s, u.token, tinyPdf(), 'report.bin', 'application/octet-stream');
    expect(pdf.status).toBe(201);
    expect(pdf.body.contentType).toBe('application/pdf');

    const elf = await upload(s, u.token, elfBinary(), 'innocent.png', 'image/png');
    expectProblem(elf, 415, 'unsupported_media_type');
    const random = Buffer.alloc(4096);
    let x = 12345;
    for (let i = 0; i < random.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      random[i] = x >>> 24;
    }
    random.set([0, 1, 2, 3], 0);
    expectProblem(await upload(s, u.token, random, 'data.pdf', 'application/pdf'), 415, 'unsupported_media_type');
    expectProblem(await upload(s, u.token, Buffer.alloc(0), 'empty.txt', 'text/plain'), 422, 'validation_failed');

    const big = Buffer.concat([tinyPng(), Buffer.alloc(10 * 1024 * 1024)]);
    expectProblem(await upload(s, u.token, big, 'huge.png', 'image/png'), 413, 'payload_too_large');
    // Exactly at the limit is fine.
    const atLimit = Buffer.concat([tinyPdf(), Buffer.alloc(10 * 1024 * 1024 - tinyPdf().length, 0x20)]);
    const ok = await upload(s, u.token, atLimit, 'big.pdf', 'application/pdf');
    expect(ok.status).toBe(201);
    expect(ok.body.size).toBe(10 * 1024 * 1024);

    expectProblem(await upload(s, null, tinyPng(), 'pixel.png'), 401, 'unauthenticated');
    const json = await u.api.post('/v1/files', { file: 'nope' });
    expectProblem(json, 415, 'unsupported_media_type');
    // Refused uploads stored nothing.
    const rows = await s.db.query<{ content_type: string }>('SELECT content_type FROM files WHERE owner_id = $1 ORDER BY id', [u.id]);
    expect(rows.map((r) => r.content_type)).toEqual(['image/png', 'application/pdf', 'application/pdf']);
  });

  it('lets both parties (and nobody else) read files attached to a milestone and a submission', async () => {
    const p = await newParties(s);
    const stranger = await newUser(s, 'stranger');
    const spec = await upload(s, p.client.token, tinyPng(), 'spec.png', 'image/png');
    const strangers = await upload(s, stranger.token, tinyPdf(), 'theirs.pdf', 'application/pdf');
    expect(spec.status).toBe(201);
    expect(strangers.status).toBe(201);
    // Not attached anywhere yet: only its owner reads it.
    expect((await p.client.api.get(`/v1/files/${spec.body.id}`)).status).toBe(200);
    expectProblem(await p.contractor.api.get(`/v1/files/${spec.body.id}`), 404, 'not_found');

    // Attaching a file of someone outside the contract is refused.
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Logo', amount: 20000, dueDate: inDays(30, serverNow(s)) }]);
    expectProblem(
      await p.client.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Icons', amount: 1000, dueDate: inDays(30, serverNow(s)), attachmentIds: [strangers.body.id] }),
      422,
      'validation_failed',
    );
    expect(await milestoneList(p.client.api, c.id)).toHaveLength(1);
    const withFile = await p.client.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Icons', amount: 1000, dueDate: inDays(30, serverNow(s)), attachmentIds: [spec.body.id] });
    expect(withFile.status).toBe(201);
    expect(withFile.body.attachmentIds).toEqual([spec.body.id]);
    const logo = (await milestoneList(p.client.api, c.id))[0]!;
    expectProblem(await p.client.api.patch(`/v1/milestones/${logo.id}`, { attachmentIds: [strangers.body.id] }), 422, 'validation_failed');
    const patched = await p.client.api.patch(`/v1/milestones/${logo.id}`, { attachmentIds: [spec.body.id] });
    expect(patched.status).toBe(200);
    expect(patched.body.attachmentIds).toEqual([spec.body.id]);

    // The contractor submits with a deliverable; a stranger's file is refused and changes nothing.
    expect((await p.client.api.post(`/v1/milestones/${logo.id}/fund`)).status).toBe(200);
    const deliverable = await upload(s, p.contractor.token, tinyPdf(), 'logo.pdf', 'application/pdf');
    const badSubmit = await p.contractor.api.post(`/v1/milestones/${logo.id}/submit`, { note: 'here', attachmentIds: [strangers.body.id] });
    expectProblem(badSubmit, 422, 'validation_failed');
    expect((await p.client.api.get(`/v1/milestones/${logo.id}`)).body).toMatchObject({ status: 'funded', submission: null });
    const submitted = await p.contractor.api.post(`/v1/milestones/${logo.id}/submit`, { note: 'here', attachmentIds: [deliverable.body.id] });
    expect(submitted.status).toBe(200);
    expect(submitted.body.submission).toMatchObject({ note: 'here', attachmentIds: [deliverable.body.id] });
    // Disputes and their answers take the same check.
    expectProblem(await p.client.api.post(`/v1/milestones/${logo.id}/dispute`, { reason: 'x', evidenceIds: [strangers.body.id] }), 422, 'validation_failed');
    expect((await p.client.api.get(`/v1/milestones/${logo.id}`)).body.status).toBe('submitted');

    for (const [file, bytes, type] of [
      [spec.body, tinyPng(), 'image/png'],
      [deliverable.body, tinyPdf(), 'application/pdf'],
    ] as const) {
      for (const reader of [p.client, p.contractor]) {
        const meta = await reader.api.get(`/v1/files/${file.id}`);
        expect(meta.status).toBe(200);
        expect(meta.body).toMatchObject({ id: file.id, contentType: type, size: bytes.length });
        const content = await fetch(`${s.url}/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${reader.token}` } });
        expect(content.status).toBe(200);
        expect(content.headers.get('content-type')).toContain(type);
        expect(content.headers.get('content-disposition')).toContain('attachment');
        expect(Buffer.from(await content.arrayBuffer()).equals(bytes)).toBe(true);
      }
      expectProblem(await stranger.api.get(`/v1/files/${file.id}`), 404, 'not_found');
      const hidden = await fetch(`${s.url}/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${stranger.token}` } });
      expect(hidden.status).toBe(404);
      expect((await hidden.json()).code).toBe('not_found');
    }
    // The stranger's own file stays theirs.
    expectProblem(await p.client.api.get(`/v1/files/${strangers.body.id}`), 404, 'not_found');
    expect((await s.admin.get(`/v1/files/${strangers.body.id}`)).status).toBe(200);
  });

  it('emails the other party through SMTP when a milestone changes', async () => {
    const p = await newParties(s);
    const title = `Build ${Math.random().toString(36).slice(2, 8)}`;
    const c = await liveContract(s, p, 'sequential_escrow', [{ title, amount: 30000, dueDate: inDays(30, serverNow(s)) }]);
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
    const before = await runJobs(s);
    expect(before.failed).toBe(0);

    const subject = `Milestone “${title}” funded`;
    const toContractor = mails.filter((x) => x.to.includes(p.contractor.email) && x.headers.subject === subject);
    expect(toContractor, JSON.stringify(mails.map((x) => [x.to, x.headers.subject]))).toHaveLength(1);
    expect(toContractor[0]!.headers.to).toContain(p.contractor.email);
    // The client did this themself: no email about it for them.
    expect(mails.filter((x) => x.to.includes(p.client.email) && x.headers.subject === subject)).toHaveLength(0);
    // The email job is done, and running the jobs again sends nothing twice.
    const jobs = await s.db.query<{ status: string; last_error: string | null }>(
      "SELECT j.status, j.last_error FROM jobs j JOIN notifications n ON n.id = j.payload->>'notificationId' WHERE j.kind = 'email' AND n.contract_id = $1 AND n.kind = 'milestone.funded'",
      [c.id],
    );
    expect(jobs).toEqual([{ status: 'done', last_error: 'sent' }]);
    await runJobs(s);
    expect(mails.filter((x) => x.to.includes(p.contractor.email) && x.headers.subject === subject)).toHaveLength(1);

    // The other way round: the contractor submits, the client is told.
    expect((await p.contractor.api.post(`/v1/milestones/${m.id}/submit`, { note: 'done' })).status).toBe(200);
    await runJobs(s);
    expect(mails.filter((x) => x.to.includes(p.client.email) && x.headers.subject === `Milestone “${title}” submitted for review`)).toHaveLength(1);
    await expectLedgerClean(s);
  });

  it('delivers signed webhooks to a registered endpoint', async () => {
    const p = await newParties(s);
    expectProblem(await p.client.api.post('/v1/webhook-endpoints', { url: `${hooksUrl}/ok`, events: ['milestone.funded'] }), 403, 'forbidden');
    const ep = await s.admin.post('/v1/webhook-endpoints', { url: `${hooksUrl}/ok`, events: ['milestone.funded', 'milestone.approved'] });
    expect(ep.status).toBe(201);
    expect(ep.body.secret).toEqual(expect.any(String));
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Hooked', amount: 12000, dueDate: inDays(30, serverNow(s)) }]);
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
    await runJobs(s);

    const mine = () => deliveries.filter((d) => d.path === '/ok' && JSON.parse(d.body).data.contractId === c.id);
    expect(mine()).toHaveLength(1);
    const d = mine()[0]!;
    const event = JSON.parse(d.body);
    expect(event).toMatchObject({ type: 'milestone.funded', data: { contractId: c.id, milestoneId: m.id, title: 'Hooked', amount: 12000, currency: 'USD', status: 'funded' } });
    expect(event.data.activityId).toMatch(/^act_/);
    expect(d.headers['content-type']).toContain('application/json');
    // Standard Webhooks: verified by the reference library with the secret shown at registration.
    expect(new Webhook(ep.body.secret).verify(d.body, d.headers as Record<string, string>)).toEqual(event);
    // A wrong secret does not verify.
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(d.body, d.headers as Record<string, string>)).toThrow();
    // Events the endpoint did not subscribe to are not sent; subscribed ones are, once.
    expect((await p.client.api.post(`/v1/milestones/${m.id}/approve`)).status).toBe(200);
    await runJobs(s);
    await runJobs(s);
    expect(mine().map((x) => JSON.parse(x.body).type)).toEqual(['milestone.funded', 'milestone.approved']);
    await expectLedgerClean(s);
  });

  it('retries a failing webhook endpoint later instead of losing the delivery', async () => {
    const p = await newParties(s);
    const ep = await s.admin.post('/v1/webhook-endpoints', { url: `${hooksUrl}/fail`, events: ['milestone.submitted'] });
    expect(ep.status).toBe(201);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Flaky', amount: 9000, dueDate: inDays(30, serverNow(s)) }]);
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
    expect((await p.contractor.api.post(`/v1/milestones/${m.id}/submit`, { note: 'v1' })).status).toBe(200);
    const job = async () => {
      const rows = await s.db.query<{ status: string; attempts: number; backoff_ms: number; id: string }>(
        `SELECT status, attempts, (extract(epoch FROM next_attempt_at - updated_at) * 1000)::int AS backoff_ms, id
           FROM webhook_messages WHERE endpoint_id = $1`,
        [ep.body.id],
      );
      expect(rows).toHaveLength(1);
      return rows[0]!;
    };
    const attemptsAt = () => deliveries.filter((d) => d.path === '/fail' && JSON.parse(d.body).data.contractId === c.id);

    failing = true;
    const first = await runJobs(s);
    expect(first.failed).toBeGreaterThanOrEqual(1);
    expect(attemptsAt()).toHaveLength(1);
    let j = await job();
    expect(j).toMatchObject({ status: 'pending', attempts: 1 });
    const log = await s.admin.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries`);
    expect(log.body.data).toMatchObject([{ messageId: j.id, statusCode: 500 }]);
    // Rescheduled with backoff (5 s after the first failure, 5 min after the second), not dropped.
    expect(j.backoff_ms).toBe(5000);

    // Later, still failing: a second attempt, still pending.
    await setClock(s, new Date(serverNow(s).getTime() + 60_000));
    await runJobs(s);
    expect(attemptsAt()).toHaveLength(2);
    j = await job();
    expect(j).toMatchObject({ status: 'pending', attempts: 2, backoff_ms: 300_000 });

    // The endpoint recovers: the same event is delivered and the job is done.
    failing = false;
    await setClock(s, new Date(serverNow(s).getTime() + 10 * 60_000));
    await runJobs(s);
    const all = attemptsAt();
    expect(all).toHaveLength(3);
    // Every retry carries the message's webhook-id and is signed afresh.
    expect(new Set(all.map((d) => d.headers['webhook-id']))).toEqual(new Set([j.id]));
    for (const d of all) expect(new Webhook(ep.body.secret).verify(d.body, d.headers as Record<string, string>)).toMatchObject({ type: 'milestone.submitted' });
    expect(await job()).toMatchObject({ status: 'delivered', attempts: 3 });
    await runJobs(s);
    expect(attemptsAt()).toHaveLength(3);
  });
});
