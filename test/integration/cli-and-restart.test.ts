import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDb, MAX_TX_ATTEMPTS } from '../../src/db/client.ts';
import { startServer } from '../../src/server.ts';
import { engines, Api } from '../support/harness.ts';
import pino from 'pino';
import { inject } from 'vitest';

const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tranche-cli-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['bin/tranche.mjs', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });

describe('CLI', () => {
  it('migrates, creates a user and a token on the embedded database', async () => {
    const dir = tmp();
    // No template cache (src/db/embedded.ts): the folder is made from scratch and every migration applied.
    const m = await cli(['migrate'], { TRANCHE_DATA_DIR: dir, XDG_CACHE_HOME: '/dev/null' });
    expect(m.stdout).toMatch(/applied: 0001_identity\.sql/);
    const again = await cli(['migrate'], { TRANCHE_DATA_DIR: dir });
    expect(again.stdout).toMatch(/up to date/);
    const u = JSON.parse((await cli(['users', 'create', '--email', 'cli@example.com', '--name', 'Cli'], { TRANCHE_DATA_DIR: dir })).stdout);
    expect(u.id).toMatch(/^usr_/);
    const t = JSON.parse((await cli(['tokens', 'create', '--user', u.id], { TRANCHE_DATA_DIR: dir })).stdout);
    expect(t.token).toMatch(/^trk_/);
    const dup = await cli(['users', 'create', '--email', 'CLI@example.com', '--name', 'Again'], { TRANCHE_DATA_DIR: dir }).catch((e: { code: number; stderr: string }) => e);
    expect((dup as { code: number }).code).toBe(1);
    expect((dup as { stderr: string }).stderr).toMatch(/email_taken/);
  }, 120_000);

  it('stops with a clear message on a bad configuration value', async () => {
    const r = await cli(['migrate'], { PORT: 'not-a-port' }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/PORT/);
  }, 60_000);
});

describe('embedded data survives a restart', () => {
  it('keeps users, tokens and the generated admin token', async () => {
    const dir = tmp();
    const config = loadConfig({ PORT: '0', TRANCHE_DATA_DIR: dir, TRANCHE_WORKER: '0', LOG_LEVEL: 'silent' });
    let printed: string | null = null;
    const first = await startServer(config, { log: pino({ level: 'silent' }), onAdminToken: (t) => (printed = t) });
    expect(printed).toBe(first.adminToken);
    expect(statSync(join(dir, 'admin-token')).mode & 0o777).toBe(0o600);
    const admin = new Api(first.url).as(first.adminToken);
    const u = await admin.post('/v1/users', { email: 'keep@example.com', name: 'Keep' });
    const t = await admin.post(`/v1/users/${u.body.id}/tokens`);
    await first.stop();

    printed = null;
    const second = await startServer(config, { log: pino({ level: 'silent' }), onAdminToken: (tok) => (printed = tok) });
    expect(printed).toBeNull(); // printed once, at first start only
    expect(second.adminToken).toBe(readFileSync(join(dir, 'admin-token'), 'utf8').trim());
    const me = await new Api(second.url).as(t.body.token).get('/v1/me');
    expect(me.body.user.email).toBe('keep@example.com');
    // Without TRANCHE_TEST_CLOCK=1 the test-clock routes do not exist.
    const admin2 = new Api(second.url).as(second.adminToken);
    expect((await admin2.put('/v1/admin/clock', { now: '2030-01-01T00:00:00Z' })).status).toBe(404);
    expect((await admin2.post('/v1/admin/jobs/run')).status).toBe(404);
    await second.stop();
  }, 120_000);
});

describe.runIf(engines().includes('postgres'))('PostgreSQL transactions', () => {
  it('retries a serialization failure a bounded number of times', async () => {
    const url = inject('postgresUrl')!;
    const db = await openDb({ databaseUrl: url, dataDir: tmp() });
    let calls = 0;
    const value = await db.tx(async (tx) => {
      calls++;
      await tx.query('select 1');
      if (calls < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      return 'done';
    });
    expect(value).toBe('done');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      db.tx(async () => {
        calls++;
        throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      }),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(calls).toBe(MAX_TX_ATTEMPTS);
    await db.close();
  });
});
