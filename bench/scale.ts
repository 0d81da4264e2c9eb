/**
 * `npm run bench:scale` — does read latency stay flat as the data grows?
 *
 * Seeds a fresh PostgreSQL database (set-based INSERT ... SELECT generate_series, in chunks)
 * with contracts of 10 milestones each in realistic states — proposals, live contracts with
 * paid / funded / submitted / upcoming milestones, closed contracts — and, for everything that
 * was funded, the escrow accounts, journal entries, postings and payments the product would
 * have written. One "heavy" client and contractor own 10 % of all contracts; the rest are spread
 * over 1,000 clients and 1,000 contractors.
 *
 * At 10^4, 10^5 and 10^6 milestones (seeded incrementally) it times, over HTTP against the
 * real server (child process), as the heavy users:
 *   GET /v1/contracts/{id}              the contract page (overview from the ledger + milestones)
 *   GET /v1/contracts?role=client       first page of the client's contracts
 *   GET /v1/contracts/{id}/milestones   the milestone list
 *   GET /v1/payments                    first page of the contractor's payments
 *
 * Env: SCALE_MAX (default 1000000 milestones), SCALE_REQUESTS (default 200 per endpoint and
 * level), BENCH_DATABASE_URL / TEST_DATABASE_URL. KEEP_DB=1 keeps the database.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PRESETS } from '../src/domain/policy.ts';
import { call, fmt, freshDatabase, log, lpad, newUser, pad, ROOT, serverVersion, spawnServer, summarize, type LatencySummary } from './lib.ts';

const MAX = Number(process.env.SCALE_MAX ?? 1_000_000);
const REQUESTS = Number(process.env.SCALE_REQUESTS ?? 200);
const PER_CONTRACT = 10;
const LEVELS = [10_000, 100_000, 1_000_000].filter((l) => l <= MAX);
if (!LEVELS.length || LEVELS[LEVELS.length - 1]! < MAX) LEVELS.push(MAX);
const CHUNK_CONTRACTS = 10_000; // 100,000 milestones per statement
const SHARED_USERS = 1000;
const pickOne = <T,>(a: T[]) => a[Math.floor(Math.random() * a.length)]!;

// Deterministic, well-mixed per-contract properties. h: status bucket (0..999), k: milestones
// already paid on a live contract (0..9), f: the next one is funded (0), submitted (1) or
// upcoming (2). Contract n belongs to the heavy pair when n % 10 = 0.
const SETUP_SQL = `
CREATE FUNCTION bench_c(lo bigint, hi bigint, heavy_client text, heavy_contractor text)
RETURNS TABLE (n bigint, id text, st text, k int, f int, client text, contractor text, ts timestamptz)
LANGUAGE sql IMMUTABLE AS $$
  SELECT n, 'ctr_' || lpad(n::text, 26, '0'),
         CASE WHEN h < 50 THEN 'proposal' WHEN h < 200 THEN 'closed' ELSE 'active' END,
         k, f,
         CASE WHEN n % 10 = 0 THEN heavy_client ELSE 'usr_c' || lpad((n % ${SHARED_USERS})::text, 25, '0') END,
         CASE WHEN n % 10 = 0 THEN heavy_contractor ELSE 'usr_k' || lpad(((n / 7) % ${SHARED_USERS})::text, 25, '0') END,
         timestamptz '2025-01-01' + n * interval '1 minute'
  FROM (SELECT n, ((n * 2654435761) % 1000)::int AS h, ((n * 40503) % 997 % 10)::int AS k, ((n * 7919) % 991 % 3)::int AS f
        FROM generate_series(lo, hi) n) x
$$;
CREATE FUNCTION bench_m(lo bigint, hi bigint, heavy_client text, heavy_contractor text)
RETURNS TABLE (n bigint, j int, cid text, mid text, ms_st text, amount bigint, client text, contractor text, ts timestamptz)
LANGUAGE sql IMMUTABLE AS $$
  SELECT c.n, j, c.id, 'ms_' || lpad((c.n * 10 + j)::text, 26, '0'),
         CASE WHEN c.st = 'proposal' THEN 'accepted'
              WHEN c.st = 'closed' OR j <= c.k THEN 'paid'
              WHEN j = c.k + 1 AND c.f = 0 THEN 'funded'
              WHEN j = c.k + 1 AND c.f = 1 THEN 'submitted'
              ELSE 'accepted' END,
         (10000 + ((c.n * 31 + j * 17) % 50) * 1000)::bigint,
         c.client, c.contractor, c.ts + j * interval '1 second'
  FROM bench_c(lo, hi, heavy_client, heavy_contractor) c CROSS JOIN generate_series(1, ${PER_CONTRACT}) j
$$;
`;

/** The seeding statements for contracts lo..hi; $1 platform, $2 heavy client, $3 heavy contractor, $4 policy, $5 lo, $6 hi. */
const SEED_STEPS: [string, string][] = [
  [
    'contracts',
    `INSERT INTO contracts (id, platform_id, title, client_id, contractor_id, created_by, type, currency, status, policy, ledger_seq, version, activated_at, closed_at, created_at, updated_at)
     SELECT id, $1, 'Seeded contract ' || n, client, contractor, client, 'fixed', 'USD', st, $4::jsonb,
            CASE st WHEN 'closed' THEN 20 WHEN 'active' THEN 2 * k + (CASE WHEN f < 2 THEN 1 ELSE 0 END) ELSE 0 END,
            1, CASE WHEN st <> 'proposal' THEN ts END, CASE WHEN st = 'closed' THEN ts + interval '30 days' END, ts, ts
     FROM bench_c($5::bigint, $6::bigint, $2, $3)`,
  ],
  [
    'milestones',
    `INSERT INTO milestones (id, platform_id, contract_id, position, title, amount, due_date, status, proposed_by, funded_amount, released_amount, submission_count, submitted_at, submission_note, version, created_at, updated_at)
     SELECT mid, $1, cid, j, 'Milestone ' || j, amount, (ts + j * interval '7 days')::date, ms_st, 'client',
            CASE WHEN ms_st IN ('paid', 'funded', 'submitted') THEN amount ELSE 0 END,
            CASE WHEN ms_st = 'paid' THEN amount ELSE 0 END,
            CASE WHEN ms_st IN ('paid', 'submitted') THEN 1 ELSE 0 END,
            CASE WHEN ms_st IN ('paid', 'submitted') THEN ts + interval '5 days' END,
            CASE WHEN ms_st IN ('paid', 'submitted') THEN 'done' END,
            1, ts, ts
     FROM bench_m($5::bigint, $6::bigint, $2, $3)`,
  ],
  [
    'escrow accounts',
    `INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
     SELECT $1, 'contracts:' || cid || ':escrow:' || mid, 'USD', 'escrow', cid, false,
            CASE WHEN ms_st = 'paid' THEN 0 ELSE amount END, ts
     FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st IN ('paid', 'funded', 'submitted')`,
  ],
  [
    // Each entry's hash chained to the previous one of its contract, over the postings the next
    // step inserts (tranche_entry_hash, as postEntry does), and the head kept on the contract.
    'journal entries',
    `INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at, hash)
     WITH RECURSIVE entry AS (
       SELECT 'je_f' || lpad((n * 10 + j)::text, 25, '0') AS id, cid, 2 * j - 1 AS seq, 'escrow_funding' AS kind, 'charge:seed_' || mid AS reference, mid, ts AS at,
              ARRAY[0, 1] AS idx, ARRAY['world', 'clients:' || client || ':funding'] AS src,
              ARRAY['clients:' || client || ':funding', 'contracts:' || cid || ':escrow:' || mid] AS dst, ARRAY[amount, amount] AS amt
       FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st IN ('paid', 'funded', 'submitted')
       UNION ALL
       SELECT 'je_r' || lpad((n * 10 + j)::text, 25, '0'), cid, 2 * j, 'escrow_release', 'release:pay_' || lpad((n * 10 + j)::text, 26, '0'), mid, ts + interval '6 days',
              ARRAY[0], ARRAY['contracts:' || cid || ':escrow:' || mid], ARRAY['contractors:' || contractor || ':balance'], ARRAY[amount]
       FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st = 'paid'
     ), chain AS (
       SELECT e.*, tranche_entry_hash(NULL, e.id, e.cid, e.seq, e.kind, e.reference, e.mid, e.at, e.idx, e.src, e.dst, e.amt, array_fill('USD'::text, ARRAY[cardinality(e.idx)])) AS hash
       FROM entry e WHERE e.seq = 1
       UNION ALL
       SELECT e.*, tranche_entry_hash(c.hash, e.id, e.cid, e.seq, e.kind, e.reference, e.mid, e.at, e.idx, e.src, e.dst, e.amt, array_fill('USD'::text, ARRAY[cardinality(e.idx)]))
       FROM chain c JOIN entry e ON e.cid = c.cid AND e.seq = c.seq + 1
     )
     SELECT id, $1, cid, seq, kind, reference, mid, at, hash FROM chain`,
  ],
  [
    'chain heads',
    `UPDATE contracts c SET ledger_head = e.hash FROM journal_entries e
     WHERE c.id IN (SELECT id FROM bench_c($5::bigint, $6::bigint, $2, $3)) AND e.contract_id = c.id AND e.seq = c.ledger_seq`,
  ],
  [
    'postings',
    `INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency)
     SELECT 'je_f' || lpad((n * 10 + j)::text, 25, '0'), 0, $1, cid, 'world', 'clients:' || client || ':funding', amount, 'USD'
     FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st IN ('paid', 'funded', 'submitted')
     UNION ALL
     SELECT 'je_f' || lpad((n * 10 + j)::text, 25, '0'), 1, $1, cid, 'clients:' || client || ':funding', 'contracts:' || cid || ':escrow:' || mid, amount, 'USD'
     FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st IN ('paid', 'funded', 'submitted')
     UNION ALL
     SELECT 'je_r' || lpad((n * 10 + j)::text, 25, '0'), 0, $1, cid, 'contracts:' || cid || ':escrow:' || mid, 'contractors:' || contractor || ':balance', amount, 'USD'
     FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st = 'paid'`,
  ],
  [
    'payments',
    `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, version, paid_at, created_at, updated_at)
     SELECT 'pay_' || lpad((n * 10 + j)::text, 26, '0'), $1, cid, mid, client, contractor, 'milestone', amount, 0, 'USD', 'paid', 1,
            ts + interval '6 days', ts + interval '6 days', ts + interval '6 days'
     FROM bench_m($5::bigint, $6::bigint, $2, $3) WHERE ms_st = 'paid'`,
  ],
];

type Endpoint = { name: string; path: (contractId: string) => string; as: 'client' | 'contractor' | 'light' };
const ENDPOINTS: Endpoint[] = [
  { name: 'GET /v1/contracts/{id}', path: (id) => `/v1/contracts/${id}`, as: 'client' },
  { name: 'GET /v1/contracts?role=client', path: () => '/v1/contracts?role=client', as: 'client' },
  { name: 'GET /v1/contracts (either role)', path: () => '/v1/contracts', as: 'client' },
  { name: 'GET /v1/contracts/{id}/milestones', path: (id) => `/v1/contracts/${id}/milestones`, as: 'client' },
  { name: 'GET /v1/payments', path: () => '/v1/payments', as: 'contractor' },
  { name: 'GET /v1/payments?role=contractor', path: () => '/v1/payments?role=contractor', as: 'contractor' },
  // a light user: one of the 1,000 seeded clients (0.09 % of the contracts)
  { name: 'GET /v1/contracts, light user', path: () => '/v1/contracts', as: 'light' },
  { name: 'GET /v1/payments, light user', path: () => '/v1/payments', as: 'light' },
];

/** The list query for "either role", as src/http/routes/{contracts,payments}.ts run it. */
const eitherRole = (t: string) =>
  `(SELECT * FROM ${t} WHERE platform_id = $1 AND client_id = $2 ORDER BY id DESC LIMIT 51)
   UNION ALL (SELECT * FROM ${t} WHERE platform_id = $1 AND contractor_id = $2 ORDER BY id DESC LIMIT 51) ORDER BY id DESC LIMIT 51`;

/** The SQL behind the endpoints; EXPLAIN ANALYZE at every level gives a load-independent view of growth. */
function planQueries(platformId: string, contractId: string, heavyClient: string, heavyContractor: string, light: string): [string, string, unknown[]][] {
  return [
    ['overview: escrow', `SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts WHERE platform_id = $1 AND contract_id = $2 AND kind = 'escrow'`, [platformId, contractId]],
    ['overview: paid', `SELECT COALESCE(SUM(amount), 0) FROM postings WHERE contract_id = $1 AND (destination = $2 OR destination = 'platform:fees:contractor')`, [contractId, `contractors:${heavyContractor}:balance`]],
    ['overview: total', `SELECT COALESCE(SUM(amount), 0) FROM milestones WHERE contract_id = $1`, [contractId]],
    ['milestones', `SELECT * FROM milestones WHERE contract_id = $1 ORDER BY position, id`, [contractId]],
    ['contracts?role=client', `SELECT * FROM contracts WHERE platform_id = $1 AND client_id = $2 ORDER BY id DESC LIMIT 51`, [platformId, heavyClient]],
    ['contracts (either role)', eitherRole('contracts'), [platformId, heavyClient]],
    ['payments (either role)', eitherRole('payments'), [platformId, heavyContractor]],
    ['contracts, light user', eitherRole('contracts'), [platformId, light]],
    ['payments, light user', eitherRole('payments'), [platformId, light]],
  ];
}

async function main() {
  const pgVersion = await serverVersion();
  log(`Tranche scale bench — ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, PostgreSQL ${pgVersion}`);
  log(`  levels: ${LEVELS.map((l) => l.toLocaleString('en')).join(', ')} milestones (${PER_CONTRACT} per contract); ${REQUESTS} sequential requests per endpoint and level`);
  log(`  load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const db = await freshDatabase('tranche_scale');
  const dataDir = mkdtempSync(join(tmpdir(), 'tranche-scale-'));
  const server = await spawnServer({ databaseUrl: db.url, dataDir, worker: false });
  const sql = new pg.Client({ connectionString: db.url });
  const levels: Record<string, unknown>[] = [];
  try {
    await sql.connect();
    log(`  server pid ${server.pid} on ${server.url}, database ${db.name} (migrated by the server)`);
    const client = await newUser(server.url, server.adminToken, 'heavy-client');
    const contractor = await newUser(server.url, server.adminToken, 'heavy-contractor');
    // a light user: seeded client 1 (contracts n = 1001, 2001, ...), with a token from the admin API
    const lightId = `usr_c${'1'.padStart(25, '0')}`;
    const [{ id: platformId }] = (await sql.query<{ id: string }>('SELECT id FROM platforms WHERE is_default')).rows as [{ id: string }];
    await sql.query(SETUP_SQL);
    // the shared users and their (derived-balance) ledger accounts
    await sql.query(
      `INSERT INTO users (id, platform_id, email, email_normalized, name, created_at, updated_at)
       SELECT 'usr_' || r || lpad(i::text, 25, '0'), $1, r || i || '@seed.example', r || i || '@seed.example', 'Seeded ' || r || i, now(), now()
       FROM generate_series(0, ${SHARED_USERS - 1}) i CROSS JOIN (VALUES ('c'), ('k')) v(r)`,
      [platformId],
    );
    await sql.query(
      `INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, 'world', 'USD', 'world', NULL::text, true, NULL::bigint, now()
       UNION ALL SELECT $1, 'clients:' || id || ':funding', 'USD', 'client_funding', NULL, false, NULL, now() FROM users WHERE platform_id = $1
       UNION ALL SELECT $1, 'contractors:' || id || ':balance', 'USD', 'contractor_balance', NULL, false, NULL, now() FROM users WHERE platform_id = $1
       ON CONFLICT DO NOTHING`,
      [platformId],
    );
    const lt = await call(server.url, 'POST', `/v1/users/${lightId}/tokens`, server.adminToken, {});
    if (lt.status !== 201 && lt.status !== 200) throw new Error(`light user token: ${lt.status} ${JSON.stringify(lt.body)}`);
    const light = { id: lightId, token: lt.body.token as string };
    const policy = JSON.stringify(PRESETS.sequential_escrow);
    let seededContracts = 0;
    const fastSeed = (await sql.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user')).rows[0]?.s === true;
    if (!fastSeed) log('  (not a superuser: foreign-key checks stay on while seeding, which is slower)');
    for (const level of LEVELS) {
      const targetContracts = level / PER_CONTRACT;
      log(`\n== Seeding to ${level.toLocaleString('en')} milestones (${targetContracts.toLocaleString('en')} contracts)`);
      const t0 = performance.now();
      while (seededContracts < targetContracts) {
        const lo = seededContracts + 1;
        const hi = Math.min(targetContracts, seededContracts + CHUNK_CONTRACTS);
        const c0 = performance.now();
        const counts: string[] = [];
        await sql.query('BEGIN');
        // The rows are consistent by construction: skip the per-row foreign-key triggers while
        // seeding (needs a superuser, as the default postgres URL is; otherwise they just run).
        if (fastSeed) await sql.query("SET LOCAL session_replication_role = 'replica'");
        for (const [name, text] of SEED_STEPS) {
          // values inlined as literals: not every statement uses every parameter
          const values = [platformId, client.id, contractor.id, policy, String(lo), String(hi)];
          const r = await sql.query(text.replace(/\$(\d)/g, (_, d: string) => sql.escapeLiteral(values[Number(d) - 1]!)));
          counts.push(`${r.rowCount} ${name}`);
        }
        await sql.query('COMMIT');
        seededContracts = hi;
        const s = (performance.now() - c0) / 1000;
        log(`  contracts ${lpad(lo.toLocaleString('en'), 9)}–${pad(hi.toLocaleString('en'), 9)} in ${fmt(s)} s (${Math.round(((hi - lo + 1) * PER_CONTRACT) / s).toLocaleString('en')} milestones/s): ${counts.join(', ')}`);
      }
      await sql.query('ANALYZE');
      const seedSeconds = (performance.now() - t0) / 1000;
      const sizes = (
        await sql.query<{ t: string; n: number }>(
          `SELECT relname AS t, n_live_tup::bigint AS n FROM pg_stat_user_tables
           WHERE relname IN ('contracts','milestones','ledger_accounts','journal_entries','postings','payments') ORDER BY relname`,
        )
      ).rows;
      log(`  seeded in ${fmt(seedSeconds)} s; rows: ${sizes.map((r) => `${r.t} ${Number(r.n).toLocaleString('en')}`).join(', ')}`);
      log(`  database size ${(await sql.query<{ s: string }>('SELECT pg_size_pretty(pg_database_size(current_database())) AS s')).rows[0]!.s}`);

      // The heavy pair's contracts: n = 10, 20, ... (all of them are the heavy client's)
      const heavyIds = Array.from({ length: Math.floor(targetContracts / 10) }, (_, i) => `ctr_${String((i + 1) * 10).padStart(26, '0')}`);
      const latencies: Record<string, LatencySummary> = {};
      for (const ep of ENDPOINTS) {
        const who = ep.as === 'client' ? client : ep.as === 'contractor' ? contractor : light;
        const pick = () => heavyIds[Math.floor(Math.random() * heavyIds.length)]!;
        for (let i = 0; i < 20; i++) await call(server.url, 'GET', ep.path(pick()), who.token); // warm-up
        const samples: number[] = [];
        let bad = 0;
        for (let i = 0; i < REQUESTS; i++) {
          const r = await call(server.url, 'GET', ep.path(pick()), who.token);
          if (r.status !== 200) bad++;
          samples.push(r.ms);
        }
        latencies[ep.name] = summarize(samples);
        const s = latencies[ep.name]!;
        log(`  ${pad(ep.name, 36)} p50 ${lpad(fmt(s.p50, 2), 7)}  p95 ${lpad(fmt(s.p95, 2), 7)}  p99 ${lpad(fmt(s.p99, 2), 7)} ms${bad ? `  (${bad} non-200!)` : ''}`);
      }
      // database execution time of the queries behind the endpoints (best of 5, EXPLAIN ANALYZE)
      const execMs: Record<string, number> = {};
      for (const [name, text, params] of planQueries(platformId, pickOne(heavyIds), client.id, contractor.id, light.id)) {
        let best = Infinity;
        for (let i = 0; i < 5; i++) {
          const r = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${text}`, params);
          const t = Number(r.rows.map((x) => x['QUERY PLAN']).find((l) => l.startsWith('Execution Time'))?.match(/([\d.]+) ms/)?.[1]);
          best = Math.min(best, t);
        }
        execMs[name] = best;
      }
      log(`  database execution ms (best of 5): ${Object.entries(execMs).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ')}`);
      levels.push({ milestones: level, contracts: targetContracts, heavyUserContracts: heavyIds.length, seedSeconds: Math.round(seedSeconds * 10) / 10, rows: Object.fromEntries(sizes.map((r) => [r.t, Number(r.n)])), latencyMs: latencies, dbExecutionMs: execMs });
    }

    // Plans of the queries behind the endpoints, at the largest size
    log('\n== Query plans at the largest size (heavy user)');
    const plans = planQueries(platformId, `ctr_${String(10).padStart(26, '0')}`, client.id, contractor.id, light.id);
    const planOut: Record<string, string[]> = {};
    for (const [name, text, params] of plans) {
      const r = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params);
      const lines = r.rows.map((x) => x['QUERY PLAN']);
      planOut[name] = lines;
      log(`  ${name}:`);
      for (const l of lines.filter((l) => /Scan|Sort|Limit|Append|Execution/.test(l))) log(`     ${l.trim()}`);
    }

    log('\n== Growth (p50 / p99 in ms, per level)');
    log(`  ${pad('endpoint', 36)}${LEVELS.map((l) => lpad(l.toLocaleString('en'), 18)).join('')}   p50 growth`);
    for (const ep of ENDPOINTS) {
      const cells = levels.map((lv) => (lv.latencyMs as Record<string, LatencySummary>)[ep.name]!);
      const growth = cells.length > 1 ? cells[cells.length - 1]!.p50 / cells[0]!.p50 : 1;
      log(`  ${pad(ep.name, 36)}${cells.map((c) => lpad(`${fmt(c.p50, 2)} / ${fmt(c.p99, 2)}`, 18)).join('')}   ×${fmt(growth, 2)}`);
    }
    log('\n== Growth of database execution time (ms, best of 5)');
    log(`  ${pad('query', 36)}${LEVELS.map((l) => lpad(l.toLocaleString('en'), 14)).join('')}`);
    for (const [name] of planQueries('', '', '', '', '')) {
      log(`  ${pad(name, 36)}${levels.map((lv) => lpad(fmt((lv.dbExecutionMs as Record<string, number>)[name]!, 3), 14)).join('')}`);
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const file = join(ROOT, 'bench', 'results', `scale-${stamp}.json`);
    writeFileSync(
      file,
      JSON.stringify({ machine: { nproc: cpus().length, node: process.version, postgres: pgVersion, loadavg: loadavg() }, requests: REQUESTS, levels, plans: planOut, serverPeakRssMB: Math.round(server.peakRssKb() / 102.4) / 10 }, null, 2) + '\n',
    );
    log(`\nResults: ${file}`);
  } finally {
    await sql.end().catch(() => undefined);
    await server.stop();
    if (process.env.KEEP_DB === '1') log(`  kept database ${db.url}`);
    else await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`scale bench failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
