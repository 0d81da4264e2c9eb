import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import { Api, type Client } from './harness.ts';

/** Helpers of the reliability suite (test/reliability). Real processes, real PostgreSQL, real HTTP. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The PostgreSQL server of this run (null when it is not reachable and CI is not set). */
export const postgresUrl = (): string | null => inject('postgresUrl');

/** A fresh, empty PostgreSQL database; `drop()` removes it (forcing out any connection left). */
export async function createDatabase(prefix = 'tranche_rel'): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const adminUrl = postgresUrl();
  if (!adminUrl) throw new Error('PostgreSQL is not available');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withAdminPg((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: () => withAdminPg((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined, () => undefined),
  };
}

/** Runs `fn` on a short-lived connection to the maintenance database (not the one under test). */
export async function withAdminPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: postgresUrl()!, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Terminates every backend connected to `dbName` (the server's pool); returns how many. */
export async function terminateBackends(dbName: string): Promise<number> {
  const r = await withAdminPg((c) =>
    c.query('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]),
  );
  return r.rows.filter((x) => x.t).length;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export const ADMIN_TOKEN = 'trk_reliability_admin_token_0123456789abcdef';

/**
 * The product's own CLI (`node --import tsx src/cli.ts serve`) as a child process, so that it
 * can be killed with SIGKILL and restarted on the same database and port.
 */
export class ServerProcess {
  child: ChildProcess | null = null;
  readonly url: string;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'tranche-rel-'));
  private output: string[] = [];
  exits: { code: number | null; signal: NodeJS.Signals | null }[] = [];

  constructor(readonly port: number, readonly databaseUrl: string, readonly env: Record<string, string> = {}) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process wrote (for failure messages). */
  tail(n = 40): string {
    return this.output.slice(-n).join('');
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        DATABASE_URL: this.databaseUrl,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        TRANCHE_ADMIN_TOKEN: ADMIN_TOKEN,
        TRANCHE_DATA_DIR: this.dataDir,
        LOG_LEVEL: 'warn',
        TRANCHE_CHECK_RESPONSES: '1',
        TRANCHE_WORKER: '0',
        DB_POOL_SIZE: '10',
        // One process: kill -9 must cut the server's own transactions (serve defaults to one per core on PostgreSQL).
        TRANCHE_PROCESSES: '1',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => {
      this.output.push(b.toString());
      if (this.output.length > 400) this.output.splice(0, 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', (code, signal) => this.exits.push({ code, signal }));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`server exited during start-up:\n${this.tail()}`);
      try {
        const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error(`server not ready after ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** kill -9: no shutdown hook runs, in-flight transactions are cut. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Graceful stop (SIGTERM), then removes the data folder. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && this.alive) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  api(token: string | null = ADMIN_TOKEN): Client {
    return new Api(this.url).as(token);
  }
}

/** Deterministic PRNG (mulberry32): the same seed gives the same run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    bool: (p = 0.5) => next() < p,
    shuffle: <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j]!, xs[i]!];
      }
      return xs;
    },
  };
}
export type Prng = ReturnType<typeof prng>;

/** The seed of a run: REL_SEED if given (to replay a failure), else random; always printed. */
export function runSeed(name: string): number {
  const seed = process.env.REL_SEED ? Number(process.env.REL_SEED) : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`[${name}] seed ${seed} (replay with REL_SEED=${seed})\n`);
  return seed;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

export const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A second platform with one user and an API token, written directly to the database (the
 * API has no route to create platforms). Tokens are stored as the SHA-256 hex of the secret.
 */
export async function foreignPlatformUser(db: { query: (sql: string, params?: unknown[]) => Promise<unknown> }) {
  const platformId = newId('platform');
  const userId = newId('user');
  const token = `trk_${randomBytes(32).toString('base64url')}`;
  const now = new Date();
  await db.query('INSERT INTO platforms (id, name, is_default, created_at, updated_at) VALUES ($1, $2, false, $3, $3)', [platformId, 'Other marketplace', now]);
  await db.query(
    `INSERT INTO users (id, platform_id, email, email_normalized, name, created_at, updated_at) VALUES ($1,$2,$3,$3,'Foreign user',$4,$4)`,
    [userId, platformId, `foreign-${userId}@example.com`, now],
  );
  await db.query(
    `INSERT INTO api_tokens (id, platform_id, user_id, kind, name, token_hash, last_four, created_at) VALUES ($1,$2,$3,'user','foreign',$4,$5,$6)`,
    [newId('token'), platformId, userId, sha256hex(token), token.slice(-4), now],
  );
  return { platformId, userId, token };
}

/** A user and a token through the admin API of `admin` (a client holding the admin token). */
export async function apiUser(admin: Client, baseUrl: string, name: string, paymentMethod?: string) {
  const email = `${name}-${randomBytes(5).toString('hex')}@example.com`;
  const u = await admin.post('/v1/users', { email, name });
  if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.body)}`);
  const t = await admin.post(`/v1/users/${u.body.id}/tokens`, {});
  if (t.status !== 201) throw new Error(`create token: ${t.status} ${JSON.stringify(t.body)}`);
  const api = new Api(baseUrl).as(t.body.token);
  if (paymentMethod) {
    const pm = await api.put('/v1/me/payment-method', { paymentMethod });
    if (pm.status !== 200) throw new Error(`payment method: ${pm.status}`);
  }
  return { id: u.body.id as string, token: t.body.token as string, tokenId: t.body.id as string, api };
}

export type RawAnswer = { status: number; body: any; headers: Headers; ms: number };

/** One HTTP request with a hard timeout; a network failure rejects (the caller decides). */
export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string | null; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const h: Record<string, string> = { ...opts.headers };
  if (opts.token) h.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) h['content-type'] ??= 'application/json';
  const t0 = Date.now();
  const res = await fetch(baseUrl + path, { method, headers: h, body: opts.body, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers, ms: Date.now() - t0 };
}
