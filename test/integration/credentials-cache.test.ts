import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/client.ts';
import type { CredentialCache } from '../../src/http/credential-cache.ts';
import { startServer, type Runtime } from '../../src/server.ts';
import { Api, engines, newUser, startTestServer, type TestServer } from '../support/harness.ts';

/**
 * Credentials are cached per process (src/http/credential-cache.ts): a request with a credential
 * this process has seen makes no credential query, and whatever revokes or narrows one — a token
 * revoked, a session ended, a membership changed — is forgotten by this process before it answers
 * and by every other process when the NOTIFY of migration 0025's triggers arrives on commit.
 */

/** Counts the statements that read credentials (api_tokens, sessions) through `db`. */
function credentialQueries(db: Db): () => number {
  let n = 0;
  const query = db.query.bind(db);
  (db as { query: Db['query'] }).query = (sql, params) => {
    if (/\bFROM (api_tokens|sessions)\b/.test(sql)) n++;
    return query(sql, params);
  };
  return () => n;
}

/** Resolves when the cache hears `payload` from the database (a notification of a committed change). */
function hears(cache: CredentialCache, payload: string): Promise<void> {
  return new Promise((resolve) => {
    const forget = cache.forget.bind(cache);
    cache.forget = (p: string) => {
      forget(p);
      if (p === payload) resolve();
    };
  });
}

const servers: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers.reverse()) await s.stop();
});

describe.each(engines())('credentials cache on %s', (engine) => {
  it('a token or session seen before makes no credential query; revoking it refuses it at once', async () => {
    const s = await startTestServer(engine);
    servers.push(s);
    const count = credentialQueries(s.db);
    const user = await newUser(s, 'cached');

    const before = count();
    expect((await user.api.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(before + 1); // read once …
    expect((await user.api.get('/v1/me')).status).toBe(200);
    expect((await user.api.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(before + 1); // … then served from the cache

    // The token's id, for the notification it causes.
    const tokens = await s.admin.get(`/v1/users/${user.id}/tokens`);
    const tokenId: string = tokens.body.data[0].id;
    const notified = hears(s.credentials, `token:${tokenId}`);
    expect((await user.api.del(`/v1/tokens/${tokenId}`)).status).toBe(204);
    expect((await user.api.get('/v1/me')).status).toBe(401);
    await notified; // the trigger's NOTIFY arrived too (on PGlite as on PostgreSQL)

    // A session: logging out ends it at once.
    const pw = await s.admin.post('/v1/users', { email: `pw-${Date.now()}@example.com`, name: 'Pat', password: 'a long enough password' });
    expect(pw.status).toBe(201);
    const login = await fetch(`${s.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: pw.body.email, password: 'a long enough password' }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const session = new Api(s.url).as(null, { cookie, origin: s.url });
    const n = count();
    expect((await session.get('/v1/me')).status).toBe(200);
    expect((await session.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(n + 1);
    expect((await session.post('/v1/auth/logout')).status).toBe(204);
    expect((await session.get('/v1/me')).status).toBe(401);
  });

  it('the cache stops serving when the process stops listening', async () => {
    const s = await startTestServer(engine);
    servers.push(s);
    const users = await Promise.all([1, 2, 3].map((i) => newUser(s, `u${i}`)));
    for (const u of users) expect((await u.api.get('/v1/me')).status).toBe(200);
    expect(s.credentials.size).toBeGreaterThanOrEqual(3);
    s.credentials.setListening(false);
    expect(s.credentials.size).toBe(0);
    const count = credentialQueries(s.db);
    expect((await users[0]!.api.get('/v1/me')).status).toBe(200);
    expect((await users[0]!.api.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(2); // nothing cached while not listening
    s.credentials.setListening(true);
  });
});

describe.runIf(engines().includes('postgres'))('credentials cache across processes on one PostgreSQL database', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A second server on the first one's database (another process, as far as the cache knows). */
  async function beside(a: TestServer): Promise<Runtime & { api: Api }> {
    const dir = mkdtempSync(join(tmpdir(), 'tranche-cache-'));
    dirs.push(dir);
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', TRANCHE_DATA_DIR: dir, LOG_LEVEL: 'silent', TRANCHE_TEST_CLOCK: '1', TRANCHE_WORKER: '0', TRANCHE_CHECK_RESPONSES: '1', DATABASE_URL: a.databaseUrl! });
    const rt = await startServer(config, { log: pino({ level: 'silent' }) });
    servers.push(rt);
    return { ...rt, api: new Api(rt.url) };
  }

  it('a token revoked through one process is refused by the other as soon as the notification arrives; a membership reaches it too', async () => {
    const a = await startTestServer('postgres');
    servers.push(a);
    const b = await beside(a);
    const user = await newUser(a, 'both');
    const onB = b.api.as(user.token);
    const count = credentialQueries(b.db);
    expect((await onB.get('/v1/me')).status).toBe(200);
    expect((await onB.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(1); // B caches it

    // An organisation created through A makes the user its owner: B learns of the membership.
    const joined = hears(b.credentials, `user:${user.id}`);
    const org = await user.api.post('/v1/organizations', { name: 'Acme' });
    expect(org.status).toBe(201);
    await joined;
    expect((await onB.get(`/v1/organizations/${org.body.id}`)).status).toBe(200);

    // Revoked through A: B forgets it when the notification arrives (no query needed to learn it).
    const tokenId: string = (await a.admin.get(`/v1/users/${user.id}/tokens`)).body.data[0].id;
    const revoked = hears(b.credentials, `token:${tokenId}`);
    expect((await a.admin.del(`/v1/tokens/${tokenId}`)).status).toBe(204);
    await revoked;
    expect((await onB.get('/v1/me')).status).toBe(401);
  });

  it('a dropped listening connection clears the cache when it is back (notifications may have been missed)', async () => {
    const a = await startTestServer('postgres');
    servers.push(a);
    const b = await beside(a);
    const user = await newUser(a, 'drop');
    const onB = b.api.as(user.token);
    expect((await onB.get('/v1/me')).status).toBe(200);
    expect(b.credentials.size).toBeGreaterThan(0);

    const back = new Promise<void>((resolve) => {
      const set = b.credentials.setListening.bind(b.credentials);
      b.credentials.setListening = (on: boolean) => {
        set(on);
        if (on) resolve();
      };
    });
    const admin = new pg.Client({ connectionString: a.databaseUrl! });
    await admin.connect();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN "tranche_credentials"' AND pid <> pg_backend_pid()`);
      expect(killed.rowCount).toBe(2); // A's and B's listening connections
    } finally {
      await admin.end();
    }
    await back;
    expect(b.credentials.size).toBe(0);
    const count = credentialQueries(b.db);
    expect((await onB.get('/v1/me')).status).toBe(200);
    expect(count()).toBe(1);
  });
});
