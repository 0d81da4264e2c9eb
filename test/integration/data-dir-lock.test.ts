import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/client.ts';
import { DataDirLockedError } from '../../src/db/data-dir-lock.ts';
import { startServer } from '../../src/server.ts';
import { Api } from '../support/harness.ts';

/** Defect 1 of the Trust issue: one process owns an embedded data folder; the CLI writes through it. */

const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tranche-lock-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Outcome = { code: number | null; stdout: string; stderr: string; ms: number };
/** Runs the CLI as a child process; a command that does not end within `timeout` ms is killed (code null). */
async function cli(args: string[], env: Record<string, string>, timeout = 30_000): Promise<Outcome> {
  const started = Date.now();
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', PORT: '0', TRANCHE_WORKER: '0', ...env },
      timeout,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : null, stdout: err.stdout ?? '', stderr: err.stderr ?? '', ms: Date.now() - started };
  }
}

const embedded = (dir: string) => loadConfig({ PORT: '0', HOST: '127.0.0.1', TRANCHE_DATA_DIR: dir, TRANCHE_WORKER: '0', LOG_LEVEL: 'silent' });

describe('one process owns an embedded data folder', () => {
  it('a second open of the folder in the same process is refused before PGlite starts', async () => {
    const dir = tmp();
    const first = await openDb({ dataDir: dir });
    const t0 = Date.now();
    const second = await openDb({ dataDir: dir }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DataDirLockedError);
    expect((second as DataDirLockedError).pid).toBe(process.pid);
    expect(Date.now() - t0).toBeLessThan(1000); // refused at once, not after starting PGlite
    await first.close();
    const again = await openDb({ dataDir: dir }); // released on close
    await again.close();
  }, 60_000);

  it('a second serve, a worker and migrate refuse naming the owner; users and tokens are created through the running server and survive a restart', async () => {
    const dir = tmp();
    const server = await startServer(embedded(dir), { log: pino({ level: 'silent' }) });
    try {
      const info = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8'));
      expect(info).toMatchObject({ pid: process.pid, url: server.url });

      for (const args of [['serve'], ['worker'], ['migrate']]) {
        const r = await cli(args, { TRANCHE_DATA_DIR: dir }, 20_000);
        expect(r.code, `${args[0]} must refuse: ${r.stdout} ${r.stderr}`).not.toBe(0);
        expect(r.code).not.toBeNull(); // it exited by itself, it was not killed at the timeout
        expect(r.stderr).toContain(`pid ${process.pid}`);
      }

      const u = await cli(['users', 'create', '--email', 'carol@x.test', '--name', 'Carol'], { TRANCHE_DATA_DIR: dir });
      expect(u.code, u.stderr).toBe(0);
      const carol = JSON.parse(u.stdout);
      expect(carol.id).toMatch(/^usr_/);
      const admin = new Api(server.url).as(server.adminToken);
      expect((await admin.get(`/v1/users/${carol.id}`)).body.email).toBe('carol@x.test');

      const t = await cli(['tokens', 'create', '--user', carol.id], { TRANCHE_DATA_DIR: dir });
      expect(t.code, t.stderr).toBe(0);
      const token = JSON.parse(t.stdout).token as string;
      expect((await new Api(server.url).as(token).get('/v1/me')).body.user.id).toBe(carol.id);

      const dup = await cli(['users', 'create', '--email', 'CAROL@x.test', '--name', 'Again'], { TRANCHE_DATA_DIR: dir });
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/email_taken/);
    } finally {
      await server.stop();
    }
    expect(existsSync(join(dir, 'server.json'))).toBe(false);

    const again = await startServer(embedded(dir), { log: pino({ level: 'silent' }) });
    try {
      const users = await again.db.query<{ email: string }>('SELECT email FROM users ORDER BY email');
      expect(users.map((r) => r.email)).toContain('carol@x.test');
    } finally {
      await again.stop();
    }
  }, 180_000);

  it('seed-demo beside a running server seeds through its API', async () => {
    const dir = tmp();
    const server = await startServer(embedded(dir), { log: pino({ level: 'silent' }) });
    try {
      const demo = await cli(['seed-demo'], { TRANCHE_DATA_DIR: dir });
      expect(demo.code, demo.stderr).toBe(0);
      expect(demo.stderr).toMatch(/through the running server/);
      const { clientToken } = JSON.parse(demo.stdout);
      const contracts = await new Api(server.url).as(clientToken).get('/v1/contracts');
      expect(contracts.body.data.length).toBeGreaterThan(0);
      expect((await cli(['seed-demo'], { TRANCHE_DATA_DIR: dir })).stdout).toMatch(/already present/);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('recovers the lock of an owner killed with kill -9, and never writes beside a live one', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      env: { ...process.env, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', TRANCHE_WORKER: '0', TRANCHE_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 60_000;
      while (!/ on (http:\/\/\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const url = / on (http:\/\/\S+)/.exec(out)?.[1];
      expect(url, out).toBeTruthy();

      // Written through the child's API: acknowledged before the kill.
      const before = await cli(['users', 'create', '--email', 'before@x.test', '--name', 'Before'], { TRANCHE_DATA_DIR: dir });
      expect(before.code, before.stderr).toBe(0);
      const w = await cli(['worker'], { TRANCHE_DATA_DIR: dir }, 20_000);
      expect(w.code).not.toBe(0);
      expect(w.code).not.toBeNull();
      expect(w.stderr).toContain(`pid ${child.pid}`);

      child.kill('SIGKILL');
      await exited;
      expect(existsSync(join(dir, 'server.json'))).toBe(true); // left behind by the killed owner

      // No one owns the folder now: the CLI takes the stale lock and writes directly.
      const after = await cli(['users', 'create', '--email', 'after@x.test', '--name', 'After'], { TRANCHE_DATA_DIR: dir });
      expect(after.code, after.stderr).toBe(0);

      const next = await startServer(embedded(dir), { log: pino({ level: 'silent' }) });
      try {
        const emails = (await next.db.query<{ email: string }>('SELECT email FROM users')).map((r) => r.email);
        expect(emails).toEqual(expect.arrayContaining(['before@x.test', 'after@x.test']));
        expect(JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')).pid).toBe(process.pid);
      } finally {
        await next.stop();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
