import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type Runtime } from '../../src/server.ts';
import { Api, engines, newUser, startTestServer, type Engine } from '../support/harness.ts';
import { createDatabase } from '../support/reliability-helpers.ts';

/** Defect 6 of the Trust issue: admin tokens are rows that can be listed, revoked and rotated; nothing mints one silently. */

const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tranche-admin-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const A = 'env_admin_token_aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'env_admin_token_bbbbbbbbbbbbbbbbbbbbbbbb';

/** A database that outlives its servers: a data folder for PGlite, a PostgreSQL database otherwise. */
async function durableDb(engine: Engine) {
  if (engine === 'pglite') {
    const dir = tmp();
    return { env: (dataDir = dir) => ({ TRANCHE_DATA_DIR: dataDir }), drop: async () => undefined };
  }
  const db = await createDatabase('tranche_admin');
  return { env: (dataDir = tmp()) => ({ TRANCHE_DATA_DIR: dataDir, DATABASE_URL: db.url }), drop: db.drop };
}

const start = (env: Record<string, string>, onAdminToken?: (t: string) => void): Promise<Runtime> =>
  startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', TRANCHE_WORKER: '0', LOG_LEVEL: 'silent', ...env }), { log: pino({ level: 'silent' }), onAdminToken });

async function cli(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', PORT: '0', ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? null, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe.each(engines())('admin tokens on %s', (engine) => {
  it('are listed (never their values), created, rotated and revoked by the admin only', async () => {
    const s = await startTestServer(engine);
    try {
      const list = await s.admin.get('/v1/admin/tokens');
      expect(list.status).toBe(200);
      expect(list.body.data).toHaveLength(1);
      expect(list.body.data[0]).toMatchObject({ origin: 'first_start', lastFour: s.adminToken!.slice(-4), revokedAt: null, current: true });
      expect(JSON.stringify(list.body)).not.toContain(s.adminToken!);
      expect(list.body.data[0]).not.toHaveProperty('token');
      const firstId = list.body.data[0].id;

      const made = await s.admin.post('/v1/admin/tokens', { name: 'ops backend' });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ name: 'ops backend', origin: 'issued', current: false });
      const ops = s.api.as(made.body.token);
      expect((await ops.get('/v1/me')).body.admin).toBe(true);

      const rotated = await ops.post(`/v1/admin/tokens/${made.body.id}/rotate`);
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({ replaces: made.body.id, name: 'ops backend' });
      expect((await ops.get('/v1/me')).status).toBe(401);
      const ops2 = s.api.as(rotated.body.token);
      expect((await ops2.get('/v1/users/usr_01jdq4z9v6x7m3k8t2w5r1c0aa')).status).toBe(404); // works as admin

      expect((await s.admin.del(`/v1/admin/tokens/${rotated.body.id}`)).status).toBe(204);
      expect((await ops2.get('/v1/me')).status).toBe(401);
      const again = await s.admin.del(`/v1/admin/tokens/${rotated.body.id}`);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('invalid_state');

      // The last live admin token cannot be revoked: nobody could make another through the API.
      const last = await s.admin.del(`/v1/admin/tokens/${firstId}`);
      expect(last.status).toBe(409);
      expect((await s.admin.get('/v1/me')).body.admin).toBe(true);

      const after = await s.admin.get('/v1/admin/tokens?limit=2');
      expect(after.body.data.map((t: { id: string }) => t.id)).toEqual([firstId, made.body.id]);
      expect(after.body.nextCursor).toBeTruthy();
      const rest = await s.admin.get(`/v1/admin/tokens?limit=2&cursor=${after.body.nextCursor}`);
      expect(rest.body.data.map((t: { id: string }) => t.id)).toEqual([rotated.body.id]);
      expect(rest.body.nextCursor).toBeNull();

      // Users: 403 on every route; unknown ids and user tokens' ids: 404 for the admin.
      const user = await newUser(s, 'plain');
      expect((await user.api.get('/v1/admin/tokens')).status).toBe(403);
      expect((await user.api.post('/v1/admin/tokens', {})).status).toBe(403);
      expect((await user.api.del(`/v1/admin/tokens/${firstId}`)).status).toBe(403);
      expect((await user.api.post(`/v1/admin/tokens/${firstId}/rotate`)).status).toBe(403);
      expect((await s.admin.actingAs(user.id).get('/v1/admin/tokens')).status).toBe(403);
      const [userToken] = await s.db.query<{ id: string }>("SELECT id FROM api_tokens WHERE kind = 'user' LIMIT 1");
      expect((await s.admin.del(`/v1/admin/tokens/${userToken!.id}`)).status).toBe(404);
      expect((await s.admin.post(`/v1/admin/tokens/${userToken!.id}/rotate`)).status).toBe(404);
      expect((await s.admin.del('/v1/admin/tokens/tok_01jdq4z9v6x7m3k8t2w5r1c0aa')).status).toBe(404);

      const doc = (await s.api.as(null).get('/openapi.json')).body;
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/admin/tokens', '/v1/admin/tokens/{id}', '/v1/admin/tokens/{id}/rotate']));
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('TRANCHE_ADMIN_TOKEN bootstraps one token; a new value revokes the old one; a revoked value stays revoked', async () => {
    const db = await durableDb(engine);
    try {
      const first = await start({ ...db.env(), TRANCHE_ADMIN_TOKEN: A });
      const a = new Api(first.url).as(A);
      expect((await a.get('/v1/me')).body.admin).toBe(true);
      expect((await a.get('/v1/admin/tokens')).body.data).toEqual([expect.objectContaining({ origin: 'env', current: true, revokedAt: null })]);
      await first.stop();

      const second = await start({ ...db.env(), TRANCHE_ADMIN_TOKEN: B });
      expect((await new Api(second.url).as(A).get('/v1/me')).status).toBe(401);
      const b = new Api(second.url).as(B);
      const list = (await b.get('/v1/admin/tokens')).body.data;
      expect(list).toHaveLength(2);
      expect(list[0]).toMatchObject({ origin: 'env', revokedAt: expect.any(String) });
      expect(list[1]).toMatchObject({ origin: 'env', revokedAt: null, current: true });
      // An operator rotates the environment's token: the old value must not come back at the next start.
      const rotated = await b.post(`/v1/admin/tokens/${list[1].id}/rotate`);
      expect(rotated.status).toBe(201);
      await second.stop();

      const third = await start({ ...db.env(), TRANCHE_ADMIN_TOKEN: B });
      expect(third.adminToken).toBeNull();
      expect((await new Api(third.url).as(B).get('/v1/me')).status).toBe(401);
      expect((await new Api(third.url).as(rotated.body.token).get('/v1/me')).body.admin).toBe(true);
      await third.stop();
    } finally {
      await db.drop();
    }
  }, 120_000);

  it('a database that has an admin token never gets a new one because a process has an empty data folder', async () => {
    const db = await durableDb(engine);
    try {
      const printed: string[] = [];
      const dir1 = tmp();
      const first = await start(db.env(dir1), (t) => printed.push(t));
      expect(printed).toEqual([first.adminToken]); // the first start prints it once
      const token = first.adminToken!;
      let second: Runtime;
      const dir2 = tmp();
      if (engine === 'postgres') {
        // Another API process on the same database, with a data folder of its own.
        second = await start(db.env(dir2), (t) => printed.push(t));
      } else {
        // The embedded database lives in its folder: lose the token file and restart.
        await first.stop();
        rmSync(join(dir1, 'admin-token'));
        second = await start(db.env(dir1), (t) => printed.push(t));
      }
      expect(printed).toHaveLength(1);
      expect(second.adminToken).toBeNull();
      expect(existsSync(join(engine === 'postgres' ? dir2 : dir1, 'admin-token'))).toBe(false);
      const rows = await second.db.query<{ n: number }>("SELECT count(*) AS n FROM api_tokens WHERE kind = 'admin'");
      expect(rows[0]!.n).toBe(1);
      expect((await new Api(second.url).as(token).get('/v1/me')).body.admin).toBe(true);
      await second.stop();
      if (engine === 'postgres') await first.stop();
    } finally {
      await db.drop();
    }
  }, 120_000);
});

describe('tranche tokens admin', () => {
  it('lists, creates, rotates and revokes through a running embedded server, keeping the data folder copy current, then directly', async () => {
    const dir = tmp();
    const server = await start({ TRANCHE_DATA_DIR: dir });
    const env = { TRANCHE_DATA_DIR: dir };
    let created: { id: string; token: string };
    try {
      const list = await cli(['tokens', 'admin', 'list', '--json'], env);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stderr).toMatch(/through the running server/);
      const [kept] = JSON.parse(list.stdout);
      expect(kept).toMatchObject({ origin: 'first_start', current: true });

      const c = await cli(['tokens', 'admin', 'create', '--name', 'ops'], env);
      expect(c.code, c.stderr).toBe(0);
      created = JSON.parse(c.stdout);
      expect((await new Api(server.url).as(created.token).get('/v1/me')).body.admin).toBe(true);

      const r = await cli(['tokens', 'admin', 'rotate', kept.id], env);
      expect(r.code, r.stderr).toBe(0);
      const fresh = JSON.parse(r.stdout).token as string;
      expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toBe(fresh);
      expect((await new Api(server.url).as(server.adminToken).get('/v1/me')).status).toBe(401);
      expect((await new Api(server.url).as(fresh).get('/v1/me')).body.admin).toBe(true);

      const human = await cli(['tokens', 'admin', 'list'], env); // still reaches the server, with the new copy
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^\* tok_/m);
      expect(human.stdout).not.toContain(fresh);

      const v = await cli(['tokens', 'admin', 'revoke', created.id], env);
      expect(v.code, v.stderr).toBe(0);
      expect((await new Api(server.url).as(created.token).get('/v1/me')).status).toBe(401);
    } finally {
      await server.stop();
    }
    // No server owns the folder: the same commands work on the database directly.
    const direct = await cli(['tokens', 'admin', 'list', '--json'], env);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stderr).not.toMatch(/through the running server/);
    const all = JSON.parse(direct.stdout) as { id: string; current: boolean; revokedAt: string | null }[];
    expect(all).toHaveLength(3);
    expect(all.filter((t) => t.current)).toHaveLength(1);
    const made = await cli(['tokens', 'admin', 'create'], env);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).token).toMatch(/^trk_/);
  }, 180_000);

  it.runIf(engines().includes('postgres'))('works directly on PostgreSQL', async () => {
    const db = await createDatabase('tranche_admin_cli');
    try {
      const env = { DATABASE_URL: db.url, TRANCHE_DATA_DIR: tmp(), TRANCHE_ADMIN_TOKEN: A };
      const server = await start(env); // bootstraps the env token
      const c = await cli(['tokens', 'admin', 'create', '--name', 'cli'], env);
      expect(c.code, c.stderr).toBe(0);
      const { id, token } = JSON.parse(c.stdout);
      expect((await new Api(server.url).as(token).get('/v1/me')).body.admin).toBe(true);
      const list = JSON.parse((await cli(['tokens', 'admin', 'list', '--json'], env)).stdout);
      expect(list).toEqual([expect.objectContaining({ origin: 'env', current: true }), expect.objectContaining({ id, origin: 'issued', current: false })]);
      expect((await cli(['tokens', 'admin', 'revoke', id], env)).code).toBe(0);
      expect((await new Api(server.url).as(token).get('/v1/me')).status).toBe(401);
      await server.stop();
    } finally {
      await db.drop();
    }
  }, 120_000);
});
