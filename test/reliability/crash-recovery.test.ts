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
 * until they get an answer. The server is killed with SIGKILL twice per round mid-load and
 * restarted on the same database and port. Afterwards every acknowledged command must be there
 * exactly once.
 *
 * The test proves the fault it is about happened: at least one command committed and was then
 * cut off by the kill before its answer reached the client (its idempotency record was written
 * before the kill, by the attempt the kill cut off), and the client got that answer afterwards
 * by replay. The kill's timing is random, so rounds of fresh flows run until one such crash is
 * seen, at most MAX_ROUNDS.
 */
const FIRST_ROUND_FLOWS = 24;
const NEXT_ROUND_FLOWS = 12;
const MAX_ROUNDS = 3;
const MILESTONES = 2;
const KILLS_PER_ROUND = 2;
// Each milestone: fund, a partial release (which a duplicate would double silently), submit, approve.
const COMMANDS_PER_FLOW = 2 + MILESTONES * 4;

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
    type Flow = { i: number; client: Awaited<ReturnType<typeof apiUser>>; contractor: Awaited<ReturnType<typeof apiUser>>; amounts: number[]; partials: number[] };
    const flows: Flow[] = [];
    async function newFlows(n: number): Promise<Flow[]> {
      const made: Flow[] = [];
      for (let k = 0; k < n; k++) {
        const i = flows.length;
        const client = await apiUser(admin, server.url, `crash-client-${i}`, 'pm_card_ok');
        const contractor = await apiUser(admin, server.url, `crash-contractor-${i}`);
        const amounts = Array.from({ length: MILESTONES }, () => rnd.int(500, 90_000));
        const f = { i, client, contractor, amounts, partials: amounts.map((a) => rnd.int(1, a - 1)) };
        flows.push(f);
        made.push(f);
      }
      return made;
    }

    /** `cutSentAt`: when the first attempt that got no answer at all (cut by a kill) was sent. */
    type Ack = { flow: number; step: string; key: string; status: number; attempts: number; replayed: boolean; twin?: boolean; cutSentAt?: number };
    const acks: Ack[] = [];
    const unexpected: string[] = [];
    let networkFailures = 0;
    let serverErrors = 0;
    const runTag = Date.now().toString(36);

    /** Sends the same request (same key, same body) until the server answers it. */
    async function command(flow: number, step: string, token: string, path: string, body: unknown, expected: number | number[]): Promise<any> {
      const key = `crash-${runTag}-${flow}-${step}`;
      const payload = JSON.stringify(body ?? {});
      const deadline = Date.now() + 150_000;
      let cutSentAt: number | undefined;
      for (let attempt = 1; ; attempt++) {
        if (Date.now() > deadline) throw new Error(`no answer for ${step} of flow ${flow} after ${attempt} attempts`);
        // Now and then the client sends a twin of the same request at the same time (a retry
        // racing the original): both must get the same answer, executed once.
        const twin = rnd.bool(0.15);
        const send = () => rawRequest(server.url, 'POST', path, { token, body: payload, headers: { 'idempotency-key': key }, timeoutMs: 20_000 });
        const sentAt = Date.now();
        const settled = await Promise.allSettled(twin ? [send(), send()] : [send()]);
        const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        networkFailures += settled.length - answers.length;
        if (answers.length === 0) cutSentAt ??= sentAt;
        const good = answers.filter((a) => a.status < 500 && !(a.status === 409 && a.body?.code === 'idempotency_in_progress'));
        serverErrors += answers.filter((a) => a.status >= 500).length;
        if (good.length === 0) {
          await sleep(50 + rnd.int(0, 150));
          continue;
        }
        for (const a of good) {
          if (![expected].flat().includes(a.status)) unexpected.push(`${step} flow ${flow} attempt ${attempt}: ${a.status} ${JSON.stringify(a.body)}`);
        }
        if (good.length === 2 && JSON.stringify(good[0]!.body?.id) !== JSON.stringify(good[1]!.body?.id)) {
          unexpected.push(`${step} flow ${flow}: twins answered different resources ${good[0]!.body?.id} / ${good[1]!.body?.id}`);
        }
        const a = good[0]!;
        acks.push({ flow, step, key, status: a.status, attempts: attempt, replayed: good.some((g) => g.headers.get('idempotent-replayed') === 'true'), twin, cutSentAt });
        return a.body;
      }
    }

    async function lifecycle(f: Flow) {
      const c = await command(f.i, 'create', f.client.token, '/v1/contracts', {
        title: `crash-${runTag}-${f.i}`,
        clientId: f.client.id,
        contractorId: f.contractor.id,
        type: 'fixed',
        currency: 'USD',
        policy: { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null, minFundingAmount: {} } },
        milestones: f.amounts.map((amount, j) => ({ title: `M${j + 1}`, amount, dueDate: inDays(30 + j) })),
      }, 201);
      // The party who did not propose the contract accepts it.
      await command(f.i, 'activate', f.contractor.token, `/v1/contracts/${c.id}/activate`, null, 200);
      for (const [j, m] of (c.milestones as { id: string }[]).entries()) {
        // 202: a fund cut by a kill between its commit and the card charge replays its provisional
        // answer; the restart made the charge before serving anything, so the release below holds.
        await command(f.i, `fund-${j}`, f.client.token, `/v1/milestones/${m.id}/fund`, { paymentMethod: 'pm_card_ok' }, [200, 202]);
        await command(f.i, `release-${j}`, f.client.token, `/v1/milestones/${m.id}/release`, { amount: f.partials[j] }, 200);
        await command(f.i, `submit-${j}`, f.contractor.token, `/v1/milestones/${m.id}/submit`, { note: `done ${j}` }, 200);
        await command(f.i, `approve-${j}`, f.client.token, `/v1/milestones/${m.id}/approve`, null, 200);
      }
      return c.id as string;
    }

    /**
     * One round: `batch` runs its lifecycles while the killer sends kill -9 twice, each after a
     * random share of the round's commands were acknowledged, and restarts on the same database
     * and port.
     */
    const kills: number[] = []; // when each kill -9 was sent
    async function round(batch: Flow[]): Promise<string[]> {
      const start = acks.length;
      const total = batch.length * COMMANDS_PER_FLOW;
      const killAfter = Array.from({ length: KILLS_PER_ROUND }, (_, k) => start + Math.round(total * (0.15 + 0.35 * k + rnd.next() * 0.25)));
      let loadDone = false;
      const killer = (async () => {
        for (const n of killAfter) {
          while (acks.length < n && !loadDone) await sleep(5);
          if (loadDone) break;
          await sleep(rnd.int(0, 30)); // somewhere inside the next commands
          kills.push(Date.now());
          await server.kill9();
          await sleep(rnd.int(100, 600));
          await server.start();
        }
      })();
      try {
        return await Promise.all(batch.map(lifecycle));
      } finally {
        loadDone = true;
        await killer;
      }
    }

    /**
     * The acknowledged commands that committed before a kill and whose answer the kill cut off,
     * counted from the database: the key's stored answer was written (created_at) after its first
     * cut-off attempt was sent and before the kill that cut it, so that attempt committed it; a
     * re-execution after the restart would carry a later time. The client got it by replay.
     */
    async function committedBeforeCrash(): Promise<Ack[]> {
      const cut = acks.filter((a) => a.cutSentAt !== undefined && a.replayed);
      if (cut.length === 0) return [];
      const rows = await sql.query<{ key: string; status_code: number; created_at: Date }>(
        'SELECT key, status_code, created_at FROM idempotency_keys WHERE key = ANY($1)',
        [cut.map((a) => a.key)],
      );
      const stored = new Map(rows.rows.map((r) => [r.key, r]));
      return cut.filter((a) => {
        const row = stored.get(a.key);
        const t = row?.created_at.getTime() ?? NaN;
        return row !== undefined && row.status_code === a.status && kills.some((k) => t >= a.cutSentAt! - 5 && t <= k && k >= a.cutSentAt!);
      });
    }

    const t0 = Date.now();
    const contractIds: string[] = [];
    let rounds = 0;
    let proven: Ack[] = [];
    while (rounds < MAX_ROUNDS && proven.length === 0) {
      contractIds.push(...(await round(await newFlows(rounds === 0 ? FIRST_ROUND_FLOWS : NEXT_ROUND_FLOWS))));
      rounds++;
      proven = await committedBeforeCrash();
    }
    const elapsed = Date.now() - t0;

    const retried = acks.filter((a) => a.attempts > 1);
    const replayed = acks.filter((a) => a.replayed);
    process.stdout.write(
      `[crash-recovery] ${acks.length} commands acknowledged in ${elapsed} ms over ${rounds} round(s); kills ${kills.length}; retried ${retried.length}; ` +
        `answered by replay ${replayed.length}; committed before a kill and answered by replay after it ${proven.length} ` +
        `(${proven.map((a) => a.step.replace(/-\d+$/, '')).join(', ')}); network failures ${networkFailures}; 5xx ${serverErrors}\n`,
    );

    expect(unexpected).toEqual([]);
    expect(server.exits.filter((e) => e.signal === 'SIGKILL')).toHaveLength(kills.length);
    expect(kills.length).toBe(rounds * KILLS_PER_ROUND);
    expect(acks).toHaveLength(flows.length * COMMANDS_PER_FLOW);
    expect(retried.length).toBeGreaterThan(0); // the kills really cut requests off
    // The fault this test is about happened: a command committed, the kill cut its answer off.
    expect(proven.length).toBeGreaterThanOrEqual(1);

    // Every acknowledged command has its stored answer, exactly once.
    const keys = await sql.query<{ key: string; status_code: number }>("SELECT key, status_code FROM idempotency_keys WHERE key LIKE $1", [`crash-${runTag}-%`]);
    expect(keys.rows).toHaveLength(acks.length);
    expect(keys.rows.filter((k) => k.status_code === 0)).toEqual([]);

    // No contract duplicated: one per flow, each one the contract its client was told about.
    const contracts = await sql.query<{ title: string; n: number; ids: string[] }>(
      'SELECT title, COUNT(*)::int AS n, array_agg(id) AS ids FROM contracts WHERE title LIKE $1 GROUP BY title',
      [`crash-${runTag}-%`],
    );
    expect(contracts.rows).toHaveLength(flows.length);
    expect(contracts.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(contracts.rows.flatMap((r) => r.ids).sort()).toEqual([...contractIds].sort());

    // Each milestone: funded once; released twice, exactly: the partial release (its own payment
    // and entry) and the rest on approval; each command's activity once.
    const ms = await sql.query<{ id: string; contract_id: string; title: string; status: string; amount: number; funded: number; released: number; refunded: number; fundings: number; ok_fundings: number; payments: { kind: string; amount: number; entries: number }[]; entries: string[]; events: string[] }>(
      `SELECT m.id, m.contract_id, m.title, m.status, m.amount::int, m.funded_amount::int AS funded, m.released_amount::int AS released, m.refunded_amount::int AS refunded,
         (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id) AS fundings,
         (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id AND f.status = 'succeeded') AS ok_fundings,
         (SELECT COALESCE(json_agg(json_build_object('kind', p.kind, 'amount', p.amount,
            'entries', (SELECT COUNT(*) FROM journal_entries e WHERE e.reference = 'release:' || p.id)) ORDER BY p.kind), '[]')
          FROM payments p WHERE p.milestone_id = m.id) AS payments,
         (SELECT COALESCE(array_agg(e.kind ORDER BY e.seq), '{}') FROM journal_entries e WHERE e.milestone_id = m.id) AS entries,
         (SELECT COALESCE(array_agg(a.kind ORDER BY a.id), '{}') FROM activity a WHERE a.milestone_id = m.id) AS events
       FROM milestones m WHERE m.contract_id = ANY($1)`,
      [contractIds],
    );
    expect(ms.rows).toHaveLength(flows.length * MILESTONES);
    const flowOf = new Map(contracts.rows.map((c) => [c.ids[0]!, flows[Number(c.title.split('-').at(-1))]!]));
    const bad = ms.rows.filter((m) => {
      const f = flowOf.get(m.contract_id)!;
      const j = Number(m.title.slice(1)) - 1; // milestone `M${j + 1}`
      const expected = [
        { kind: 'milestone', amount: m.amount - f.partials[j]!, entries: 1 },
        { kind: 'partial_release', amount: f.partials[j]!, entries: 1 },
      ];
      return (
        j < 0 || m.status !== 'paid' || m.funded !== m.amount || m.released !== m.amount || m.refunded !== 0 || m.fundings !== 1 || m.ok_fundings !== 1 ||
        JSON.stringify(m.payments) !== JSON.stringify(expected) ||
        m.entries.filter((k) => k === 'escrow_funding').length !== 1 || m.entries.filter((k) => k === 'escrow_release').length !== 2 ||
        ['milestone.funded', 'milestone.released', 'milestone.submitted', 'milestone.approved'].some((k) => m.events.filter((e) => e === k).length !== 1)
      );
    });
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
    // The answer acknowledged then: 200, or the provisional 202 (funding pending) stored for a
    // fund whose provider call a kill cut off after commit (start-up then made the call, once).
    expect(again.status).toBe(sample.status);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const [{ n }] = (await sql.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM fundings WHERE milestone_id = $1', [first!.id])).rows as [{ n: number }];
    expect(n).toBe(1);
  }, 300_000);
});
