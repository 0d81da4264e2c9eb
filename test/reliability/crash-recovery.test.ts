import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays } from '../support/harness.ts';
import { apiUser, createDatabase, freePort, rawRequest, runSeed, prng, ServerProcess, sleep } from '../support/reliability-helpers.ts';

/**
 * Crash recovery (PRODUCT.md §5: "A crash at any point loses no committed money movement and
 * duplicates none; a retried request with its Idempotency-Key gets the first answer").
 *
 * The server runs as a child process (the real CLI) on a fresh PostgreSQL database. Clients
 * drive whole lifecycles, each command with its own Idempotency-Key, retrying the same request
 * until they get an answer. The server is killed with SIGKILL twice mid-load and restarted on
 * the same database and port. Afterwards every acknowledged command must be there exactly once.
 */
const FLOWS = 24;
const MILESTONES = 2;
const KILL_AFTER = [45, 120]; // acknowledged commands before each kill -9
const COMMANDS_PER_FLOW = 2 + MILESTONES * 3;

describe.skipIf(!engines().includes('postgres'))('crash recovery: kill -9 mid-load, restart, retry with Idempotency-Key (postgres)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let server: ServerProcess;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createDatabase('tranche_crash');
    server = new ServerProcess(await freePort(), db.url);
    await server.start();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await server?.stop();
    await db?.drop();
  }, 60_000);

  it('loses no acknowledged command and runs none twice', async () => {
    const rnd = prng(runSeed('crash-recovery'));
    const admin = server.api();
    const flows: { i: number; client: Awaited<ReturnType<typeof apiUser>>; contractor: Awaited<ReturnType<typeof apiUser>>; amounts: number[] }[] = [];
    for (let i = 0; i < FLOWS; i++) {
      const client = await apiUser(admin, server.url, `crash-client-${i}`, 'pm_card_ok');
      const contractor = await apiUser(admin, server.url, `crash-contractor-${i}`);
      flows.push({ i, client, contractor, amounts: Array.from({ length: MILESTONES }, () => rnd.int(500, 90_000)) });
    }

    type Ack = { flow: number; step: string; key: string; status: number; attempts: number; replayed: boolean; twin?: boolean };
    const acks: Ack[] = [];
    const unexpected: string[] = [];
    let networkFailures = 0;
    let serverErrors = 0;
    const runTag = Date.now().toString(36);

    /** Sends the same request (same key, same body) until the server answers it. */
    async function command(flow: number, step: string, token: string, path: string, body: unknown, expected: number): Promise<any> {
      const key = `crash-${runTag}-${flow}-${step}`;
      const payload = JSON.stringify(body ?? {});
      const deadline = Date.now() + 150_000;
      for (let attempt = 1; ; attempt++) {
        if (Date.now() > deadline) throw new Error(`no answer for ${step} of flow ${flow} after ${attempt} attempts`);
        // Now and then the client sends a twin of the same request at the same time (a retry
        // racing the original): both must get the same answer, executed once.
        const twin = rnd.bool(0.15);
        const send = () => rawRequest(server.url, 'POST', path, { token, body: payload, headers: { 'idempotency-key': key }, timeoutMs: 20_000 });
        const settled = await Promise.allSettled(twin ? [send(), send()] : [send()]);
        const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        networkFailures += settled.length - answers.length;
        const good = answers.filter((a) => a.status < 500 && !(a.status === 409 && a.body?.code === 'idempotency_in_progress'));
        serverErrors += answers.filter((a) => a.status >= 500).length;
        if (good.length === 0) {
          await sleep(50 + rnd.int(0, 150));
          continue;
        }
        for (const a of good) {
          if (a.status !== expected) unexpected.push(`${step} flow ${flow} attempt ${attempt}: ${a.status} ${JSON.stringify(a.body)}`);
        }
        if (good.length === 2 && JSON.stringify(good[0]!.body?.id) !== JSON.stringify(good[1]!.body?.id)) {
          unexpected.push(`${step} flow ${flow}: twins answered different resources ${good[0]!.body?.id} / ${good[1]!.body?.id}`);
        }
        const a = good[0]!;
        acks.push({ flow, step, key, status: a.status, attempts: attempt, replayed: good.some((g) => g.headers.get('idempotent-replayed') === 'true'), twin });
        return a.body;
      }
    }

    async function lifecycle(f: (typeof flows)[number]) {
      const c = await command(f.i, 'create', f.client.token, '/v1/contracts', {
        title: `crash-${runTag}-${f.i}`,
        clientId: f.client.id,
        contractorId: f.contractor.id,
        type: 'fixed',
        currency: 'USD',
        policy: { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null, minFundingAmount: {} } },
        milestones: f.amounts.map((amount, j) => ({ title: `M${j + 1}`, amount, dueDate: inDays(30 + j) })),
      }, 201);
      await command(f.i, 'activate', f.client.token, `/v1/contracts/${c.id}/activate`, null, 200);
      for (const [j, m] of (c.milestones as { id: string }[]).entries()) {
        await command(f.i, `fund-${j}`, f.client.token, `/v1/milestones/${m.id}/fund`, { paymentMethod: 'pm_card_ok' }, 200);
        await command(f.i, `submit-${j}`, f.contractor.token, `/v1/milestones/${m.id}/submit`, { note: `done ${j}` }, 200);
        await command(f.i, `approve-${j}`, f.client.token, `/v1/milestones/${m.id}/approve`, null, 200);
      }
      return c.id as string;
    }

    // The killer: kill -9 after N acknowledged commands, restart on the same database and port.
    let kills = 0;
    let loadDone = false;
    const killer = (async () => {
      for (const n of KILL_AFTER) {
        while (acks.length < n && !loadDone) await sleep(5);
        if (loadDone) break;
        await sleep(rnd.int(0, 30)); // somewhere inside the next commands
        await server.kill9();
        kills++;
        await sleep(rnd.int(100, 600));
        await server.start();
      }
    })();

    const t0 = Date.now();
    const contractIds = await Promise.all(flows.map(lifecycle)).finally(() => {
      loadDone = true;
    });
    await killer;
    const elapsed = Date.now() - t0;

    const retried = acks.filter((a) => a.attempts > 1);
    const replayed = acks.filter((a) => a.replayed);
    // Committed before the crash but never acknowledged, then answered from the stored response:
    const committedUnacked = acks.filter((a) => a.replayed && a.attempts > 1);
    process.stdout.write(
      `[crash-recovery] ${acks.length} commands acknowledged in ${elapsed} ms; kills ${kills}; retried ${retried.length}; ` +
        `answered by replay ${replayed.length} (of which after a crash ${committedUnacked.length}); network failures ${networkFailures}; 5xx ${serverErrors}\n`,
    );

    expect(unexpected).toEqual([]);
    expect(kills).toBe(KILL_AFTER.length);
    expect(server.exits.filter((e) => e.signal === 'SIGKILL')).toHaveLength(KILL_AFTER.length);
    expect(acks).toHaveLength(FLOWS * COMMANDS_PER_FLOW);
    expect(retried.length).toBeGreaterThan(0); // the kills really cut requests off

    // Every acknowledged command has its stored answer, exactly once.
    const keys = await sql.query<{ key: string; status_code: number }>("SELECT key, status_code FROM idempotency_keys WHERE key LIKE $1", [`crash-${runTag}-%`]);
    expect(keys.rows).toHaveLength(acks.length);
    expect(keys.rows.filter((k) => k.status_code === 0)).toEqual([]);

    // No contract duplicated: one per flow, each one the contract its client was told about.
    const contracts = await sql.query<{ title: string; n: number; ids: string[] }>(
      'SELECT title, COUNT(*)::int AS n, array_agg(id) AS ids FROM contracts WHERE title LIKE $1 GROUP BY title',
      [`crash-${runTag}-%`],
    );
    expect(contracts.rows).toHaveLength(FLOWS);
    expect(contracts.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(contracts.rows.flatMap((r) => r.ids).sort()).toEqual([...contractIds].sort());

    // Each milestone: funded once, released once, paid once; each command's activity once.
    const ms = await sql.query<{ id: string; status: string; amount: number; funded: number; released: number; refunded: number; fundings: number; ok_fundings: number; payments: number; entries: string[]; events: string[] }>(
      `SELECT m.id, m.status, m.amount::int, m.funded_amount::int AS funded, m.released_amount::int AS released, m.refunded_amount::int AS refunded,
         (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id) AS fundings,
         (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id AND f.status = 'succeeded') AS ok_fundings,
         (SELECT COUNT(*)::int FROM payments p WHERE p.milestone_id = m.id) AS payments,
         (SELECT COALESCE(array_agg(e.kind ORDER BY e.seq), '{}') FROM journal_entries e WHERE e.milestone_id = m.id) AS entries,
         (SELECT COALESCE(array_agg(a.kind ORDER BY a.id), '{}') FROM activity a WHERE a.milestone_id = m.id) AS events
       FROM milestones m WHERE m.contract_id = ANY($1)`,
      [contractIds],
    );
    expect(ms.rows).toHaveLength(FLOWS * MILESTONES);
    const bad = ms.rows.filter(
      (m) =>
        m.status !== 'paid' || m.funded !== m.amount || m.released !== m.amount || m.refunded !== 0 || m.fundings !== 1 || m.ok_fundings !== 1 || m.payments !== 1 ||
        m.entries.filter((k) => k === 'escrow_funding').length !== 1 || m.entries.filter((k) => k === 'escrow_release').length !== 1 ||
        ['milestone.funded', 'milestone.submitted', 'milestone.approved'].some((k) => m.events.filter((e) => e === k).length !== 1),
    );
    expect(bad).toEqual([]);

    // One activation per contract.
    const activations = await sql.query<{ contract_id: string; n: number }>(
      "SELECT contract_id, COUNT(*)::int AS n FROM activity WHERE contract_id = ANY($1) AND kind = 'contract.activated' GROUP BY contract_id",
      [contractIds],
    );
    expect(activations.rows.filter((r) => r.n > 1)).toEqual([]);

    // The ledger is clean after two crashes.
    const check = await rawRequest(server.url, 'GET', '/v1/admin/ledger/check', { token: server.api().token });
    expect(check.status).toBe(200);
    expect(check.body.violations).toEqual([]);
    expect(check.body.ok).toBe(true);

    // A retry now, long after the crash, still gets the first answer, not a second execution.
    const sample = acks.find((a) => a.step === 'fund-0')!;
    const f = flows[sample.flow]!;
    const sampleContract = contracts.rows.find((c) => c.title === `crash-${runTag}-${sample.flow}`)!.ids[0];
    const [first] = (await sql.query<{ id: string }>('SELECT id FROM milestones WHERE contract_id = $1 ORDER BY position LIMIT 1', [sampleContract])).rows;
    const again = await rawRequest(server.url, 'POST', `/v1/milestones/${first!.id}/fund`, {
      token: f.client.token,
      body: JSON.stringify({ paymentMethod: 'pm_card_ok' }),
      headers: { 'idempotency-key': sample.key },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const [{ n }] = (await sql.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM fundings WHERE milestone_id = $1', [first!.id])).rows as [{ n: number }];
    expect(n).toBe(1);
  }, 240_000);
});
