import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { engines, freshDatabase } from '../support/harness.ts';
import { ROOT, spawnCli } from '../support/cli-server.ts';

/**
 * `tranche serve --processes N` (src/cluster.ts): N processes share one port on PostgreSQL, each
 * with its worker; the primary migrates and recovers once before forking; SIGTERM stops them all.
 */
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tranche-procs-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.runIf(engines().includes('postgres'))('serve --processes 2 on PostgreSQL', () => {
  it('answers from two processes on one port, runs a lifecycle through both, replaces one that dies, and stops them all on SIGTERM', async () => {
    const db = await freshDatabase();
    const admin = `procs_admin_${Date.now()}_abcdefghijklmnopqrstuvwxyz`;
    try {
      const server = await spawnCli(['--import', 'tsx', 'src/cli.ts', 'serve', '--processes', '2'], { TRANCHE_DATA_DIR: tmp(), DATABASE_URL: db.url, TRANCHE_ADMIN_TOKEN: admin });
      let pids: number[] = [];
      try {
        expect(server.output()).toMatch(/2 processes share the port \(pids \d+, \d+;/);
        pids = [...server.output().matchAll(/pids (\d+), (\d+)/g)][0]!.slice(1).map(Number);
        // A fresh connection each time (no keep-alive): the primary hands connections round-robin.
        const seen = new Set<number>();
        for (let i = 0; i < 20 && seen.size < 2; i++) {
          const r = await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } });
          seen.add(((await r.json()) as { pid: number }).pid);
        }
        expect([...seen].sort()).toEqual([...pids].sort());
        expect(pids).not.toContain(server.pid);

        // A lifecycle with its requests spread over both (each on a new connection).
        const call = async (token: string, method: string, path: string, body?: unknown) => {
          const r = await fetch(server.url + path, {
            method,
            headers: { authorization: `Bearer ${token}`, connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: r.status, body: (await r.json().catch(() => null)) as any };
        };
        const user = async (name: string) => {
          const u = await call(admin, 'POST', '/v1/users', { email: `${name}-${Date.now()}@example.com`, name });
          const t = await call(admin, 'POST', `/v1/users/${u.body.id}/tokens`, {});
          return { id: u.body.id as string, token: t.body.token as string };
        };
        const client = await user('client');
        const contractor = await user('contractor');
        expect((await call(client.token, 'PUT', '/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
        const c = await call(client.token, 'POST', '/v1/contracts', {
          title: 'Two processes', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
          milestones: [{ title: 'One', amount: 10000, dueDate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) }],
        });
        expect(c.status).toBe(201);
        const m = c.body.milestones[0].id;
        expect((await call(contractor.token, 'POST', `/v1/contracts/${c.body.id}/activate`, {})).status).toBe(200);
        expect((await call(client.token, 'POST', `/v1/milestones/${m}/fund`, {})).status).toBe(200);
        expect((await call(contractor.token, 'POST', `/v1/milestones/${m}/submit`, { note: 'done' })).status).toBe(200);
        expect((await call(client.token, 'POST', `/v1/milestones/${m}/approve`, {})).status).toBe(200);
        const check = await call(admin, 'GET', '/v1/admin/ledger/check');
        expect(check.body.ok).toBe(true);

        // A process that dies after it started serving is replaced by a new one on the same port.
        process.kill(pids[0]!, 'SIGKILL');
        let replacement: number | undefined;
        for (let i = 0; i < 300 && replacement === undefined; i++) {
          const pid = await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } })
            .then(async (r) => ((await r.json()) as { pid: number }).pid)
            .catch(() => undefined);
          if (pid !== undefined && !pids.includes(pid)) replacement = pid;
          else await new Promise((r) => setTimeout(r, 100));
        }
        expect(replacement).toBeDefined();
        pids = [pids[1]!, replacement!];
      } finally {
        expect(await server.stop()).toBe(0);
      }
      for (const pid of pids) expect(alive(pid)).toBe(false); // the forked processes stopped before the primary exited
    } finally {
      await db.drop();
    }
  }, 120_000);
});

describe('serve --processes on the embedded database', () => {
  it('refuses more than one process with a clear message', async () => {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--processes', '2'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', TRANCHE_DATA_DIR: tmp(), LOG_LEVEL: 'silent' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/embedded database is opened by one process only; 2 processes need PostgreSQL/);
  }, 60_000);
});
