import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, newUser, startTestServer, type TestServer } from '../support/harness.ts';

describe.each(engines())('foundation on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('serves health, readiness, OpenAPI 3.1 and the API reference', async () => {
    const anon = s.api.as(null);
    expect((await anon.get('/healthz')).status).toBe(200);
    const ready = await anon.get('/readyz');
    expect(ready.body).toMatchObject({ status: 'ready', database: engine === 'postgres' ? 'postgres' : 'pglite' });
    const doc = await anon.get('/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/v1/contracts/{id}');
    const docs = await fetch(`${s.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('<html');
  });

  it('publishes an OpenAPI document whose references resolve and where every route has examples', async () => {
    const doc = (await s.api.as(null).get('/openapi.json')).body;
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(doc.components.schemas[r], r).toBeDefined();
    const withExample = (node: unknown): boolean => {
      const t = JSON.stringify(node);
      if (t.includes('"example')) return true;
      return [...t.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].some((m) => JSON.stringify(doc.components.schemas[m[1]!]).includes('"example'));
    };
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(methods)) expect(withExample(op), `${method.toUpperCase()} ${path}`).toBe(true);
    }
  });

  it('lets the admin token create a user and a token that authenticates as that user', async () => {
    const u = await s.admin.post('/v1/users', { email: 'Ada@Example.com', name: 'Ada', password: 'a long enough password' });
    expect(u.status).toBe(201);
    expect(u.body).toMatchObject({ email: 'ada@example.com', name: 'Ada', hasPassword: true });
    expect(u.body.id).toMatch(/^usr_/);
    const dup = await s.admin.post('/v1/users', { email: 'ada@example.com', name: 'Ada again' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('email_taken');
    const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, { name: 'laptop' });
    expect(t.status).toBe(201);
    const me = await s.api.as(t.body.token).get('/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(u.body.id);
    expect(me.body.admin).toBe(false);
  });

  it('revokes tokens: a revoked token is refused with 401', async () => {
    const u = await newUser(s, 'revokee');
    expect((await u.api.get('/v1/me')).status).toBe(200);
    const list = await s.admin.post(`/v1/users/${u.id}/tokens`, {});
    const del = await s.api.as(list.body.token).del(`/v1/tokens/${list.body.id}`);
    expect(del.status).toBe(204);
    const after = await s.api.as(list.body.token).get('/v1/me');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthenticated');
    expect((await u.api.get('/v1/me')).status).toBe(200);
  });

  it('answers bad credentials with 401 problems', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope-not-a-token' }, { authorization: 'Basic abc' }, { authorization: 'Bearer trk_' + 'x'.repeat(43) }];
    for (const headers of attempts) {
      const r = await s.api.as(null, headers).get('/v1/me');
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body).toMatchObject({ status: 401, code: 'unauthenticated' });
      expect(r.body.type).toMatch(/^https:\/\//);
    }
  });

  it('logs in with a password, sets an httpOnly SameSite cookie and logs out', async () => {
    const email = `login-${Date.now()}@example.com`;
    await s.admin.post('/v1/users', { email, name: 'Lou', password: 'correct horse battery' });
    const bad = await s.api.as(null).post('/v1/auth/login', { email, password: 'wrong password!' });
    expect(bad.status).toBe(401);
    const ok = await s.api.as(null).post('/v1/auth/login', { email, password: 'correct horse battery' });
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/tranche_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const session = cookie.split(';')[0]!;
    const me = await s.api.as(null, { cookie: session }).get('/v1/me');
    expect(me.body.user.email).toBe(email);
    expect((await s.api.as(null, { cookie: session }).post('/v1/auth/logout')).status).toBe(204);
    expect((await s.api.as(null, { cookie: session }).get('/v1/me')).status).toBe(401);
  });

  it('lets the admin act for a user of its platform, and refuses Acting-User otherwise', async () => {
    const u = await newUser(s, 'acted');
    const me = await s.admin.actingAs(u.id).get('/v1/me');
    expect(me.body.user.id).toBe(u.id);
    const unknown = await s.admin.actingAs('usr_01aaaaaaaaaaaaaaaaaaaaaaaa').get('/v1/me');
    expect(unknown.status).toBe(403);
    expect(unknown.body.errors[0].field).toBe('Acting-User');
    const malformed = await s.admin.actingAs('not-a-user').get('/v1/me');
    expect(malformed.status).toBe(422);
    const other = await newUser(s, 'other');
    const userActing = await u.api.actingAs(other.id).get('/v1/me');
    expect(userActing.status).toBe(403);
  });

  it('refuses an Acting-User from another platform', async () => {
    const otherPlatform = 'plt_01bbbbbbbbbbbbbbbbbbbbbbbb';
    const now = new Date();
    await s.db.query("INSERT INTO platforms (id, name, created_at, updated_at) VALUES ($1, 'Other', $2, $2)", [otherPlatform, now]);
    await s.db.query("INSERT INTO users (id, platform_id, email, email_normalized, name, created_at, updated_at) VALUES ('usr_01cccccccccccccccccccccccc', $1, 'o@example.com', 'o@example.com', 'O', $2, $2)", [otherPlatform, now]);
    const r = await s.admin.actingAs('usr_01cccccccccccccccccccccccc').get('/v1/me');
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('forbidden');
  });

  describe('bad input gets a 4xx problem naming the field, and changes nothing', () => {
    const countUsers = async () => (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users'))[0]!.n;

    it.each([
      ['malformed JSON', '{"email": "a@example.com",', 400, 'malformed_request', undefined],
      ['wrong type', { email: 'a@example.com', name: 42 }, 422, 'validation_failed', 'name'],
      ['unknown field', { email: 'a@example.com', name: 'A', admin: true }, 422, 'validation_failed', 'admin'],
      ['missing field', { email: 'a@example.com' }, 422, 'validation_failed', 'name'],
      ['bad email', { email: 'not an email', name: 'A' }, 422, 'validation_failed', 'email'],
      ['short password', { email: 'a@example.com', name: 'A', password: 'short' }, 422, 'validation_failed', 'password'],
      ['NUL character', '{"email":"a@example.com","name":"A\\u0000B"}', 422, 'validation_failed', 'name'],
      ['prototype pollution', '{"email":"a@example.com","name":"A","__proto__":{"x":1}}', 400, 'malformed_request', undefined],
    ])('%s', async (_name, body, status, code, field) => {
      const before = await countUsers();
      const r = await s.admin.post('/v1/users', body);
      expect(r.status).toBe(status);
      expect(r.body.code).toBe(code);
      if (field) expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await countUsers()).toBe(before);
    });

    it('oversize body', async () => {
      const before = await countUsers();
      const r = await s.admin.post('/v1/users', { email: 'big@example.com', name: 'x'.repeat(400_000) });
      expect(r.status).toBe(413);
      expect(r.body.code).toBe('payload_too_large');
      expect(await countUsers()).toBe(before);
    });

    it('wrong content type', async () => {
      const r = await s.admin.post('/v1/users', 'email=a', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(r.status).toBe(415);
      expect(r.body.code).toBe('unsupported_media_type');
    });

    it('a user token may not create users', async () => {
      const u = await newUser(s, 'plain');
      const before = await countUsers();
      const r = await u.api.post('/v1/users', { email: 'sneaky@example.com', name: 'S' });
      expect(r.status).toBe(403);
      expect(await countUsers()).toBe(before);
    });

    it('unknown routes are 404 problems', async () => {
      const r = await s.admin.get('/v1/nothing-here');
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('not_found');
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body, refuses another body, and runs once', async () => {
      const email = `idem-${Date.now()}@example.com`;
      const first = await s.admin.post('/v1/users', { email, name: 'Idem' }, { 'idempotency-key': 'k-create-1' });
      expect(first.status).toBe(201);
      const again = await s.admin.post('/v1/users', { name: 'Idem', email }, { 'idempotency-key': 'k-create-1' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const other = await s.admin.post('/v1/users', { email: `x${email}`, name: 'Other' }, { 'idempotency-key': 'k-create-1' });
      expect(other.status).toBe(422);
      expect(other.body.code).toBe('idempotency_key_reused');
      const n = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email_normalized = $1', [email]);
      expect(n[0]!.n).toBe(1);
    });

    it('replays a 4xx answer too', async () => {
      const a = await s.admin.post('/v1/users', { email: 'bad', name: 'X' }, { 'idempotency-key': 'k-bad-1' });
      // Schema failures happen before the command: they are answered, not stored as outcomes.
      expect(a.status).toBe(422);
      const dupEmail = `dup-${Date.now()}@example.com`;
      await s.admin.post('/v1/users', { email: dupEmail, name: 'D' });
      const b = await s.admin.post('/v1/users', { email: dupEmail, name: 'D' }, { 'idempotency-key': 'k-dup' });
      expect(b.body.code).toBe('email_taken');
      const c = await s.admin.post('/v1/users', { email: dupEmail, name: 'D' }, { 'idempotency-key': 'k-dup' });
      expect(c.status).toBe(409);
      expect(c.headers.get('idempotent-replayed')).toBe('true');
    });

    it('executes two concurrent requests with one key once', async () => {
      const email = `race-${Date.now()}@example.com`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => s.admin.post('/v1/users', { email, name: 'Race' }, { 'idempotency-key': `k-race-${email}` })),
      );
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      for (const r of results) expect([201, 409]).toContain(r.status);
      const n = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email_normalized = $1', [email]);
      expect(n[0]!.n).toBe(1);
    });

    it('refuses a malformed key', async () => {
      const r = await s.admin.post('/v1/users', { email: `k-${Date.now()}@example.com`, name: 'K' }, { 'idempotency-key': 'x'.repeat(300) });
      expect(r.status).toBe(422);
      expect(r.body.errors[0].field).toBe('Idempotency-Key');
    });
  });

  it('sets security headers and a request id', async () => {
    const r = await s.admin.get('/v1/me', { 'x-request-id': 'trace-123' });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBeTruthy();
  });

  // Last in the file: it uses up this address's login allowance.
  it('rate-limits login attempts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await s.api.as(null).post('/v1/auth/login', { email: 'nobody@example.com', password: 'guess-' + i })).status);
    expect(statuses).toContain(401);
    const limited = await s.api.as(null).post('/v1/auth/login', { email: 'nobody@example.com', password: 'again' });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
  });
});
