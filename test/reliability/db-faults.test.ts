import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays } from '../support/harness.ts';
import { apiUser, createDatabase, freePort, mapLimit, prng, rawRequest, runSeed, ServerProcess, sleep, terminateBackends, type RawAnswer } from '../support/reliability-helpers.ts';

/**
 * Database faults (PRODUCT.md §5). While clients drive lifecycles, every connection of the
 * server to PostgreSQL is terminated (pg_terminate_backend) several times. A request either
 * succeeds or fails cleanly with 503 problem+json `service_unavailable` — never a hang, never
 * a crash of the process, never a half-written command — and the server recovers by itself.
 * Then: many escrow deposits with pm_card_fails_later at once, settled by the job runner while
 * connections are cut again, leave every milestone unfunded and the ledger balanced.
 */
const FLOWS = 24;
const MILESTONES = 3;
const TERMINATIONS = 4;

describe.skipIf(!engines().includes('postgres'))('database faults: connections terminated under load (postgres)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let server: ServerProcess;
  /** Our own checks use a fresh connection each time: the terminations cut every connection to the database. */
  const sql = {
    query: async (text: string, params?: unknown[]) => {
      const c = new pg.Client({ connectionString: db.url });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return await c.query(text, params);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  };

  beforeAll(async () => {
    db = await createDatabase('tranche_faults');
    server = new ServerProcess(await freePort(), db.url, { TRANCHE_TEST_CLOCK: '1', DB_POOL_SIZE: '10' });
    await server.start();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  }, 60_000);

  /** Every answer seen, classified; anything but success or a clean 503 is a failure. */
  function recorder() {
    const failures: string[] = [];
    let ok = 0;
    let unavailable = 0;
    const classify = (what: string, a: RawAnswer | Error, expected: number) => {
      if (a instanceof Error) {
        failures.push(`${what}: no answer (${a.name}: ${a.message})`);
        return 'broken' as const;
      }
      if (a.status === expected) {
        ok++;
        return 'ok' as const;
      }
      if (a.status === 503) {
        const clean = a.headers.get('content-type')?.startsWith('application/problem+json') && a.body?.code === 'service_unavailable' && a.body?.status === 503;
        if (!clean) failures.push(`${what}: 503 that is not a service_unavailable problem: ${JSON.stringify(a.body)}`);
        unavailable++;
        return 'unavailable' as const;
      }
      failures.push(`${what}: ${a.status} ${JSON.stringify(a.body)}`);
      return 'broken' as const;
    };
    return { failures, classify, counts: () => ({ ok, unavailable }) };
  }

  it('answers 2xx or a clean 503 while connections die, recovers without restart, writes nothing by halves', async () => {
    const rnd = prng(runSeed('db-faults'));
    const pid = server.pid;
    const admin = server.api();
    const flows = await mapLimit(Array.from({ length: FLOWS }, (_, i) => i), 6, async (i) => ({
      i,
      client: await apiUser(admin, server.url, `fault-client-${i}`, 'pm_card_ok'),
      contractor: await apiUser(admin, server.url, `fault-contractor-${i}`),
    }));
    const rec = recorder();
    const tag = Date.now().toString(36);

    /** One command, with its key; a clean 503 is retried with the same key, like a real client. */
    async function command(what: string, token: string, method: string, path: string, body: unknown, expected: number): Promise<any> {
      const key = `fault-${tag}-${what}`;
      for (let attempt = 1; attempt <= 50; attempt++) {
        const a = await rawRequest(server.url, method, path, {
          token,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: method === 'POST' ? { 'idempotency-key': key } : {},
          timeoutMs: 30_000,
        }).catch((e: Error) => e);
        const c = rec.classify(`${what} (attempt ${attempt})`, a, expected);
        if (c === 'ok') return (a as RawAnswer).body;
        if (c === 'broken') {
          await sleep(500); // let an exit be noticed
          throw new Error(`${what} failed: ${rec.failures.at(-1)}${server.alive ? '' : `\nthe server died: ${JSON.stringify(server.exits)}\n${server.tail()}`}`);
        }
        await sleep(rnd.int(20, 200));
      }
      throw new Error(`${what}: still unavailable after 50 attempts`);
    }

    let done = false;
    async function lifecycle(f: (typeof flows)[number]) {
      let round = 0;
      while (!done || round === 0) {
        const w = `${f.i}-${round}`;
        const c = await command(`create-${w}`, f.client.token, 'POST', '/v1/contracts', {
          title: `fault ${w}`,
          clientId: f.client.id,
          contractorId: f.contractor.id,
          type: 'fixed',
          currency: 'USD',
          policy: { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } },
          milestones: Array.from({ length: MILESTONES }, (_, j) => ({ title: `M${j}`, amount: rnd.int(500, 50_000), dueDate: inDays(20 + j) })),
        }, 201);
        await command(`activate-${w}`, f.contractor.token, 'POST', `/v1/contracts/${c.id}/activate`, undefined, 200);
        for (const [j, m] of (c.milestones as { id: string }[]).entries()) {
          await command(`fund-${w}-${j}`, f.client.token, 'POST', `/v1/milestones/${m.id}/fund`, {}, 200);
          await command(`get-${w}-${j}`, f.contractor.token, 'GET', `/v1/milestones/${m.id}`, undefined, 200);
          if (j === 0) continue; // stays funded
          await command(`submit-${w}-${j}`, f.contractor.token, 'POST', `/v1/milestones/${m.id}/submit`, {}, 200);
          if (j === 1) await command(`approve-${w}-${j}`, f.client.token, 'POST', `/v1/milestones/${m.id}/approve`, {}, 200);
        }
        await command(`view-${w}`, f.client.token, 'GET', `/v1/contracts/${c.id}`, undefined, 200);
        round++;
      }
    }

    const terminator = (async () => {
      let killed = 0;
      for (let t = 0; t < TERMINATIONS; t++) {
        await sleep(rnd.int(400, 1200));
        killed += await terminateBackends(db.name);
      }
      done = true;
      return killed;
    })();
    const t0 = Date.now();
    const [killed] = await Promise.all([terminator, Promise.all(flows.map(lifecycle))]);
    const elapsed = Date.now() - t0;
    process.stdout.write(`[db-faults] ${TERMINATIONS} terminations cut ${killed} backends; ${JSON.stringify(rec.counts())} answers in ${elapsed} ms\n`);

    expect(rec.failures).toEqual([]);
    expect(killed).toBeGreaterThan(0);
    // The same process is still serving: it recovered without a restart.
    expect(server.alive).toBe(true);
    expect(server.pid).toBe(pid);
    expect(server.exits).toEqual([]);
    let ready: RawAnswer | Error = new Error('not asked');
    for (let i = 0; i < 50; i++) {
      ready = await rawRequest(server.url, 'GET', '/readyz').catch((e: Error) => e);
      if (!(ready instanceof Error) && ready.status === 200) break;
      await sleep(100);
    }
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });

    // Nothing half-written: each funded milestone has its succeeded deposit and its ledger entry,
    // each unfunded one none; every command's key holds its answer.
    const ms = await sql.query(
      `SELECT m.id, m.status, m.funded_amount::int AS funded, m.amount::int AS amount,
         (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id) AS fundings,
         (SELECT COUNT(*)::int FROM journal_entries e WHERE e.milestone_id = m.id AND e.kind = 'escrow_funding') AS funding_entries,
         (SELECT COUNT(*)::int FROM payments p WHERE p.milestone_id = m.id) AS payments,
         (SELECT COUNT(*)::int FROM activity a WHERE a.milestone_id = m.id AND a.kind = 'milestone.funded') AS funded_events
       FROM milestones m JOIN contracts c ON c.id = m.contract_id WHERE c.title LIKE 'fault %'`,
    );
    const expectFor = (status: string) => (status === 'paid' ? 1 : 0);
    const bad = ms.rows.filter((m) => {
      const funded = m.status !== 'accepted';
      return (
        m.fundings !== (funded ? 1 : 0) || m.funding_entries !== (funded ? 1 : 0) || m.funded_events !== (funded ? 1 : 0) ||
        m.funded !== (funded ? m.amount : 0) || m.payments !== expectFor(m.status)
      );
    });
    expect(ms.rows.length).toBeGreaterThanOrEqual(FLOWS * MILESTONES);
    expect(bad).toEqual([]);
    const pending = await sql.query("SELECT key FROM idempotency_keys WHERE key LIKE $1 AND status_code = 0", [`fault-${tag}-%`]);
    expect(pending.rows).toEqual([]);

    const check = await rawRequest(server.url, 'GET', '/v1/admin/ledger/check', { token: admin.token });
    expect(check.status).toBe(200);
    expect(check.body.violations).toEqual([]);
  }, 180_000);

  it('pm_card_fails_later under load: every failed deposit is reversed, the ledger balances', async () => {
    const rnd = prng(runSeed('db-faults/fails-later'));
    const admin = server.api();
    const CONTRACTS = 20;
    const PER = 4;
    // Platform fees on (set by the platform, copied into the contracts proposed below).
    expect((await admin.patch('/v1/admin/platform', { fees: { clientBps: 250, contractorBps: 500 } })).status).toBe(200);
    const parties = await mapLimit(Array.from({ length: CONTRACTS }, (_, i) => i), 6, async (i) => ({
      client: await apiUser(admin, server.url, `later-client-${i}`, 'pm_card_fails_later'),
      contractor: await apiUser(admin, server.url, `later-contractor-${i}`),
    }));
    const contracts = await mapLimit(parties, 6, async (p, i) => {
      const c = await rawRequest(server.url, 'POST', '/v1/contracts', {
        token: p.client.token,
        body: JSON.stringify({
          title: `later ${i}`,
          clientId: p.client.id,
          contractorId: p.contractor.id,
          type: 'fixed',
          currency: 'USD',
          policy: { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } },
          milestones: Array.from({ length: PER }, (_, j) => ({ title: `L${j}`, amount: rnd.int(500, 80_000), dueDate: inDays(10 + j) })),
        }),
      });
      expect(c.status).toBe(201);
      const a = await rawRequest(server.url, 'POST', `/v1/contracts/${c.body.id}/activate`, { token: p.contractor.token });
      expect(a.status).toBe(200);
      return { id: c.body.id as string, token: p.client.token, milestones: (c.body.milestones as { id: string }[]).map((m) => m.id) };
    });

    // Every milestone of every contract funded at the same moment with the card that fails later
    // (half name it explicitly, half use the client's default).
    const funds = contracts.flatMap((c) => c.milestones.map((id) => ({ id, token: c.token, explicit: rnd.bool() })));
    const answers = await Promise.all(
      funds.map((f) =>
        rawRequest(server.url, 'POST', `/v1/milestones/${f.id}/fund`, { token: f.token, body: JSON.stringify(f.explicit ? { paymentMethod: 'pm_card_fails_later' } : {}) }),
      ),
    );
    const wrong = answers.filter((a) => a.status !== 200 || a.body.status !== 'funded' || a.body.fundingPending !== true);
    expect(wrong.map((a) => `${a.status} ${JSON.stringify(a.body)}`)).toEqual([]);
    let check = await rawRequest(server.url, 'GET', '/v1/admin/ledger/check', { token: admin.token });
    expect(check.body.violations).toEqual([]);

    // Settle: three job runners at once, with the connections cut once in the middle.
    const runs: string[] = [];
    const runJobs = async () => {
      for (let i = 0; i < 40; i++) {
        const r = await rawRequest(server.url, 'POST', '/v1/admin/jobs/run', { token: admin.token, timeoutMs: 60_000 }).catch((e: Error) => e);
        if (r instanceof Error) throw r;
        runs.push(String(r.status));
        if (r.status === 503) continue;
        expect(r.status).toBe(200);
        const [{ n }] = (await sql.query("SELECT COUNT(*)::int AS n FROM provider_operations WHERE status IN ('pending', 'processing')")).rows;
        if (n === 0) return;
        await sleep(100);
      }
    };
    const cut = (async () => {
      await sleep(rnd.int(20, 200));
      return terminateBackends(db.name);
    })();
    await Promise.all([runJobs(), runJobs(), runJobs(), cut]);
    // A settlement (the worker's sweep of processing provider operations) whose transaction was
    // cut is retried after its backoff: move the clock on.
    for (let round = 0; round < 5; round++) {
      const [{ n }] = (await sql.query("SELECT COUNT(*)::int AS n FROM provider_operations WHERE status IN ('pending', 'processing')")).rows;
      if (n === 0) break;
      const clock = await rawRequest(server.url, 'PUT', '/v1/admin/clock', { token: admin.token, body: JSON.stringify({ now: new Date(Date.now() + (round + 1) * 3_600_000).toISOString() }) });
      expect(clock.status).toBe(200);
      await runJobs();
    }
    process.stdout.write(`[db-faults/fails-later] ${funds.length} deposits; job runs: ${runs.join(',')}\n`);

    const rows = await sql.query(
      `SELECT m.id, m.status, m.funding_pending, m.funded_amount::int AS funded, m.refunded_amount::int AS refunded, m.released_amount::int AS released,
         (SELECT array_agg(f.status) FROM fundings f WHERE f.milestone_id = m.id) AS fundings,
         (SELECT COUNT(*)::int FROM journal_entries e WHERE e.milestone_id = m.id AND e.kind = 'charge_reversal') AS reversals
       FROM milestones m WHERE m.contract_id = ANY($1)`,
      [contracts.map((c) => c.id)],
    );
    expect(rows.rows).toHaveLength(CONTRACTS * PER);
    const notBack = rows.rows.filter(
      (m) => m.status !== 'accepted' || m.funding_pending || m.funded !== m.refunded || m.released !== 0 || m.reversals !== 1 || m.fundings?.length !== 1 || m.fundings[0] !== 'failed',
    );
    expect(notBack).toEqual([]);
    // The API says the same, and nothing is left in escrow.
    for (const c of contracts) {
      const v = await rawRequest(server.url, 'GET', `/v1/contracts/${c.id}`, { token: c.token });
      expect(v.body.overview).toMatchObject({ inEscrow: 0, paid: 0 });
      expect(v.body.milestones.map((m: { status: string }) => m.status)).toEqual(Array(PER).fill('accepted'));
    }
    check = await rawRequest(server.url, 'GET', '/v1/admin/ledger/check', { token: admin.token });
    expect(check.status).toBe(200);
    expect(check.body.violations).toEqual([]);
    expect(server.alive).toBe(true);
  }, 180_000);
});
