/**
 * `npm run bench:invoicing` — do Monday's invoices and Wednesday's payments scale linearly?
 *
 * Seeds a fresh PostgreSQL database, set-based in chunks, with N live hourly contracts (default
 * 100,000; 1,000 clients with a saved card, 1,000 contractors), each with a week of time
 * entries (Monday–Friday, 8 h a day; half the contracts have a 30 h weekly limit; one contract
 * in ten has an escrowed milestone payment that Wednesday draws on first). Then, with the
 * product's own worker (src/jobs/worker.ts, state jobs in claiming transactions), it times:
 *   Monday     the `hourly_invoicing` job: one invoice per contract, lines, Wednesday's jobs
 *   Wednesday  every `invoice_payment` job (one per 200 invoices), run by INVOICING_WORKERS
 *              concurrent worker loops (escrow release and/or card charge, journal entries,
 *              payments, events)
 * and checks the ledger. A progress line is printed while each phase runs, and each phase's CPU
 * time (this process plus the database backends serving it, from /proc: PostgreSQL must run on
 * this machine) beside its wall time: on a machine shared with other work the wall time grows with
 * the load, the CPU time much less.
 *
 * Env: INVOICING_N (default 100000), INVOICING_WORKERS (default 4), BENCH_DATABASE_URL /
 * TEST_DATABASE_URL, KEEP_DB=1 keeps the database, INVOICING_CHECK=0 skips the ledger check.
 * Exits non-zero when an invoice is left unpaid or the ledger check fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ensureDefaultPlatform } from '../src/bootstrap.ts';
import { openDb, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { AdjustableClock } from '../src/domain/clock.ts';
import { PRESETS } from '../src/domain/policy.ts';
import { runDueJobs, type WorkerDeps } from '../src/jobs/worker.ts';
import { checkLedger } from '../src/ledger/check.ts';
import { createMailer } from '../src/notify/email.ts';
import { SandboxProvider } from '../src/payments/sandbox.ts';
import { freshDatabase, log } from './lib.ts';

const N = Number(process.env.INVOICING_N ?? 100_000);
const WORKERS = Number(process.env.INVOICING_WORKERS ?? 4);
const CHUNK = 10_000;
const USERS = 1000;
const WEEK = '2030-01-07'; // a Monday; weeks are UTC (the platform default)

async function seed(db: Db, platformId: string) {
  const at = new Date('2030-01-06T00:00:00Z');
  const policy = JSON.stringify(PRESETS.hourly_requests);
  await db.query(
    `INSERT INTO users (id, platform_id, email, email_normalized, name, default_payment_method, created_at, updated_at)
     SELECT 'usr_' || r || lpad(n::text, 25, '0'), $1, r || n || '@bench.example', r || n || '@bench.example', r || ' ' || n,
            CASE WHEN r = 'c' THEN 'pm_card_ok' END, $2, $2
     FROM generate_series(0, ${USERS - 1}) n CROSS JOIN (VALUES ('c'), ('k')) v(r)`,
    [platformId, at],
  );
  for (let lo = 0; lo < N; lo += CHUNK) {
    const hi = Math.min(N, lo + CHUNK) - 1;
    await db.tx(async (tx) => {
      await tx.query(
        `INSERT INTO contracts (id, platform_id, title, client_id, contractor_id, created_by, type, currency, status, policy, hourly_rate, weekly_limit_hours, activated_at, created_at, updated_at)
         SELECT 'ctr_' || lpad(n::text, 26, '0'), $1, 'Hourly ' || n, 'usr_c' || lpad((n % ${USERS})::text, 25, '0'), 'usr_k' || lpad(((n / 7) % ${USERS})::text, 25, '0'),
                'usr_c' || lpad((n % ${USERS})::text, 25, '0'), 'hourly', 'USD', 'active', $2::jsonb, 2000 + n % 7001, CASE WHEN n % 2 = 0 THEN 30 END, $3, $3, $3
         FROM generate_series($4::bigint, $5::bigint) n`,
        [platformId, policy, at, lo, hi],
      );
      await tx.query(
        `INSERT INTO time_entries (id, platform_id, contract_id, date, minutes, memo, created_at, updated_at)
         SELECT 'te_' || lpad((n * 5 + d)::text, 26, '0'), $1, 'ctr_' || lpad(n::text, 26, '0'), $2::date + d, 480, 'Work of day ' || d, $3, $3
         FROM generate_series($4::bigint, $5::bigint) n CROSS JOIN generate_series(0, 4) d`,
        [platformId, WEEK, at, lo, hi],
      );
    });
    process.stdout.write(`\r  seeded ${hi + 1}/${N} contracts`);
  }
  process.stdout.write('\n');
}

/** Escrowed milestone payments on one contract in ten, funded through the product's own use case. */
async function fundSome(db: Db, deps: WorkerDeps, platformId: string) {
  const { answerMilestoneRequest, requestMilestone } = await import('../src/usecases/hourly/milestone-requests.ts');
  const n = Math.ceil(N / 10);
  for (let i = 0; i < N; i += 10) {
    const contractId = `ctr_${String(i).padStart(26, '0')}`;
    const client = `usr_c${String(i % USERS).padStart(25, '0')}`;
    const contractor = `usr_k${String(Math.floor(i / 7) % USERS).padStart(25, '0')}`;
    const at = deps.clock.now();
    const req = await db.tx((tx) => requestMilestone({ tx, deps, now: at, principal: { platformId, userId: contractor, viaAdmin: false, key: 'bench' } }, contractId, { amount: 20000, description: 'Advance' }));
    await db.tx((tx) => answerMilestoneRequest({ tx, deps, now: at, principal: { platformId, userId: client, viaAdmin: false, key: 'bench' } }, req.id, 'accept'));
    if ((i / 10) % 500 === 0) process.stdout.write(`\r  funded ${i / 10 + 1}/${n} milestone payments`);
  }
  process.stdout.write('\n');
  // Accepting a request writes its card charge as a provider operation, made after commit: make
  // them now (as the request would), so that the escrow is funded before Monday.
  const { finishDueOperations } = await import('../src/usecases/payments/perform-operation.ts');
  while ((await finishDueOperations(db, deps, { pendingOnly: true, max: 1000 })) > 0);
}

/** CPU seconds (user + system) of this process, and per backend of `database` (pid → seconds), now. */
async function cpuNow(db: Db, database: string): Promise<{ own: number; backends: Map<number, number> }> {
  const own = process.cpuUsage();
  const backends = new Map<number, number>();
  for (const { pid } of await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])) {
    try {
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat (in clock ticks, 100 a second), after the command's ") ".
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      backends.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* not on this machine, or ended */
    }
  }
  return { own: (own.user + own.system) / 1e6, backends };
}

/** CPU seconds since `from`: this process, and the backends alive now (a backend opened meanwhile counts whole). */
async function cpuSince(db: Db, database: string, from: Awaited<ReturnType<typeof cpuNow>>): Promise<{ own: number; db: number }> {
  const to = await cpuNow(db, database);
  let backends = 0;
  for (const [pid, s] of to.backends) backends += s - (from.backends.get(pid) ?? 0);
  return { own: to.own - from.own, db: backends };
}

async function pending(db: Db, kind: string): Promise<number> {
  const [r] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE kind = $1 AND status = 'pending'", [kind]);
  return r!.n;
}

/** Runs due jobs with `workers` concurrent loops until no job of `kind` is pending; prints progress (`left`: what is still to do). */
async function phase(db: Db, database: string, deps: WorkerDeps, kind: string, total: number, workers: number, left = () => pending(db, kind)) {
  const cpu0 = await cpuNow(db, database);
  const t0 = performance.now();
  let done = false;
  const progress = setInterval(() => {
    void left().then((n) => process.stdout.write(`\r  ${kind}: ${total - n}/${total} done, ${((performance.now() - t0) / 1000).toFixed(1)} s`));
  }, 1000);
  const loop = async () => {
    while (!done) {
      const r = await runDueJobs(db, deps, 100);
      if (r.ran + r.failed === 0 || (await pending(db, kind)) === 0) done = true;
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  clearInterval(progress);
  const s = (performance.now() - t0) / 1000;
  const cpu = await cpuSince(db, database, cpu0);
  const [load] = readFileSync('/proc/loadavg', 'utf8').split(' ');
  process.stdout.write(
    `\r  ${kind}: ${total}/${total} done in ${s.toFixed(1)} s, CPU ${(cpu.own + cpu.db).toFixed(1)} s (this process ${cpu.own.toFixed(1)} s, database ${cpu.db.toFixed(1)} s; load average ${load})                    \n`,
  );
  return { s, cpu: cpu.own + cpu.db };
}

async function main() {
  const database = await freshDatabase('tranche_bench_invoicing');
  const dataDir = mkdtempSync(join(tmpdir(), 'tranche-bench-invoicing-'));
  const db = await openDb({ databaseUrl: database.url, dataDir, poolSize: WORKERS + 2 });
  try {
    log(`bench:invoicing — ${N} hourly contracts, ${WORKERS} worker loops, PostgreSQL ${database.name}`);
    await migrate(db);
    const clock = new AdjustableClock();
    clock.set(new Date('2030-01-08T09:00:00Z'));
    const platformId = await ensureDefaultPlatform(db, clock.now());
    const deps: WorkerDeps = { clock, provider: new SandboxProvider(), mailer: createMailer(undefined, 'bench@example.com'), log: pino({ level: 'silent' }), webhooks: undefined as never };
    let t = performance.now();
    await seed(db, platformId);
    await fundSome(db, deps, platformId);
    // The seed's own notifications (the fundings) are not part of the timed phases.
    await db.query("UPDATE jobs SET status = 'done' WHERE kind = 'email'");
    // Statistics as autovacuum would keep them (it is off on some servers, e.g. this machine's):
    // without them the planner sees the bulk-loaded tables as empty.
    await db.query('ANALYZE');
    log(`  seeding took ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await db.query(
      `INSERT INTO jobs (id, platform_id, kind, payload, run_at, dedupe_key, created_at, updated_at)
       VALUES ('job_bench_monday', $1, 'hourly_invoicing', $2, '2030-01-14T00:00:00Z', $3, now(), now())`,
      [platformId, JSON.stringify({ periodStart: WEEK }), `hourly-invoicing:${platformId}:${WEEK}`],
    );

    clock.set(new Date('2030-01-14T00:00:01Z'));
    const monday = await phase(db, database.name, deps, 'hourly_invoicing', 1, 1);
    const [inv] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM invoices');
    await db.query('ANALYZE'); // Monday wrote the invoices, their lines and Wednesday's jobs
    clock.set(new Date('2030-01-16T00:00:01Z'));
    const open = async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM invoices WHERE status = 'open'"))[0]!.n;
    const wednesday = await phase(db, database.name, deps, 'invoice_payment', inv!.n, WORKERS, open);
    const [paid] = await db.query<{ n: number; escrow: number }>("SELECT count(*)::int AS n, count(*) FILTER (WHERE paid_from_escrow > 0)::int AS escrow FROM invoices WHERE status = 'paid'");
    // The figures first: the ledger check takes longer than the jobs at 100,000 (its own scaling).
    log('');
    log(`| contracts | invoices | Monday job (CPU) | paid | of which from escrow | Wednesday jobs, ${WORKERS} loops (CPU) | per invoice |`);
    log('|---:|---:|---:|---:|---:|---:|---:|');
    log(
      `| ${N} | ${inv!.n} | ${monday.s.toFixed(1)} s (${monday.cpu.toFixed(1)} s) | ${paid!.n} | ${paid!.escrow} | ${wednesday.s.toFixed(1)} s (${wednesday.cpu.toFixed(1)} s) | ${((wednesday.s * 1000) / inv!.n).toFixed(2)} ms |`,
    );
    if (paid!.n !== inv!.n) process.exitCode = 1;
    if (process.env.INVOICING_CHECK === '0') return log('  ledger check skipped (INVOICING_CHECK=0)');
    await db.query('ANALYZE'); // Wednesday wrote the payments, journal entries and postings
    t = performance.now();
    const report = await checkLedger(db, platformId);
    log(`  ledger check: ${report.ok ? 'clean' : `${report.violations.length} violations`} (${report.entries} entries, ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    if (!report.ok) process.exitCode = 1;
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (!process.env.KEEP_DB) await database.drop();
  }
}

await main();
