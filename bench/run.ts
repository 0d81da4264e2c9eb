/**
 * `npm run bench` — throughput and latency of the fixed-price lifecycle over real HTTP.
 *
 *   1. PostgreSQL: a fresh database, the server as a child process, N concurrent clients.
 *      a) full load: create (3 milestones) → activate → fund → submit → approve (×3), as fast
 *         as the clients can go, for BENCH_SECONDS;
 *      b) half load: the same lifecycle paced at half the command rate measured in (a);
 *      c) reads: GET /v1/contracts/{id} (the contract page) of the contracts made in (a).
 *   2. pgbench TPC-B (scale 10, same clients, same duration) on its own database of the same
 *      PostgreSQL server: the yardstick for "what this machine's PostgreSQL can do".
 *   3. The embedded database (PGlite, temp data dir): the same three phases.
 *
 * Options (flag or env): --clients / BENCH_CLIENTS (8), --seconds / BENCH_SECONDS (20),
 * --skip=pglite,pgbench,postgres / BENCH_SKIP, BENCH_PROFILE=1 (node --cpu-prof on the server,
 * summarized at the end), BENCH_WORKER=0 (server without its background worker),
 * BENCH_DATABASE_URL / TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * --processes / BENCH_PROCESSES (1: `serve --processes N` on PostgreSQL; PGlite has one),
 * BENCH_COMPILED=0 (run the source through tsx instead of the build, which the bench makes first).
 * Writes bench/results/<timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import {
  call,
  fmt,
  freshDatabase,
  HttpError,
  log,
  lpad,
  newUser,
  pad,
  ROOT,
  serverVersion,
  sleep,
  spawnServer,
  summarize,
  type LatencySummary,
  type Party,
  type ServerProc,
} from './lib.ts';
import { summarizeProfile } from './profile-summary.ts';

// ---------------------------------------------------------------------------------------------
// Options

function opt(name: string, envName: string, dflt: string): string {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1] ?? dflt;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return process.env[envName] || dflt;
}
const CLIENTS = Math.max(1, Number(opt('clients', 'BENCH_CLIENTS', '8')));
const SECONDS = Math.max(2, Number(opt('seconds', 'BENCH_SECONDS', '20')));
const SIDE_SECONDS = Math.max(2, Math.round(SECONDS / 2)); // half-load and read phases
const SKIP = new Set(opt('skip', 'BENCH_SKIP', '').split(',').filter(Boolean));
const PROFILE = process.env.BENCH_PROFILE === '1';
const WORKER = process.env.BENCH_WORKER !== '0';
const PROCESSES = Math.max(1, Number(opt('processes', 'BENCH_PROCESSES', '1')));
const COMPILED = process.env.BENCH_COMPILED !== '0';
const MILESTONES = 3;
const PGBENCH_SCALE = 10;

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const profileRoot = join(resultsDir, `profiles-${stamp}`);

// ---------------------------------------------------------------------------------------------
// Machine CPU (to see whether the box was saturated, and by whom)

function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3]! + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// ---------------------------------------------------------------------------------------------
// Recording

class Recorder {
  readonly lat = new Map<string, number[]>();
  /** Round trips to the database per operation (the server's tranche-round-trips header). */
  readonly trips = new Map<string, number[]>();
  commands = 0;
  reads = 0;
  errors = 0;
  lifecycles = 0;
  readonly errorSamples: string[] = [];
  // for the per-second progress line
  secCommands = 0;
  secReads = 0;
  secLat: number[] = [];

  add(op: string, ms: number, kind: 'command' | 'read', roundTrips: number | null = null) {
    if (roundTrips !== null) {
      let t = this.trips.get(op);
      if (!t) this.trips.set(op, (t = []));
      t.push(roundTrips);
    }
    let a = this.lat.get(op);
    if (!a) this.lat.set(op, (a = []));
    a.push(ms);
    this.secLat.push(ms);
    if (kind === 'command') {
      this.commands++;
      this.secCommands++;
    } else {
      this.reads++;
      this.secReads++;
    }
  }
  error(msg: string) {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(msg);
  }
  all(ops: string[]): number[] {
    return ops.flatMap((o) => this.lat.get(o) ?? []);
  }
}

const COMMAND_OPS = ['create', 'activate', 'fund', 'submit', 'approve'];
const Stop = Symbol('stop');

type Pair = { client: Party; contractor: Party; contracts: string[] };

export type PhaseResult = {
  phase: string;
  seconds: number;
  clients: number;
  targetRate: number | null;
  commandsPerSec: number;
  readsPerSec: number;
  lifecyclesPerSec: number;
  commands: number;
  reads: number;
  errors: number;
  errorSamples: string[];
  latencyMs: Record<string, LatencySummary>;
  /** Mean round trips to the database per operation (its command transaction, or the read). */
  roundTrips: Record<string, number>;
  serverCpuPercentOfOneCore: number;
  serverCpuMsPerRequest: number;
  benchClientCpuPercentOfOneCore: number;
  machineCpuBusyPercent: number;
};

/** Runs one phase: `clients` loops of `step` until the deadline, a progress line a second. */
async function runPhase(
  label: string,
  server: ServerProc,
  pairs: Pair[],
  seconds: number,
  step: (pair: Pair, rec: Recorder, gate: () => Promise<void>) => Promise<void>,
  targetRate: number | null,
): Promise<PhaseResult> {
  const rec = new Recorder();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  // pacing: a shared schedule of request start times, `targetRate` per second
  let nextSlot = t0;
  const gate = async () => {
    const now = performance.now();
    if (now >= deadline) throw Stop;
    if (!targetRate) return;
    const slot = Math.max(now, nextSlot);
    nextSlot = slot + 1000 / targetRate;
    if (slot > now) await sleep(slot - now);
    if (performance.now() >= deadline) throw Stop;
  };
  const cpu0 = server.cpuSeconds();
  const self0 = process.cpuUsage();
  const m0 = machineCpu();
  let tick = 0;
  const progress = setInterval(() => {
    tick++;
    const lat = rec.secLat.sort((a, b) => a - b);
    const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)]! : NaN;
    log(
      `  [${label}] ${lpad(tick, 3)}s  commands/s ${lpad(rec.secCommands, 5)}  reads/s ${lpad(rec.secReads, 5)}  p99 ${lpad(fmt(p99), 6)} ms  ` +
        `server rss ${lpad(Math.round(server.rssKb() / 1024), 4)} MB  errors ${rec.errors}`,
    );
    rec.secCommands = 0;
    rec.secReads = 0;
    rec.secLat = [];
  }, 1000);
  await Promise.all(
    pairs.map(async (pair) => {
      for (;;) {
        try {
          await step(pair, rec, gate);
        } catch (e) {
          if (e === Stop) return;
          rec.error(e instanceof Error ? e.message : String(e));
          await sleep(10);
        }
      }
    }),
  );
  clearInterval(progress);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = server.cpuSeconds() - cpu0;
  const self = process.cpuUsage(self0);
  const m1 = machineCpu();
  const latencyMs: Record<string, LatencySummary> = {};
  for (const [op, a] of rec.lat) latencyMs[op] = summarize(a);
  const cmdOps = COMMAND_OPS.filter((o) => rec.lat.has(o));
  if (cmdOps.length) latencyMs['all commands'] = summarize(rec.all(cmdOps));
  const requests = rec.commands + rec.reads;
  return {
    phase: label,
    seconds: Math.round(elapsed * 10) / 10,
    clients: pairs.length,
    targetRate,
    commandsPerSec: Math.round((rec.commands / elapsed) * 10) / 10,
    readsPerSec: Math.round((rec.reads / elapsed) * 10) / 10,
    lifecyclesPerSec: Math.round((rec.lifecycles / elapsed) * 10) / 10,
    commands: rec.commands,
    reads: rec.reads,
    errors: rec.errors,
    errorSamples: rec.errorSamples,
    latencyMs,
    roundTrips: Object.fromEntries([...rec.trips].map(([op, t]) => [op, Math.round((t.reduce((a, b) => a + b, 0) / t.length) * 100) / 100])),
    serverCpuPercentOfOneCore: Math.round((cpu / elapsed) * 1000) / 10,
    serverCpuMsPerRequest: requests ? Math.round(((cpu * 1000) / requests) * 100) / 100 : NaN,
    benchClientCpuPercentOfOneCore: Math.round(((self.user + self.system) / 1e6 / elapsed) * 1000) / 10,
    machineCpuBusyPercent: Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 1000) / 10,
  };
}

// ---------------------------------------------------------------------------------------------
// The workload

const dueDate = (days: number) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);

function lifecycleStep(base: string) {
  let n = 0;
  return async (pair: Pair, rec: Recorder, gate: () => Promise<void>) => {
    const cmd = async (op: string, path: string, who: Party, body: unknown, expect: number) => {
      await gate();
      const r = await call(base, 'POST', path, who.token, body);
      if (r.status !== expect) throw new HttpError(op, r.status, r.body);
      rec.add(op, r.ms, 'command', r.roundTrips);
      return r.body;
    };
    const i = ++n;
    const created = await cmd(
      'create',
      '/v1/contracts',
      pair.client,
      {
        title: `Bench contract ${i}`,
        clientId: pair.client.id,
        contractorId: pair.contractor.id,
        type: 'fixed',
        currency: 'USD',
        policy: 'sequential_escrow',
        milestones: Array.from({ length: MILESTONES }, (_, k) => ({ title: `Milestone ${k + 1}`, amount: 10000 * (k + 1), dueDate: dueDate(10 * (k + 1)) })),
      },
      201,
    );
    const id: string = created.id;
    pair.contracts.push(id);
    await cmd('activate', `/v1/contracts/${id}/activate`, pair.contractor, {}, 200);
    for (const m of created.milestones as { id: string }[]) {
      await cmd('fund', `/v1/milestones/${m.id}/fund`, pair.client, {}, 200);
      await cmd('submit', `/v1/milestones/${m.id}/submit`, pair.contractor, { note: 'done' }, 200);
      const approved = await cmd('approve', `/v1/milestones/${m.id}/approve`, pair.client, {}, 200);
      if (approved.status !== 'paid' && approved.status !== 'approved') throw new Error(`approve left status ${approved.status}`);
    }
    rec.lifecycles++;
  };
}

function readStep(base: string) {
  return async (pair: Pair, rec: Recorder, gate: () => Promise<void>) => {
    await gate();
    const id = pair.contracts[Math.floor(Math.random() * pair.contracts.length)]!;
    const r = await call(base, 'GET', `/v1/contracts/${id}`, pair.client.token);
    if (r.status !== 200) throw new HttpError('read', r.status, r.body);
    rec.add('read contract', r.ms, 'read', r.roundTrips);
  };
}

async function makePairs(server: ServerProc, n: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) {
    const client = await newUser(server.url, server.adminToken, `client${i}`);
    const contractor = await newUser(server.url, server.adminToken, `contractor${i}`);
    const pm = await call(server.url, 'PUT', '/v1/me/payment-method', client.token, { paymentMethod: 'pm_card_ok' });
    if (pm.status !== 200) throw new HttpError('payment method', pm.status, pm.body);
    pairs.push({ client, contractor, contracts: [] });
  }
  return pairs;
}

/** Warm-up: a couple of lifecycles so that JIT, connection pool and caches are not measured cold. */
async function warmUp(server: ServerProc, pairs: Pair[]) {
  const rec = new Recorder();
  const step = lifecycleStep(server.url);
  await Promise.all(pairs.map((p) => step(p, rec, async () => undefined)));
  await Promise.all(pairs.map((p) => step(p, rec, async () => undefined)));
}

export type EngineResult = {
  engine: 'postgres' | 'pglite';
  full: PhaseResult;
  half: PhaseResult;
  reads: PhaseResult;
  serverPeakRssMB: number;
  profileTop?: { fn: string; where: string; selfMs: number; selfPct: number }[];
};

async function benchEngine(engine: 'postgres' | 'pglite'): Promise<EngineResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tranche-bench-'));
  const db = engine === 'postgres' ? await freshDatabase('tranche_bench') : null;
  const profileDir = PROFILE ? join(profileRoot, engine) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const server = await spawnServer({ databaseUrl: db?.url, dataDir, worker: WORKER, profileDir, compiled: COMPILED, processes: engine === 'postgres' ? PROCESSES : 1 });
  log(`  server pid ${server.pids.join(', ')} on ${server.url}${db ? `, database ${db.name}` : ', PGlite in ' + dataDir}`);
  try {
    const pairs = await makePairs(server, CLIENTS);
    await warmUp(server, pairs);
    const tag = engine === 'postgres' ? 'pg' : 'pglite';
    log(`  full load: ${CLIENTS} clients, ${SECONDS} s, lifecycle of ${2 + 3 * MILESTONES} commands (create with ${MILESTONES} milestones, activate, fund/submit/approve each)`);
    const full = await runPhase(`${tag} full`, server, pairs, SECONDS, lifecycleStep(server.url), null);
    printPhase(full);
    const rate = Math.max(1, full.commandsPerSec / 2);
    log(`  half load: paced at ${fmt(rate)} commands/s (half of ${fmt(full.commandsPerSec)}), ${SIDE_SECONDS} s`);
    const half = await runPhase(`${tag} half`, server, pairs, SIDE_SECONDS, lifecycleStep(server.url), rate);
    printPhase(half);
    log(`  reads: GET /v1/contracts/{id} (contract page with overview and milestones), ${CLIENTS} clients, ${SIDE_SECONDS} s`);
    const reads = await runPhase(`${tag} reads`, server, pairs, SIDE_SECONDS, readStep(server.url), null);
    printPhase(reads);
    const peak = server.peakRssKb();
    await server.stop();
    const serverPeakRssMB = Math.round((Math.max(peak, server.peakRssKb()) / 1024) * 10) / 10;
    log(`  server peak RSS (VmHWM): ${serverPeakRssMB} MB`);
    const result: EngineResult = { engine, full, half, reads, serverPeakRssMB };
    if (profileDir) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        log(`  CPU profile: ${join(profileDir, file)}`);
        result.profileTop = summarizeProfile(join(profileDir, file), 20);
        for (const r of result.profileTop) log(`    ${lpad(fmt(r.selfPct), 5)}%  ${lpad(Math.round(r.selfMs), 6)} ms  ${r.fn}  ${r.where}`);
      }
    }
    return result;
  } finally {
    await server.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function printPhase(r: PhaseResult) {
  log(
    `  → ${r.phase}: ${fmt(r.commandsPerSec)} commands/s, ${fmt(r.readsPerSec)} reads/s, ${fmt(r.lifecyclesPerSec, 2)} lifecycles/s, ` +
      `${r.errors} errors; server CPU ${fmt(r.serverCpuPercentOfOneCore)}% of a core (${fmt(r.serverCpuMsPerRequest, 2)} ms/request), ` +
      `bench client ${fmt(r.benchClientCpuPercentOfOneCore)}%, machine busy ${fmt(r.machineCpuBusyPercent)}%`,
  );
  log(`     ${pad('latency ms', 16)}${lpad('n', 7)}${lpad('p50', 8)}${lpad('p95', 8)}${lpad('p99', 8)}${lpad('max', 9)}`);
  for (const [op, s] of Object.entries(r.latencyMs)) {
    log(`     ${pad(op, 16)}${lpad(s.n, 7)}${lpad(fmt(s.p50), 8)}${lpad(fmt(s.p95), 8)}${lpad(fmt(s.p99), 8)}${lpad(fmt(s.max), 9)}`);
  }
  if (Object.keys(r.roundTrips).length) log(`     round trips to the database per request (mean): ${Object.entries(r.roundTrips).map(([op, n]) => `${op} ${n}`).join(', ')}`);
  for (const e of r.errorSamples) log(`     error: ${e}`);
}

// ---------------------------------------------------------------------------------------------
// pgbench

function runStreaming(cmd: string, args: string[], prefix: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      output += s;
      partial += s;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) log(`  [${prefix}] ${l}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

export type PgbenchResult = { scale: number; clients: number; threads: number; seconds: number; tps: number; latencyAvgMs: number | null; initSeconds: number; machineCpuBusyPercent: number };

async function benchPgbench(): Promise<PgbenchResult> {
  const db = await freshDatabase('tranche_bench_pgbench');
  try {
    const t0 = performance.now();
    log(`  pgbench -i -s ${PGBENCH_SCALE} into ${db.name}`);
    const init = await runStreaming('pgbench', ['-i', '-s', String(PGBENCH_SCALE), '-q', db.url], 'pgbench -i');
    if (init.code !== 0) throw new Error(`pgbench -i failed:\n${init.output}`);
    const initSeconds = Math.round((performance.now() - t0) / 100) / 10;
    const threads = Math.min(CLIENTS, cpus().length);
    log(`  pgbench TPC-B: -c ${CLIENTS} -j ${threads} -T ${SECONDS}`);
    const m0 = machineCpu();
    const run = await runStreaming('pgbench', ['-c', String(CLIENTS), '-j', String(threads), '-T', String(SECONDS), '-P', '1', db.url], 'pgbench');
    const m1 = machineCpu();
    if (run.code !== 0) throw new Error(`pgbench failed:\n${run.output}`);
    const tps = Number(run.output.match(/tps = ([\d.]+) \(without initial connection time\)/)?.[1] ?? run.output.match(/tps = ([\d.]+)/)?.[1]);
    const lat = run.output.match(/latency average = ([\d.]+) ms/)?.[1];
    return {
      scale: PGBENCH_SCALE,
      clients: CLIENTS,
      threads,
      seconds: SECONDS,
      tps: Math.round(tps * 10) / 10,
      latencyAvgMs: lat ? Number(lat) : null,
      initSeconds,
      machineCpuBusyPercent: Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 1000) / 10,
    };
  } finally {
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------

function verdict(ok: boolean | null) {
  return ok === null ? 'n/a' : ok ? 'met' : 'NOT met';
}

async function main() {
  const started = new Date();
  const pgVersion = SKIP.has('postgres') && SKIP.has('pgbench') ? null : await serverVersion().catch(() => null);
  const machine = {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: pgVersion,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  log(`Tranche bench — ${machine.nproc} cores (${machine.cpuModel}), ${machine.memGiB} GiB, node ${machine.node}, PostgreSQL ${pgVersion ?? 'n/a'}`);
  log(`  load average at start: ${machine.loadavgAtStart.join(' ')} (other work on the machine makes the figures noisy)`);
  if (COMPILED) {
    log('  building the server (npm run build) …');
    const built = await runStreaming(process.execPath, [join(ROOT, 'scripts', 'build-server.mjs')], 'build');
    if (built.code !== 0) throw new Error(`build failed:\n${built.output}`);
  }
  log(`  server: ${COMPILED ? 'compiled (dist/cli.js)' : 'source through tsx'}, ${PROCESSES} process${PROCESSES > 1 ? 'es' : ''} on PostgreSQL`);
  log(`  ${CLIENTS} clients, ${SECONDS} s per main phase, ${SIDE_SECONDS} s for the half-load and read phases${PROFILE ? ', CPU profiling on' : ''}${WORKER ? '' : ', worker off'}`);

  const out: Record<string, unknown> = { startedAt: started.toISOString(), machine, config: { clients: CLIENTS, seconds: SECONDS, sideSeconds: SIDE_SECONDS, milestonesPerContract: MILESTONES, worker: WORKER, profile: PROFILE, processes: PROCESSES, compiled: COMPILED } };
  let pgRes: EngineResult | null = null;
  let pgb: PgbenchResult | null = null;
  let liteRes: EngineResult | null = null;

  if (!SKIP.has('postgres')) {
    log('\n== Lifecycle on PostgreSQL');
    pgRes = await benchEngine('postgres');
    out.postgres = pgRes;
  }
  if (!SKIP.has('pgbench')) {
    log('\n== pgbench TPC-B on the same PostgreSQL server');
    pgb = await benchPgbench();
    log(`  → pgbench: ${fmt(pgb.tps)} tps (latency average ${pgb.latencyAvgMs ?? '—'} ms), machine busy ${fmt(pgb.machineCpuBusyPercent)}%`);
    out.pgbench = pgb;
  }
  if (!SKIP.has('pglite')) {
    log('\n== Lifecycle on the embedded database (PGlite)');
    liteRes = await benchEngine('pglite');
    out.pglite = liteRes;
  }

  // Summary against the targets of docs/performance.md
  const ratio = pgRes && pgb ? Math.round((pgRes.full.commandsPerSec / pgb.tps) * 1000) / 1000 : null;
  const halfP99 = pgRes?.half.latencyMs['all commands']?.p99 ?? null;
  const readsRatio = pgRes ? Math.round((pgRes.reads.readsPerSec / Math.max(0.1, pgRes.full.commandsPerSec)) * 100) / 100 : null;
  // the RSS target is for the server on PostgreSQL; PGlite's WebAssembly heap is reported beside it
  const rss = pgRes?.serverPeakRssMB ?? liteRes?.serverPeakRssMB ?? null;
  const targets = {
    commandsVsPgbench: { target: '>= 0.5', value: ratio, met: ratio === null ? null : ratio >= 0.5 },
    halfLoadP99Ms: { target: '<= 20', value: halfP99, met: halfP99 === null ? null : halfP99 <= 20 },
    readsVsCommands: { target: '>= 5', value: readsRatio, met: readsRatio === null ? null : readsRatio >= 5 },
    serverPeakRssMB: { target: '< 250', value: rss, met: rss === null ? null : rss < 250 },
  };
  out.ratioCommandsToPgbenchTps = ratio;
  out.targets = targets;
  out.finishedAt = new Date().toISOString();
  out.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  log('\n== Summary');
  const row = (name: string, r: EngineResult | null) => {
    if (!r) return;
    const c = r.full.latencyMs['all commands'];
    const h = r.half.latencyMs['all commands'];
    const rd = r.reads.latencyMs['read contract'];
    log(
      `  ${pad(name, 11)} commands/s ${lpad(fmt(r.full.commandsPerSec), 7)}  p50/p95/p99 ${fmt(c?.p50)}/${fmt(c?.p95)}/${fmt(c?.p99)} ms  ` +
        `half-load p99 ${fmt(h?.p99)} ms  reads/s ${lpad(fmt(r.reads.readsPerSec), 7)} (p99 ${fmt(rd?.p99)} ms)  peak RSS ${r.serverPeakRssMB} MB`,
    );
    for (const op of COMMAND_OPS) {
      const s = r.full.latencyMs[op];
      if (s) log(`      ${pad(op, 9)} p50 ${lpad(fmt(s.p50), 6)}  p95 ${lpad(fmt(s.p95), 6)}  p99 ${lpad(fmt(s.p99), 6)} ms`);
    }
  };
  row('PostgreSQL', pgRes);
  if (pgb) log(`  ${pad('pgbench', 11)} ${fmt(pgb.tps)} tps (TPC-B, scale ${pgb.scale}, ${pgb.clients} clients)`);
  row('PGlite', liteRes);
  log(`  commands/s ÷ pgbench tps = ${ratio ?? '—'}   (target ≥ 0.5: ${verdict(targets.commandsVsPgbench.met)})`);
  log(`  p99 at half load        = ${halfP99 ?? '—'} ms (target ≤ 20 ms: ${verdict(targets.halfLoadP99Ms.met)})`);
  log(`  reads/s ÷ commands/s    = ${readsRatio ?? '—'}   (target ≥ 5: ${verdict(targets.readsVsCommands.met)})`);
  log(`  server peak RSS         = ${rss ?? '—'} MB (target < 250 MB: ${verdict(targets.serverPeakRssMB.met)})${pgRes && liteRes ? `; on PGlite ${liteRes.serverPeakRssMB} MB` : ''}`);

  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  log(`\nResults: ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
