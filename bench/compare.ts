/**
 * `npx tsx bench/compare.ts <checkout A> <checkout B>` — server CPU per command and per read of
 * two builds, measured interleaved so that a shared machine's load falls on both alike.
 *
 * On a machine where other work comes and goes, two benchmark runs taken one after the other
 * differ by more than most changes do. Here both servers (each checkout's `dist/cli.js`, built
 * beforehand with `npm run build`; the server's own `node_modules` are those of the checkout)
 * run at once on their own fresh PostgreSQL databases, and rounds alternate between them
 * (A B, B A, A B, …): each round drives one server with a few clients through the same lifecycle
 * as `npm run bench` (create with 3 milestones → activate → fund, submit, approve each — 11
 * commands) and then the contract page, reading the server's CPU time (/proc/<pid>/stat, 10 ms
 * ticks) and its write system calls (/proc/<pid>/io) before and after. It prints each round and
 * the median over rounds of CPU ms per command and per read, writes per request, and B ÷ A.
 *
 * Options (env): COMPARE_ROUNDS (8), COMPARE_LIFECYCLES (4 per client and round), COMPARE_READS
 * (60 per client and round), COMPARE_CLIENTS (2), BENCH_LOG_LEVEL (warn; `info` is the server's
 * default in production and logs every request), COMPARE_DATABASE_URL_A / _B (one side's
 * PostgreSQL admin URL, default BENCH_DATABASE_URL as for `npm run bench`), COMPARE_LOG_LEVEL_A / _B
 * (one side's LOG_LEVEL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { call, freshDatabase, HttpError, log, newUser, spawnServer, type Party, type ServerProc } from './lib.ts';

const ROUNDS = Number(process.env.COMPARE_ROUNDS ?? 8);
const LIFECYCLES = Number(process.env.COMPARE_LIFECYCLES ?? 4);
const READS = Number(process.env.COMPARE_READS ?? 60);
const CLIENTS = Number(process.env.COMPARE_CLIENTS ?? 2);
const COMMANDS_PER_LIFECYCLE = 11;

type Pair = { client: Party; contractor: Party; contracts: string[] };
type Side = { label: string; root: string; server: ServerProc; pairs: Pair[]; drop: () => Promise<void>; dataDir: string };
type Sample = { cmdMs: number; readMs: number; cmdWrites: number; readWrites: number };

const dueDate = (days: number) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);

async function lifecycle(base: string, pair: Pair) {
  const cmd = async (path: string, who: Party, body: unknown, expect: number) => {
    const r = await call(base, 'POST', path, who.token, body);
    if (r.status !== expect) throw new HttpError(path, r.status, r.body);
    return r.body;
  };
  const created = await cmd('/v1/contracts', pair.client, {
    title: 'Compare',
    clientId: pair.client.id,
    contractorId: pair.contractor.id,
    type: 'fixed',
    currency: 'USD',
    policy: 'sequential_escrow',
    milestones: [1, 2, 3].map((k) => ({ title: `Milestone ${k}`, amount: 10000 * k, dueDate: dueDate(10 * k) })),
  }, 201);
  pair.contracts.push(created.id);
  await cmd(`/v1/contracts/${created.id}/activate`, pair.contractor, {}, 200);
  for (const m of created.milestones as { id: string }[]) {
    await cmd(`/v1/milestones/${m.id}/fund`, pair.client, {}, 200);
    await cmd(`/v1/milestones/${m.id}/submit`, pair.contractor, { note: 'done' }, 200);
    await cmd(`/v1/milestones/${m.id}/approve`, pair.client, {}, 200);
  }
}

async function read(base: string, pair: Pair) {
  const id = pair.contracts[Math.floor(Math.random() * pair.contracts.length)]!;
  const r = await call(base, 'GET', `/v1/contracts/${id}`, pair.client.token);
  if (r.status !== 200) throw new HttpError('read', r.status, r.body);
}

async function start(label: string, root: string): Promise<Side> {
  // COMPARE_DATABASE_URL_A / _B: a side's PostgreSQL server (e.g. the same one over its Unix socket).
  const url = process.env[`COMPARE_DATABASE_URL_${label}`];
  if (url) process.env.BENCH_DATABASE_URL = url;
  // COMPARE_LOG_LEVEL_A / _B: a side's LOG_LEVEL (default BENCH_LOG_LEVEL, else warn).
  const level = process.env[`COMPARE_LOG_LEVEL_${label}`];
  if (level) process.env.BENCH_LOG_LEVEL = level;
  const db = await freshDatabase('tranche_compare');
  const dataDir = mkdtempSync(join(tmpdir(), 'tranche-compare-'));
  const server = await spawnServer({ databaseUrl: db.url, dataDir, compiled: true, root });
  const pairs: Pair[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const client = await newUser(server.url, server.adminToken, `client${i}`);
    const contractor = await newUser(server.url, server.adminToken, `contractor${i}`);
    const pm = await call(server.url, 'PUT', '/v1/me/payment-method', client.token, { paymentMethod: 'pm_card_ok' });
    if (pm.status !== 200) throw new HttpError('payment method', pm.status, pm.body);
    pairs.push({ client, contractor, contracts: [] });
  }
  // Warm-up: JIT, pool and credential cache are not measured cold.
  for (let i = 0; i < 2; i++) await Promise.all(pairs.map((p) => lifecycle(server.url, p)));
  for (let i = 0; i < 20; i++) await Promise.all(pairs.map((p) => read(server.url, p)));
  return { label, root, server, pairs, drop: db.drop, dataDir };
}

async function round(s: Side): Promise<Sample> {
  const cpu0 = s.server.cpuSeconds();
  const w0 = s.server.writeSyscalls();
  await Promise.all(s.pairs.map(async (p) => { for (let i = 0; i < LIFECYCLES; i++) await lifecycle(s.server.url, p); }));
  const cpu1 = s.server.cpuSeconds();
  const w1 = s.server.writeSyscalls();
  await Promise.all(s.pairs.map(async (p) => { for (let i = 0; i < READS; i++) await read(s.server.url, p); }));
  const cpu2 = s.server.cpuSeconds();
  const w2 = s.server.writeSyscalls();
  const commands = LIFECYCLES * COMMANDS_PER_LIFECYCLE * s.pairs.length;
  const reads = READS * s.pairs.length;
  return { cmdMs: ((cpu1 - cpu0) * 1000) / commands, readMs: ((cpu2 - cpu1) * 1000) / reads, cmdWrites: (w1 - w0) / commands, readWrites: (w2 - w1) / reads };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f = (n: number, d = 2) => n.toFixed(d);

async function main() {
  const [a, b] = process.argv.slice(2).map((p) => resolve(p));
  if (!a || !b) throw new Error('usage: npx tsx bench/compare.ts <checkout A> <checkout B> (each built with npm run build)');
  log(`compare: A = ${a}, B = ${b}; ${ROUNDS} rounds of ${LIFECYCLES} lifecycles and ${READS} reads per client, ${CLIENTS} clients`);
  log(`  load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const sides = [await start('A', a), await start('B', b)];
  const samples = new Map<string, Sample[]>(sides.map((s) => [s.label, []]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        const x = await round(s);
        samples.get(s.label)!.push(x);
        log(`  round ${r + 1} ${s.label}: ${f(x.cmdMs)} ms CPU/command, ${f(x.readMs)} ms/read; writes ${f(x.cmdWrites, 1)}/command, ${f(x.readWrites, 1)}/read  (load ${loadavg()[0]!.toFixed(1)})`);
      }
    }
  } finally {
    for (const s of sides) {
      await s.server.stop();
      await s.drop();
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  }
  const med = (label: string, k: keyof Sample) => median(samples.get(label)!.map((x) => x[k]));
  log(`  load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  log('  median over rounds        A        B    B ÷ A');
  for (const [k, name] of [['cmdMs', 'CPU ms per command'], ['readMs', 'CPU ms per read'], ['cmdWrites', 'writes per command'], ['readWrites', 'writes per read']] as const) {
    log(`  ${name.padEnd(22)} ${f(med('A', k)).padStart(8)} ${f(med('B', k)).padStart(8)} ${f(med('B', k) / med('A', k)).padStart(8)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
