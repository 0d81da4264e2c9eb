import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { startMailbox } from '../support/mailbox.ts';
import { activityKinds, DAY, expectProblem, HOUR, milestoneList, runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';

type Delivery = { path: string; headers: Record<string, string>; body: string };

/**
 * A webhook receiver on 127.0.0.1: /ok answers 200, /fail 500, /flaky 500 until told otherwise,
 * /redirect 302 to /ok, /hang never answers.
 */
async function receiver() {
  const deliveries: Delivery[] = [];
  const hanging: ServerResponse[] = [];
  const state = { flaky: true };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '';
      deliveries.push({ path, headers: req.headers as IncomingHttpHeaders as Record<string, string>, body });
      if (path === '/hang') return void hanging.push(res);
      if (path === '/redirect') return void res.writeHead(302, { location: `${url}/ok` }).end();
      const fail = path === '/fail' || (path === '/flaky' && state.flaky);
      res.writeHead(fail ? 500 : 200).end(fail ? 'boom' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    deliveries,
    hanging,
    state,
    to: (path: string) => deliveries.filter((d) => d.path === path),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const verify = (secret: string, d: Delivery) => new Webhook(secret).verify(d.body, d.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.each(engines())('webhooks on %s', (engine) => {
  let s: TestServer;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;

  beforeAll(async () => {
    hooks = await receiver();
    smtp = await startMailbox();
    // The receiver is on 127.0.0.1, which only TRANCHE_WEBHOOK_ALLOW_PRIVATE=1 lets deliveries reach.
    s = await startTestServer(engine, { TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1', SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await hooks?.close();
    await smtp?.close();
    await s?.stop();
  });

  const register = async (path: string, events: string[] = ['*']) => {
    const r = await s.admin.post('/v1/webhook-endpoints', { url: `${hooks.url}${path}`, events });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; secret: string };
  };

  it('signs every delivery per Standard Webhooks; the standardwebhooks package verifies it', async () => {
    const p = await newParties(s);
    expectProblem(await p.client.api.post('/v1/webhook-endpoints', { url: `${hooks.url}/ok`, events: ['*'] }), 403, 'forbidden');
    const ep = await register('/ok', ['milestone.funded']);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Signed', amount: 5000, dueDate: inDays(30, serverNow(s)) }]);
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
    await runJobs(s);

    const mine = hooks.to('/ok').filter((d) => JSON.parse(d.body).data.contractId === c.id);
    expect(mine).toHaveLength(1);
    const d = mine[0]!;
    expect(d.headers['webhook-id']).toMatch(/^msg_[0-9a-z]{26}$/);
    expect(d.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(d.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const event = verify(ep.secret, d);
    expect(event).toMatchObject({ type: 'milestone.funded', data: { contractId: c.id, milestoneId: m.id, title: 'Signed', amount: 5000, currency: 'USD' } });
    expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
    // Another secret, or a changed body, does not verify.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(d.body, d.headers)).toThrow();
    expect(() => new Webhook(ep.secret).verify(d.body.replace('5000', '5001'), d.headers)).toThrow();
  });

  it('lists, reads, changes, pauses and deletes endpoints; secrets are shown only once', async () => {
    const ep = await register('/ok', ['milestone.funded']);
    const list = await s.admin.get('/v1/webhook-endpoints?limit=100');
    expect(list.status).toBe(200);
    const listed = list.body.data.find((e: { id: string }) => e.id === ep.id);
    expect(listed).toMatchObject({ url: `${hooks.url}/ok`, events: ['milestone.funded'], enabled: true, disabledAt: null });
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    expect(JSON.stringify((await s.admin.get(`/v1/webhook-endpoints/${ep.id}`)).body)).not.toContain('whsec_');

    const changed = await s.admin.patch(`/v1/webhook-endpoints/${ep.id}`, { url: `${hooks.url}/fail`, events: ['milestone.approved', 'webhook_endpoint.disabled'] });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ url: `${hooks.url}/fail`, events: ['milestone.approved', 'webhook_endpoint.disabled'] });
    const paused = await s.admin.patch(`/v1/webhook-endpoints/${ep.id}`, { enabled: false });
    expect(paused.body).toMatchObject({ enabled: false, disabledReason: 'manual' });
    expect((await s.admin.patch(`/v1/webhook-endpoints/${ep.id}`, { enabled: true })).body).toMatchObject({ enabled: true, disabledReason: null });
    expectProblem(await s.admin.patch(`/v1/webhook-endpoints/${ep.id}`, {}), 422, 'validation_failed');
    expectProblem(await s.admin.patch(`/v1/webhook-endpoints/${ep.id}`, { events: ['no.such.event'] }), 422, 'validation_failed');

    const p = await newParties(s);
    expectProblem(await p.client.api.get(`/v1/webhook-endpoints/${ep.id}`), 403, 'forbidden');
    expectProblem(await p.client.api.get('/v1/webhook-endpoints'), 403, 'forbidden');
    expectProblem(await s.admin.actingAs(p.client.id).del(`/v1/webhook-endpoints/${ep.id}`), 403, 'forbidden');

    expect((await s.admin.del(`/v1/webhook-endpoints/${ep.id}`)).status).toBe(204);
    expectProblem(await s.admin.get(`/v1/webhook-endpoints/${ep.id}`), 404, 'not_found');
    expectProblem(await s.admin.get(`/v1/webhook-endpoints/${ep.id}/deliveries`), 404, 'not_found');
  });

  it('limits endpoints per platform with a stable code', async () => {
    const have = (await s.admin.get('/v1/webhook-endpoints?limit=100')).body.data.length as number;
    const made: string[] = [];
    for (let i = have; i < 20; i++) made.push((await register('/ok', ['milestone.released'])).id);
    const over = await s.admin.post('/v1/webhook-endpoints', { url: `${hooks.url}/ok`, events: ['*'] });
    expectProblem(over, 409, 'webhook_endpoint_limit_reached');
    expect(over.body.limit).toBe(20);
    for (const id of made) expect((await s.admin.del(`/v1/webhook-endpoints/${id}`)).status).toBe(204);
  });

  it('keeps the webhook-id across retries, logs every attempt, treats a redirect as a failure and redelivers by hand', async () => {
    hooks.state.flaky = true;
    const ep = await register('/flaky', ['milestone.released']);
    const msg = (await s.admin.post(`/v1/webhook-endpoints/${ep.id}/test`)).body;
    expect(msg).toMatchObject({ messageId: expect.stringMatching(/^msg_/), status: 'pending' });

    expect((await runJobs(s)).failed).toBeGreaterThanOrEqual(1);
    await setClock(s, new Date(serverNow(s).getTime() + 60_000));
    await runJobs(s);
    hooks.state.flaky = false;
    await setClock(s, new Date(serverNow(s).getTime() + HOUR));
    await runJobs(s);

    const got = hooks.to('/flaky').filter((d) => d.headers['webhook-id'] === msg.messageId);
    expect(got).toHaveLength(3);
    for (const d of got) expect(verify(ep.secret, d)).toMatchObject({ type: 'webhook.test', data: { endpointId: ep.id } });

    const log = await s.admin.get(`/v1/webhook-endpoints/${ep.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body.data).toMatchObject([
      { messageId: msg.messageId, eventType: 'webhook.test', statusCode: 200, error: null, nextRetryAt: null },
      { messageId: msg.messageId, statusCode: 500, nextRetryAt: expect.any(String) },
      { messageId: msg.messageId, statusCode: 500, nextRetryAt: expect.any(String) },
    ]);
    for (const a of log.body.data) {
      expect(a.id).toMatch(/^wha_/);
      expect(a.durationMs).toBeGreaterThanOrEqual(0);
      expect(Number.isNaN(Date.parse(a.attemptedAt))).toBe(false);
    }
    expect(Date.parse(log.body.data[2].nextRetryAt) - Date.parse(log.body.data[2].attemptedAt)).toBe(5000);
    // Cursor pagination, newest first.
    const first = await s.admin.get(`/v1/webhook-endpoints/${ep.id}/deliveries?limit=2`);
    expect(first.body.data.map((a: { id: string }) => a.id)).toEqual(log.body.data.slice(0, 2).map((a: { id: string }) => a.id));
    const second = await s.admin.get(`/v1/webhook-endpoints/${ep.id}/deliveries?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ data: [{ id: log.body.data[2].id }], nextCursor: null });

    // Manual redelivery of the delivered message: same webhook-id, signed afresh, logged.
    const again = await s.admin.post(`/v1/webhook-endpoints/${ep.id}/deliveries/${msg.messageId}/redeliver`);
    expect(again.status).toBe(202);
    await runJobs(s);
    const all = hooks.to('/flaky').filter((d) => d.headers['webhook-id'] === msg.messageId);
    expect(all).toHaveLength(4);
    expect(verify(ep.secret, all[3]!).type).toBe('webhook.test');
    expect((await s.admin.get(`/v1/webhook-endpoints/${ep.id}/deliveries`)).body.data).toHaveLength(4);
    expectProblem(await s.admin.post(`/v1/webhook-endpoints/${ep.id}/deliveries/msg_${'0'.repeat(26)}/redeliver`), 404, 'not_found');

    // A redirect is not followed: the attempt fails and the target is not called.
    const redirect = await register('/redirect', ['milestone.released']);
    const okBefore = hooks.to('/ok').length;
    await s.admin.post(`/v1/webhook-endpoints/${redirect.id}/test`);
    await runJobs(s);
    expect(hooks.to('/redirect')).toHaveLength(1);
    expect(hooks.to('/ok')).toHaveLength(okBefore);
    expect((await s.admin.get(`/v1/webhook-endpoints/${redirect.id}/deliveries`)).body.data).toMatchObject([{ statusCode: 302, error: 'redirect not followed', nextRetryAt: expect.any(String) }]);
    for (const id of [ep.id, redirect.id]) await s.admin.del(`/v1/webhook-endpoints/${id}`);
  });

  it('signs with the old and the new secret for 24 hours after a rotation, then with the new one only', async () => {
    const ep = await register('/ok', ['milestone.released']);
    const rotated = await s.admin.post(`/v1/webhook-endpoints/${ep.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - serverNow(s).getTime()).toBeGreaterThan(23.9 * HOUR);

    const deliverTest = async () => {
      const { messageId } = (await s.admin.post(`/v1/webhook-endpoints/${ep.id}/test`)).body;
      await runJobs(s);
      const d = hooks.to('/ok').find((x) => x.headers['webhook-id'] === messageId);
      expect(d).toBeDefined();
      return d!;
    };
    const during = await deliverTest();
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(fresh, during).type).toBe('webhook.test');
    expect(verify(ep.secret, during).type).toBe('webhook.test');

    await setClock(s, new Date(serverNow(s).getTime() + 23 * HOUR));
    expect(verify(ep.secret, await deliverTest()).type).toBe('webhook.test');

    await setClock(s, new Date(serverNow(s).getTime() + 1 * HOUR + 60_000));
    const after = await deliverTest();
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verify(fresh, after).type).toBe('webhook.test');
    expect(() => verify(ep.secret, after)).toThrow();
    await s.admin.del(`/v1/webhook-endpoints/${ep.id}`);
  });

  it('disables an endpoint after three days of failures and tells the platform by webhook and its admin by email', async () => {
    const admin = `ops-${engine}@example.com`;
    expect((await s.admin.patch('/v1/admin/platform', { adminEmail: admin })).body).toMatchObject({ adminEmail: admin });
    const dead = await register('/fail', ['milestone.released']);
    const watcher = await register('/ok', ['webhook_endpoint.disabled']);
    const t0 = serverNow(s);
    await s.admin.post(`/v1/webhook-endpoints/${dead.id}/test`);
    await runJobs(s);
    expect((await s.admin.get(`/v1/webhook-endpoints/${dead.id}`)).body).toMatchObject({ enabled: true, failingSince: expect.any(String) });

    await setClock(s, new Date(t0.getTime() + 2 * DAY));
    await runJobs(s);
    expect((await s.admin.get(`/v1/webhook-endpoints/${dead.id}`)).body.enabled).toBe(true);

    await setClock(s, new Date(t0.getTime() + 3 * DAY + 60_000));
    await runJobs(s);
    const off = (await s.admin.get(`/v1/webhook-endpoints/${dead.id}`)).body;
    expect(off).toMatchObject({ enabled: false, disabledReason: 'failing', disabledAt: expect.any(String) });
    expect((await s.admin.get(`/v1/webhook-endpoints/${dead.id}/deliveries`)).body.data).toHaveLength(3);

    const told = hooks.to('/ok').filter((d) => JSON.parse(d.body).type === 'webhook_endpoint.disabled' && JSON.parse(d.body).data.endpointId === dead.id);
    expect(told).toHaveLength(1);
    expect(verify(watcher.secret, told[0]!)).toMatchObject({ type: 'webhook_endpoint.disabled', data: { endpointId: dead.id, url: `${hooks.url}/fail`, reason: 'failing' } });
    await runJobs(s); // the email was queued by the delivery that disabled the endpoint
    const mailed = smtp.mails.filter((m) => m.to.includes(admin));
    expect(mailed).toHaveLength(1);
    expect(mailed[0]!.headers.subject).toMatch(/webhook endpoint was disabled/);
    expect(mailed[0]!.raw.replace(/=\r?\n/g, '')).toContain(dead.id); // quoted-printable soft line breaks

    // Disabled: nothing more is sent; enabled again, the failure streak starts over.
    const attemptsBefore = hooks.to('/fail').length;
    await s.admin.post(`/v1/webhook-endpoints/${dead.id}/test`);
    await runJobs(s);
    expect(hooks.to('/fail')).toHaveLength(attemptsBefore);
    expect((await s.admin.patch(`/v1/webhook-endpoints/${dead.id}`, { enabled: true })).body).toMatchObject({ enabled: true, failingSince: null, disabledReason: null });
    for (const id of [dead.id, watcher.id]) await s.admin.del(`/v1/webhook-endpoints/${id}`);
    expect((await s.admin.patch('/v1/admin/platform', { adminEmail: null })).body).toMatchObject({ adminEmail: null });
    expect(smtp.mails.filter((m) => m.to.includes(admin))).toHaveLength(1);
  });

  it('a hanging endpoint does not delay a due settlement', async () => {
    const hang = await register('/hang', ['*']);
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Slow hook', amount: 7000, dueDate: inDays(30, serverNow(s)) }]);
    // A delivery to the hanging endpoint is under way (the jobs run that started it waits on it).
    const firstRun = runJobs(s);
    await until(() => hooks.to('/hang').length === 1);

    // A settlement falls due now: the deposit settles (as failed) on the next run, at once.
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`, { paymentMethod: 'pm_card_fails_later' })).status).toBe(200);
    const started = Date.now();
    const second = await runJobs(s);
    const took = Date.now() - started;
    expect(second.ran).toBeGreaterThanOrEqual(1);
    expect(took).toBeLessThan(3000); // the per-attempt timeout is 10 s
    expect(await activityKinds(p.client.api, c.id)).toContain('milestone.funding_failed');
    // Still one request to the endpoint: no second delivery was stacked on it.
    expect(hooks.to('/hang')).toHaveLength(1);
    expect(hooks.hanging).toHaveLength(1);

    // The endpoint drops the connection: that attempt fails and is logged.
    hooks.hanging[0]!.socket?.destroy();
    expect((await firstRun).failed).toBeGreaterThanOrEqual(1);
    const log = (await s.admin.get(`/v1/webhook-endpoints/${hang.id}/deliveries`)).body.data;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ statusCode: null, error: expect.any(String), nextRetryAt: expect.any(String) });
    await s.admin.del(`/v1/webhook-endpoints/${hang.id}`);
  });
});

// The default: no address inside the operator's network, in any spelling (loopback forms only here).
describe.each(engines())('webhook address rules over HTTP on %s', (engine) => {
  let s: TestServer;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hooks = await receiver();
    s = await startTestServer(engine);
  });
  afterAll(async () => {
    await hooks?.close();
    await s?.stop();
  });

  it.each(['http://127.1/', 'http://0x7f000001/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://localhost/', 'http://LocalHost.:8080/'])(
    'refuses to register %s',
    async (url) => {
      const r = await s.admin.post('/v1/webhook-endpoints', { url, events: ['*'] });
      expectProblem(r, 422, 'webhook_url_not_allowed');
      expect(r.body.errors[0]).toMatchObject({ field: 'url' });
    },
  );

  it('refuses other schemes, and loopback on change', async () => {
    expectProblem(await s.admin.post('/v1/webhook-endpoints', { url: 'ftp://127.0.0.1/', events: ['*'] }), 422, 'validation_failed');
    // A public address literal (never contacted: the endpoint stays paused).
    const ep = await s.admin.post('/v1/webhook-endpoints', { url: 'https://93.184.215.14/hooks', events: ['*'], enabled: false });
    expect(ep.status).toBe(201);
    expectProblem(await s.admin.patch(`/v1/webhook-endpoints/${ep.body.id}`, { url: `${hooks.url}/ok` }), 422, 'webhook_url_not_allowed');
  });

  it('checks the address again at delivery: a URL that now points inside is not contacted', async () => {
    const ep = await s.admin.post('/v1/webhook-endpoints', { url: 'https://93.184.215.14/hooks', events: ['*'], enabled: false });
    // As if its DNS name had been moved to a loopback address after registration.
    await s.db.query('UPDATE webhook_endpoints SET url = $2 WHERE id = $1', [ep.body.id, `${hooks.url}/ok`]);
    expect((await s.admin.patch(`/v1/webhook-endpoints/${ep.body.id}`, { enabled: true })).status).toBe(200);
    await s.admin.post(`/v1/webhook-endpoints/${ep.body.id}/test`);
    await runJobs(s);
    expect(hooks.deliveries).toHaveLength(0);
    expect((await s.admin.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries`)).body.data).toMatchObject([
      { statusCode: null, error: expect.stringContaining('loopback') },
    ]);
  });
});

// The background worker (TRANCHE_WORKER=1) on the real clock: no jobs/run, a dead endpoint hangs.
describe('the background worker’s webhook lane', () => {
  let s: TestServer;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hooks = await receiver();
    s = await startTestServer(engines()[0]!, { TRANCHE_WORKER: '1', TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1' });
  });
  afterAll(async () => {
    for (const res of hooks?.hanging ?? []) res.socket?.destroy();
    await s?.stop();
    await hooks?.close();
  });

  it('delivers on its own while a hanging endpoint holds one slot, and settlements go on', async () => {
    const hang = await s.admin.post('/v1/webhook-endpoints', { url: `${hooks.url}/hang`, events: ['*'] });
    const ok = await s.admin.post('/v1/webhook-endpoints', { url: `${hooks.url}/ok`, events: ['milestone.funding_failed'] });
    expect([hang.status, ok.status]).toEqual([201, 201]);
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Background', amount: 4000, dueDate: inDays(30, serverNow(s)) }]);
    await until(() => hooks.to('/hang').length === 1);
    const m = (await milestoneList(p.client.api, c.id))[0]!;
    expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`, { paymentMethod: 'pm_card_fails_later' })).status).toBe(200);
    // The settle job runs and its event reaches the healthy endpoint, well within the hang's 10 s.
    await until(() => hooks.to('/ok').some((d) => JSON.parse(d.body).data.contractId === c.id), 4000);
    expect(await activityKinds(p.client.api, c.id)).toContain('milestone.funding_failed');
    const d = hooks.to('/ok').find((x) => JSON.parse(x.body).data.contractId === c.id)!;
    expect(verify(ok.body.secret, d).type).toBe('milestone.funding_failed');
    expect(hooks.to('/hang')).toHaveLength(1);
  });
});
