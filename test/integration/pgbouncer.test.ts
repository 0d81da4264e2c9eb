import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { Api, engines, expectLedgerClean, freshDatabase, liveContract, newParties, type TestServer } from '../support/harness.ts';
import { SseClient } from '../support/sse.ts';

/**
 * The product behind PgBouncer in transaction mode (docs/scaling.md): every statement of the
 * server goes through the pooler (DATABASE_URL), LISTEN goes direct (DATABASE_LISTEN_URL), since a
 * transaction-mode pooler hands the server connection to another client after each transaction
 * and a LISTEN would be left on a connection nobody reads. A lifecycle, the live event stream
 * (woken by NOTIFY, not by its heartbeat) and the worker's jobs all work; a session-level advisory
 * lock, by contrast, does not hold across transactions — which is why the product uses
 * transaction-level ones only. The PgBouncer is started by the test on 127.0.0.1 with its own
 * configuration in a temporary folder (Debian's `pgbouncer`; .ci/run installs it).
 */
const binary = spawnSync('sh', ['-c', 'command -v pgbouncer || ls /usr/sbin/pgbouncer'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] || null;
const runs = engines().includes('postgres') && binary !== null;
if (!binary) process.stderr.write('\n⚠  pgbouncer is not installed (apt-get install -y pgbouncer): test/integration/pgbouncer.test.ts is SKIPPED.\n\n');

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

describe.runIf(runs)('the server behind PgBouncer in transaction mode', () => {
  let dir: string;
  let bouncer: ChildProcess;
  let log = '';
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let s: TestServer;
  let viaBouncer: (name: string) => string;

  beforeAll(async () => {
    db = await freshDatabase();
    const direct = new URL(db.url);
    const name = direct.pathname.slice(1);
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'tranche-pgbouncer-'));
    writeFileSync(join(dir, 'users.txt'), `"${direct.username || 'postgres'}" ""\n`);
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${name} = host=${direct.hostname} port=${direct.port || 5432} dbname=${name}`,
        // One server connection: shows what a session-level lock means behind a transaction pooler.
        `single = host=${direct.hostname} port=${direct.port || 5432} dbname=${name} pool_size=1`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        'pool_mode = transaction',
        'default_pool_size = 10',
        'max_client_conn = 200',
        'ignore_startup_parameters = extra_float_digits,options',
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    // PgBouncer refuses to run as root: as root, it switches to the postgres user (-u).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const { uid, gid } = pgUser();
      chownSync(dir, uid, gid);
      for (const f of ['users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
      chmodSync(dir, 0o755);
    }
    bouncer = spawn(binary!, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
    bouncer.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    bouncer.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    viaBouncer = (database: string) => `postgres://${direct.username || 'postgres'}@127.0.0.1:${port}/${database}`;
    await until(async () => {
      const c = new pg.Client({ connectionString: viaBouncer(name) });
      try {
        await c.connect();
        await c.query('select 1');
        return true;
      } catch {
        if (bouncer.exitCode !== null) throw new Error(`pgbouncer exited:\n${log}`);
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    });

    const dataDir = mkdtempSync(join(tmpdir(), 'tranche-pgbouncer-data-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      TRANCHE_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      TRANCHE_TEST_CLOCK: '1',
      TRANCHE_WORKER: '0',
      TRANCHE_CHECK_RESPONSES: '1',
      DATABASE_URL: viaBouncer(name),
      DATABASE_LISTEN_URL: db.url,
      // A stream must be woken by NOTIFY: its heartbeat (which re-reads too) is far away.
      LIVE_HEARTBEAT_MS: '300000',
    });
    const rt = await startServer(config, { log: pino({ level: 'silent' }) });
    const api = new Api(rt.url);
    s = {
      ...rt,
      engine: 'postgres',
      api,
      admin: api.as(rt.adminToken),
      dataDir,
      databaseUrl: config.databaseUrl!,
      stop: async () => {
        await rt.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((r) => bouncer.once('exit', r));
      bouncer.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a lifecycle, the worker and the live stream through the pooler, with LISTEN on a direct connection', async () => {
    // Every pooled statement goes through PgBouncer: its server connections are the pool's.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const p = await newParties(s);
      const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Through the pooler', amount: 25000 }]);
      const stream = await SseClient.open(`${s.url}/v1/events`, { authorization: `Bearer ${p.contractor.token}` });
      try {
        expect(stream.status).toBe(200);
        await stream.waitFor((e) => e.some((x) => x.event === 'ready'));
        const m = c.milestones[0].id;
        expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
        // Woken by NOTIFY on the direct listening connection (the heartbeat is 5 minutes away).
        await stream.waitFor((e) => e.some((x) => x.event === 'activity' && x.data?.activity?.kind === 'milestone.funded'), 10_000, 'milestone.funded');
        expect((await p.contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'done' })).status).toBe(200);
        const approved = await p.client.api.post(`/v1/milestones/${m}/approve`);
        expect(approved.status).toBe(200);
        expect(approved.body.status).toBe('paid');
        // The worker's claims (SKIP LOCKED, transaction-level) run through the pooler too.
        const jobs = await s.admin.post('/v1/admin/jobs/run');
        expect(jobs.status).toBe(200);
        await expectLedgerClean(s);
      } finally {
        await stream.close();
      }
      const conns = await admin.query<{ n: number; listening: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE query LIKE 'LISTEN %')::int AS listening FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      // The pool's connections plus the two listening ones (live hub, credentials), which are direct.
      expect(conns.rows[0]!.listening).toBe(2);
    } finally {
      await admin.end();
    }
  }, 60_000);

  it('a session-level advisory lock does not stay with its client behind a transaction pooler (the product takes transaction-level ones only)', async () => {
    const a = new pg.Client({ connectionString: viaBouncer('single') });
    const b = new pg.Client({ connectionString: viaBouncer('single') });
    await a.connect();
    await b.connect();
    try {
      const pidA = (await a.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect((await a.query('SELECT pg_try_advisory_lock(42) AS got')).rows[0].got).toBe(true);
      // B is another client, yet it runs on the same server session (one server connection),
      // which holds A's lock: B "gets" a lock A believes it holds alone.
      const pidB = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(pidB).toBe(pidA);
      expect((await b.query('SELECT pg_try_advisory_lock(42) AS got')).rows[0].got).toBe(true);
      // A transaction-level lock is released at its transaction's end, which is when the pooler
      // takes the connection back: it cannot leak to another client.
      await a.query('BEGIN');
      expect((await a.query('SELECT pg_try_advisory_xact_lock(43) AS got')).rows[0].got).toBe(true);
      await a.query('COMMIT');
      expect((await b.query('SELECT pg_try_advisory_xact_lock(43) AS got')).rows[0].got).toBe(true);
      await a.query('SELECT pg_advisory_unlock_all()');
    } finally {
      await a.end();
      await b.end();
    }
  });
});

/** The postgres user's ids (PgBouncer runs as it when the test runs as root). */
function pgUser(): { uid: number; gid: number } {
  const out = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim();
  return { uid: Number(out), gid: Number(gid) };
}

async function until(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('pgbouncer did not accept connections');
}
