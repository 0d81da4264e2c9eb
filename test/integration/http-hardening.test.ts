import { connect } from 'node:net';
import { parse as parseDisposition } from 'content-disposition';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import pino from 'pino';
import { engines, inDays, newParties, newUser, startTestServer, type TestServer } from '../support/harness.ts';

/**
 * Regressions of the "Trust" issue at the HTTP edge: text PostgreSQL cannot store, download
 * names, deep nesting before authentication, CSRF and proxies, login limits shared through the
 * database, idempotency scope, slow requests and upload quotas. Real HTTP, both engines.
 */
const PASSWORD = 'correct horse battery staple';
const EVIL = 'https://evil.example';

describe.each(engines())('HTTP hardening on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine, {
      TRUST_PROXY: 'true',
      REQUEST_TIMEOUT_MS: '1500',
      HEADERS_TIMEOUT_MS: '1000',
      KEEP_ALIVE_TIMEOUT_MS: '2000',
      LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_FAILURES_PER_ADDRESS: '6',
      UPLOAD_FILES_PER_DAY: '4',
      UPLOAD_BYTES_PER_DAY: '40000',
    });
  });
  afterAll(async () => s?.stop());

  const withPassword = async (name: string) => {
    const email = `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.com`;
    const u = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
    expect(u.status).toBe(201);
    return { id: u.body.id as string, email };
  };
  const login = (email: string, password: string, headers: Record<string, string> = {}) => s.api.as(null).post('/v1/auth/login', { email, password }, headers);
  const sessionOf = async (email: string, headers: Record<string, string> = {}) => {
    const r = await login(email, PASSWORD, headers);
    expect(r.status).toBe(200);
    return /tranche_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')![1]!;
  };
  const upload = async (token: string, name: string, bytes = 'hello') => {
    const form = new FormData();
    form.append('file', new Blob([bytes]), name);
    const r = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    return { status: r.status, body: (await r.json()) as any, headers: r.headers };
  };

  describe('4a: text that PostgreSQL cannot store', () => {
    it('refuses a lone surrogate in a JSON title, note or reason with 422 naming the field', async () => {
      const { client, contractor } = await newParties(s);
      const bad = await client.api.post(
        '/v1/contracts',
        `{"title":"A \\ud800 contract","clientId":"${client.id}","contractorId":"${contractor.id}","type":"fixed","currency":"USD","policy":"sequential_escrow"}`,
      );
      expect(bad.status).toBe(422);
      expect(bad.body.code).toBe('validation_failed');
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'title' })]);

      const c = await client.api.post('/v1/contracts', {
        title: 'Surrogates', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
        milestones: [{ title: 'One', amount: 1000, dueDate: inDays(10) }],
      });
      expect(c.status).toBe(201);
      expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
      const ms = c.body.milestones[0].id;
      expect((await client.api.post(`/v1/milestones/${ms}/fund`)).status).toBe(200);
      const note = await contractor.api.post(`/v1/milestones/${ms}/submit`, '{"note":"done \\udfff"}');
      expect(note.status).toBe(422);
      expect(note.body.errors).toEqual([expect.objectContaining({ field: 'note' })]);
      expect((await contractor.api.post(`/v1/milestones/${ms}/submit`, { note: 'done' })).status).toBe(200);
      const reason = await client.api.post(`/v1/milestones/${ms}/reject`, '{"reason":"\\ud83d redo"}');
      expect(reason.status).toBe(422);
      expect(reason.body.errors).toEqual([expect.objectContaining({ field: 'reason' })]);
      // A well-formed pair of surrogates (an emoji) is text like any other.
      expect((await client.api.post(`/v1/milestones/${ms}/reject`, '{"reason":"\\ud83d\\udcb8 redo"}')).status).toBe(200);
    });

    it('refuses a lone surrogate or NUL in a multipart file name and in query strings', async () => {
      const u = await newUser(s, 'names');
      const part = (filename: string) =>
        `--XYZ\r\nContent-Disposition: form-data; name="file"; filename*=${filename}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XYZ--\r\n`;
      for (const name of ["utf-16le''%00%D8.txt", "utf-16le''a%00%00%00.txt"]) {
        const r = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, 'content-type': 'multipart/form-data; boundary=XYZ' }, body: part(name) });
        const body = (await r.json()) as any;
        expect(r.status, name).toBe(422);
        expect(body.errors).toEqual([expect.objectContaining({ field: 'file' })]);
      }
      const q = await u.api.get('/v1/contracts?cursor=a%00b');
      expect(q.status).toBe(422);
      expect(q.body.errors).toEqual([expect.objectContaining({ field: 'cursor' })]);
    });
  });

  describe('4b: download names', () => {
    it.each(['report-日本語.txt', 'budget 💸 2027.txt', 'a\u007fb.txt', 'quote"d;name.txt'])('serves %j with an RFC 6266 Content-Disposition', async (name) => {
      const u = await newUser(s, 'downloads');
      const up = await upload(u.token, name);
      expect(up.status).toBe(201);
      const r = await fetch(`${s.url}/v1/files/${up.body.id}/content`, { headers: { authorization: `Bearer ${u.token}` } });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('hello');
      const header = r.headers.get('content-disposition')!;
      // An ASCII `filename` first (quoted, or a bare token), then `filename*` when the name is not ASCII.
      expect(header).toMatch(/^attachment; filename=("[\x20-\x7e]*"|[\w!#$&+.^`|~-]+)(; filename\*=UTF-8''[\w%!#$&+.^`|~-]+)?$/);
      expect(parseDisposition(header).parameters.filename).toBe(up.body.filename);
    });
  });

  describe('4c: deep nesting before authentication', () => {
    it('answers 100,000 nested arrays around NUL with a 4xx problem, unauthenticated', async () => {
      const deep = '['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000);
      const r = await s.api.as(null).post('/v1/contracts', deep);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('malformed_request');
    });

    it('refuses nesting deeper than 32 levels and accepts ordinary bodies', async () => {
      const u = await newUser(s, 'nesting');
      let v: unknown = 'x';
      for (let i = 0; i < 33; i++) v = { a: v };
      const r = await u.api.post('/v1/contracts', v);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('malformed_request');
    });
  });

  describe('5: CSRF and proxies', () => {
    it('refuses a cross-site multipart POST that rides the session cookie; the money stays in escrow', async () => {
      const { contractor } = await newParties(s);
      const person = await withPassword('csrf-client');
      // The victim is the logged-in client of a submitted milestone.
      const c = await s.admin.actingAs(person.id).post('/v1/contracts', {
        title: 'CSRF', clientId: person.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
        milestones: [{ title: 'One', amount: 1000, dueDate: inDays(10) }],
      });
      expect(c.status).toBe(201);
      const asPerson = s.admin.actingAs(person.id);
      expect((await asPerson.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
      expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
      const ms = c.body.milestones[0].id;
      expect((await asPerson.post(`/v1/milestones/${ms}/fund`)).status).toBe(200);
      expect((await contractor.api.post(`/v1/milestones/${ms}/submit`, { note: 'done' })).status).toBe(200);

      const cookie = `tranche_session=${await sessionOf(person.email)}`;
      const form = new FormData();
      form.append('x', 'y');
      const attack = await fetch(`${s.url}/v1/milestones/${ms}/approve`, { method: 'POST', headers: { cookie, origin: EVIL }, body: form });
      expect(attack.status).toBe(403);
      expect(attack.headers.get('content-type')).toContain('application/problem+json');
      expect(((await attack.json()) as any).code).toBe('csrf_refused');
      // Without Origin, the browser's Sec-Fetch-Site says where the request comes from.
      const site = await s.api.as(null, { cookie }).post(`/v1/milestones/${ms}/approve`, undefined, { 'sec-fetch-site': 'cross-site' });
      expect(site.status).toBe(403);
      expect(site.body.code).toBe('csrf_refused');
      const sameSite = await s.api.as(null, { cookie }).post(`/v1/milestones/${ms}/approve`, undefined, { 'sec-fetch-site': 'same-site' });
      expect(sameSite.status).toBe(403);
      expect((await asPerson.get(`/v1/milestones/${ms}`)).body.status).toBe('submitted');

      // The app's own origin (here the Host it was reached at) is allowed.
      const own = await s.api.as(null, { cookie }).post(`/v1/milestones/${ms}/approve`, undefined, { origin: s.url, 'sec-fetch-site': 'same-origin' });
      expect(own.status).toBe(200);
      expect(own.body.status).not.toBe('submitted');
    });

    it('leaves Bearer tokens alone, and refuses cross-site logout and login', async () => {
      const u = await newUser(s, 'bearer');
      const fromPage = await u.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' }, { origin: EVIL, 'sec-fetch-site': 'cross-site' });
      expect(fromPage.status).toBe(200);
      const person = await withPassword('csrf-logout');
      const cookie = `tranche_session=${await sessionOf(person.email)}`;
      const out = await s.api.as(null, { cookie }).post('/v1/auth/logout', undefined, { origin: 'null' });
      expect(out.status).toBe(403);
      expect((await s.api.as(null, { cookie }).get('/v1/me')).status).toBe(200);
      const crossLogin = await login(person.email, PASSWORD, { origin: EVIL });
      expect(crossLogin.status).toBe(403);
      expect(crossLogin.body.code).toBe('csrf_refused');
    });

    it('behind a trusted TLS proxy: X-Forwarded-Proto/Host decide the origin and the cookie is Secure', async () => {
      const person = await withPassword('proxied');
      const proxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com', 'x-forwarded-for': '203.0.113.7' };
      const r = await login(person.email, PASSWORD, { ...proxy, origin: 'https://app.example.com' });
      expect(r.status).toBe(200);
      expect(r.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
      const cookie = /tranche_session=[^;]+/.exec(r.headers.get('set-cookie')!)![0];
      const ok = await s.api.as(null, { cookie }).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' }, { ...proxy, origin: 'https://app.example.com' });
      expect(ok.status).toBe(200);
      const wrongScheme = await s.api.as(null, { cookie }).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' }, { ...proxy, origin: 'http://app.example.com' });
      expect(wrongScheme.status).toBe(403);
      // Plain http straight to the server: no Secure flag.
      const direct = await login(person.email, PASSWORD);
      expect(direct.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i);
    });

    it('sends a strict Content-Security-Policy on the API and the web app, and its own on /docs', async () => {
      const noInline = (csp: string | null) => {
        expect(csp).toContain("default-src 'self'");
        const script = /script-src ([^;]*)/.exec(csp!)?.[1] ?? '';
        expect(script).not.toContain('unsafe-inline');
      };
      noInline((await s.admin.get('/v1/me')).headers.get('content-security-policy'));
      const page = await fetch(`${s.url}/`);
      noInline(page.headers.get('content-security-policy'));
      const html = await page.text();
      if (page.headers.get('content-type')?.includes('text/html')) expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      const docs = await fetch(`${s.url}/docs`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-security-policy')).toBeTruthy();
    });
  });

  describe('7: login limits per account and per address, in the database', () => {
    it('locks an account after repeated failures from many addresses, with Retry-After', async () => {
      const person = await withPassword('victim');
      for (let i = 0; i < 3; i++) expect((await login(person.email, 'wrong-' + i, { 'x-forwarded-for': `198.51.100.${i + 1}` })).status).toBe(401);
      const locked = await login(person.email, PASSWORD, { 'x-forwarded-for': '198.51.100.99' });
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe('rate_limited');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('does not count successful logins, and a success resets the account', async () => {
      const person = await withPassword('regular');
      const from = { 'x-forwarded-for': '192.0.2.50' };
      for (let i = 0; i < 8; i++) expect((await login(person.email, PASSWORD, from)).status).toBe(200);
      // Failures from fresh addresses each round: only the account's count is at stake.
      for (let round = 0; round < 3; round++) {
        const at = { 'x-forwarded-for': `192.0.2.${60 + round}` };
        for (let i = 0; i < 2; i++) expect((await login(person.email, 'typo', at)).status).toBe(401);
        expect((await login(person.email, PASSWORD, at)).status).toBe(200);
      }
    });

    it('one address guessing many accounts is limited without locking others out', async () => {
      const people = await Promise.all([0, 1, 2, 3].map((i) => withPassword(`spray${i}`)));
      const attacker = { 'x-forwarded-for': '203.0.113.66' };
      const statuses: number[] = [];
      for (const p of people) for (let i = 0; i < 2; i++) statuses.push((await login(p.email, 'Winter2027!', attacker)).status);
      expect(statuses.slice(0, 6)).toEqual([401, 401, 401, 401, 401, 401]);
      expect(statuses.slice(6)).toEqual([429, 429]);
      // Another address, the same accounts: fine.
      for (const p of people) expect((await login(p.email, PASSWORD, { 'x-forwarded-for': '203.0.113.67' })).status).toBe(200);
    });

    it('counts in the database: a second process sees the first one\'s failures', async () => {
      if (engine !== 'postgres') return; // one process owns a PGlite folder
      const person = await withPassword('shared');
      for (let i = 0; i < 3; i++) expect((await login(person.email, 'nope-' + i)).status).toBe(401);
      const second = await startServer(
        loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: s.databaseUrl!, TRANCHE_DATA_DIR: s.dataDir, LOG_LEVEL: 'silent', TRANCHE_WORKER: '0', LOGIN_FAILURES_PER_ACCOUNT: '3' }),
        { log: pino({ level: 'silent' }) },
      );
      try {
        const r = await fetch(`${second.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: person.email, password: PASSWORD }) });
        expect(r.status).toBe(429);
      } finally {
        await second.stop();
      }
    });
  });

  describe('8: idempotency scope', () => {
    it('scopes keys per acting user: a second token and the admin acting as the user replay; the admin alone is its own scope', async () => {
      const { client, contractor } = await newParties(s);
      const second = await s.admin.post(`/v1/users/${client.id}/tokens`, { name: 'second' });
      const body = { title: 'Once', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow' };
      const key = { 'idempotency-key': `scope-${Date.now()}` };
      const first = await client.api.post('/v1/contracts', body, key);
      expect(first.status).toBe(201);
      const viaSecond = await s.api.as(second.body.token).post('/v1/contracts', body, key);
      expect(viaSecond.status).toBe(201);
      expect(viaSecond.body.id).toBe(first.body.id);
      expect(viaSecond.headers.get('idempotent-replayed')).toBe('true');
      const viaAdmin = await s.admin.actingAs(client.id).post('/v1/contracts', body, key);
      expect(viaAdmin.body.id).toBe(first.body.id);
      expect(viaAdmin.headers.get('idempotent-replayed')).toBe('true');
      const adminAlone = await s.admin.post('/v1/contracts', body, key);
      expect(adminAlone.headers.get('idempotent-replayed')).toBeNull();
      const other = await contractor.api.post('/v1/contracts', body, key);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      const [n] = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM contracts WHERE client_id = $1 AND title = 'Once'", [client.id]);
      expect(n!.n).toBe(2); // the client's one, and the contractor's own
    });

    it('treats a missing body and {} as the same body', async () => {
      const { client, contractor } = await newParties(s);
      const c = await client.api.post('/v1/contracts', { title: 'Body', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow' });
      const key = { 'idempotency-key': `body-${Date.now()}` };
      const first = await contractor.api.post(`/v1/contracts/${c.body.id}/activate`, undefined, key);
      expect(first.status).toBe(200);
      const again = await contractor.api.post(`/v1/contracts/${c.body.id}/activate`, {}, key);
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });
  });

  describe('10: slow inputs and upload quotas', () => {
    /** Opens a raw connection, sends `head`, then one byte of `trickle` every 250 ms; resolves when the server closes. */
    const trickle = (head: string, bytes: string) =>
      new Promise<{ closedAfterMs: number; answer: string }>((resolve, reject) => {
        const { port } = new URL(s.url);
        const t0 = Date.now();
        let answer = '';
        const sock = connect(Number(port), '127.0.0.1', () => {
          sock.write(head);
          let i = 0;
          const timer = setInterval(() => {
            if (sock.destroyed || i >= bytes.length) return clearInterval(timer);
            sock.write(bytes[i++]!);
          }, 250);
          sock.on('close', () => clearInterval(timer));
        });
        sock.on('data', (d) => (answer += d.toString()));
        sock.on('error', () => undefined);
        sock.on('close', () => resolve({ closedAfterMs: Date.now() - t0, answer }));
        setTimeout(() => {
          sock.destroy();
          reject(new Error(`the connection was still open after 8 s; got: ${answer.slice(0, 200)}`));
        }, 8_000).unref();
      });

    it('closes a connection whose body trickles in slower than the request timeout', async () => {
      const body = JSON.stringify({ title: 'slow', clientId: 'usr_x' }).padEnd(200, ' ');
      const r = await trickle(`POST /v1/contracts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body);
      expect(r.closedAfterMs).toBeLessThan(5_000);
    });

    it('closes a connection whose headers trickle in', async () => {
      const r = await trickle('GET /healthz HTTP/1.1\r\n', 'X-Slow: ' + 'a'.repeat(100));
      expect(r.closedAfterMs).toBeLessThan(5_000);
    });

    it('announces the keep-alive timeout', async () => {
      const r = await fetch(`${s.url}/healthz`);
      expect(r.headers.get('keep-alive')).toBe('timeout=2');
    });

    it('limits the number of files a user uploads per day', async () => {
      const u = await newUser(s, 'many-files');
      for (let i = 0; i < 4; i++) expect((await upload(u.token, `f${i}.txt`)).status).toBe(201);
      const fifth = await upload(u.token, 'f4.txt');
      expect(fifth.status).toBe(429);
      expect(fifth.body.code).toBe('upload_quota_exceeded');
      expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(0);
      // Someone else is not affected.
      expect((await upload((await newUser(s, 'other-uploader')).token, 'mine.txt')).status).toBe(201);
    });

    it('limits the bytes a user uploads per day', async () => {
      const u = await newUser(s, 'big-files');
      expect((await upload(u.token, 'a.txt', 'a'.repeat(30_000))).status).toBe(201);
      const over = await upload(u.token, 'b.txt', 'b'.repeat(15_000));
      expect(over.status).toBe(429);
      expect(over.body.code).toBe('upload_quota_exceeded');
      expect((await upload(u.token, 'c.txt', 'c'.repeat(5_000))).status).toBe(201);
    });
  });
});

describe('CSRF with TRANCHE_PUBLIC_URL', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('pglite', { TRANCHE_PUBLIC_URL: 'https://tranche.example.com' });
  });
  afterAll(async () => s?.stop());

  it('takes the public URL as the app\'s own origin', async () => {
    const email = `public-${Date.now()}@example.com`;
    expect((await s.admin.post('/v1/users', { email, name: 'P', password: PASSWORD })).status).toBe(201);
    const r = await s.api.as(null).post('/v1/auth/login', { email, password: PASSWORD }, { origin: 'https://tranche.example.com' });
    expect(r.status).toBe(200);
    const cookie = /tranche_session=[^;]+/.exec(r.headers.get('set-cookie')!)![0];
    const own = await s.api.as(null, { cookie }).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' }, { origin: 'https://tranche.example.com' });
    expect(own.status).toBe(200);
    const byHost = await s.api.as(null, { cookie }).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' }, { origin: s.url });
    expect(byHost.status).toBe(403);
    expect(byHost.body.code).toBe('csrf_refused');
  });
});
