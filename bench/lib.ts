/**
 * Shared pieces of the benchmarks: the server as a child process (so that its RSS and CPU are
 * its own), a fresh PostgreSQL database, a keep-alive HTTP client and latency statistics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (s: string) => process.stdout.write(s + '\n');

export function adminUrl(): string {
  return process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function urlForDb(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates a fresh database on the server of BENCH_DATABASE_URL; `drop()` removes it. */
export async function freshDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const base = adminUrl();
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return {
    name,
    url: urlForDb(base, name),
    drop: async () => {
      const d = new pg.Client({ connectionString: base });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await d.end();
    },
  };
}

export async function serverVersion(): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  const { rows } = await c.query<{ server_version: string }>('SHOW server_version');
  await c.end();
  return rows[0]!.server_version;
}

// ---------------------------------------------------------------------------------------------
// The server as a child process

export type ServerProc = {
  url: string;
  adminToken: string;
  pid: number;
  /** The primary and, with --processes N > 1, its N processes. */
  pids: number[];
  /** Peak resident set size (VmHWM) so far, in kB. */
  peakRssKb(): number;
  rssKb(): number;
  /** User + system CPU seconds the server process has used so far. */
  cpuSeconds(): number;
  /** System calls that wrote (socket writes, log lines) since start, from /proc/<pid>/io. */
  writeSyscalls(): number;
  stop(): Promise<void>;
};

function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function procWriteSyscalls(pid: number): number {
  try {
    return Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of stat(5)), in clock ticks (100 Hz)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export type SpawnOpts = {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  worker?: boolean;
  /** Directory for `node --cpu-prof` output; no profiling when absent. */
  profileDir?: string;
  /** `serve --processes N` (default 1): RSS and CPU are then the sum over the primary and its N processes. */
  processes?: number;
  /** Run the compiled server (`npm run build`, dist/cli.js) instead of the source through tsx. */
  compiled?: boolean;
  /** The checkout whose server runs (default this one; bench/compare.ts runs two). */
  root?: string;
};

/** Starts `node dist/cli.js serve` (or `node --import tsx src/cli.ts serve`) on a free loopback port and waits until it listens. */
export async function spawnServer(o: SpawnOpts): Promise<ServerProc> {
  const adminToken = `bench_admin_${randomBytes(18).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    TRANCHE_ADMIN_TOKEN: adminToken,
    TRANCHE_DATA_DIR: o.dataDir,
    TRANCHE_WORKER: o.worker === false ? '0' : '1',
    TRANCHE_TEST_CLOCK: '0',
    DB_POOL_SIZE: String(o.poolSize ?? 10),
    // Each answer tells the round trips to the database its command or read took (bench/run.ts prints them).
    TRANCHE_DEBUG_ROUND_TRIPS: '1',
    NODE_ENV: 'production',
  };
  delete env.DATABASE_URL;
  if (o.databaseUrl) env.DATABASE_URL = o.databaseUrl;
  const entry = o.compiled ? ['dist/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  const args = [...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : []), ...entry, 'serve', '--processes', String(o.processes ?? 1)];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: o.root ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20000) stderr = stderr.slice(-10000);
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s\n${out}\n${stderr}`)), 60000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/ on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening\n${out}\n${stderr}`));
    });
  });
  child.stdout!.resume();
  const pid = child.pid!;
  // With --processes N the primary prints its children's pids (before the address); the figures are summed over all.
  const forked = /pids ([\d, ]+);/.exec(out)?.[1];
  const pids = [pid, ...(forked ? forked.split(',').map((x) => Number(x.trim())) : [])];
  const sum = (f: (p: number) => number) => pids.reduce((a, p) => a + f(p), 0);
  let lastPeak = 0;
  const peak = () => (lastPeak = Math.max(lastPeak, sum((p) => procStatusKb(p, 'VmHWM'))));
  return {
    url,
    adminToken,
    pid,
    pids,
    peakRssKb: peak,
    rssKb: () => sum((p) => procStatusKb(p, 'VmRSS')),
    cpuSeconds: () => sum(procCpuSeconds),
    writeSyscalls: () => sum(procWriteSyscalls),
    stop: async () => {
      peak();
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(t);
      if (child.exitCode && child.exitCode !== 0) log(`  (server exited with ${child.exitCode})\n${stderr.slice(-2000)}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP (Node's built-in fetch, i.e. undici, which keeps connections alive by default)

/** `roundTrips`: the server's tranche-round-trips header (TRANCHE_DEBUG_ROUND_TRIPS=1), null without it. */
export type Res = { status: number; body: any; ms: number; roundTrips: number | null };

export class HttpError extends Error {
  constructor(
    readonly op: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${op}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

export async function call(base: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  const t0 = performance.now();
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const ms = performance.now() - t0;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  const rt = res.headers.get('tranche-round-trips');
  return { status: res.status, body: parsed, ms, roundTrips: rt === null ? null : Number(rt) };
}

export type Party = { id: string; token: string };

/** A user with an API token, created through the admin API. */
export async function newUser(base: string, adminToken: string, label: string): Promise<Party> {
  const email = `${label}-${randomBytes(6).toString('hex')}@bench.example`;
  const u = await call(base, 'POST', '/v1/users', adminToken, { email, name: label });
  if (u.status !== 201 && u.status !== 200) throw new HttpError('create user', u.status, u.body);
  const t = await call(base, 'POST', `/v1/users/${u.body.id}/tokens`, adminToken, {});
  if (t.status !== 201 && t.status !== 200) throw new HttpError('create token', t.status, t.body);
  return { id: u.body.id, token: t.body.token };
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export type LatencySummary = { n: number; mean: number; p50: number; p95: number; p99: number; max: number };

export function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { n: s.length, mean: r(mean), p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

export const fmt = (x: number | undefined | null, d = 1) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "—");
export const pad = (s: string | number, n: number) => String(s).padEnd(n);
export const lpad = (s: string | number, n: number) => String(s).padStart(n);
