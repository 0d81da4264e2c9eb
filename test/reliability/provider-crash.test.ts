import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays } from '../support/harness.ts';
import { apiUser, createDatabase, freePort, rawRequest, ServerProcess } from '../support/reliability-helpers.ts';

/**
 * A crash between commit and the provider call (issue 14): the server process is killed with
 * SIGKILL right after the fund command committed its provider operation and before it called the
 * provider (the `before_provider_call` failpoint: the process kills itself there, so the crash
 * lands exactly at that point). Restarted on the same database, it makes the call with the same
 * idempotency key and books the answer once; a retry of the request replays its provisional 202.
 */
describe.skipIf(!engines().includes('postgres'))('crash between commit and provider call (postgres)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let port: number;
  let crashing: ServerProcess;
  let server: ServerProcess | undefined;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createDatabase('tranche_provider_crash');
    port = await freePort();
    crashing = new ServerProcess(port, db.url, { TRANCHE_FAILPOINT: 'before_provider_call' });
    await crashing.start();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 120_000);

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await crashing?.stop();
    await server?.stop();
    await db?.drop();
  }, 60_000);

  it('kill -9 after commit, before the charge: the restart charges once and books it once', async () => {
    const admin = crashing.api();
    const client = await apiUser(admin, crashing.url, 'crash-client', 'pm_card_ok');
    const contractor = await apiUser(admin, crashing.url, 'crash-contractor');
    const c = await client.api.post('/v1/contracts', {
      title: 'Crash between commit and call',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
      milestones: [{ title: 'Design', amount: 25000, dueDate: inDays(30) }],
    });
    expect(c.status).toBe(201);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    const m = c.body.milestones[0].id as string;
    const send = () => rawRequest(crashing.url, 'POST', `/v1/milestones/${m}/fund`, { token: client.token, body: '{}', headers: { 'idempotency-key': `crash-fund-${m}` }, timeoutMs: 20_000 });

    // The fault happened: no answer, the process died of SIGKILL, the command committed its
    // operation (pending, never called) and nothing of the deposit is booked.
    await expect(send()).rejects.toThrow();
    for (let i = 0; i < 100 && crashing.alive; i++) await new Promise((r) => setTimeout(r, 50));
    expect(crashing.exits.at(-1)).toMatchObject({ signal: 'SIGKILL' });
    const ops = async () =>
      (await sql.query<{ status: string; attempts: number; entry_reference: string | null }>('SELECT status, attempts, entry_reference FROM provider_operations WHERE milestone_id = $1', [m])).rows;
    const entries = async () => (await sql.query<{ kind: string; reference: string }>('SELECT kind, reference FROM journal_entries WHERE milestone_id = $1', [m])).rows;
    expect(await ops()).toEqual([{ status: 'pending', attempts: 0, entry_reference: null }]);
    expect(await entries()).toEqual([]);
    expect((await sql.query('SELECT status, funding_pending FROM milestones WHERE id = $1', [m])).rows).toEqual([{ status: 'accepted', funding_pending: true }]);
    expect((await sql.query("SELECT status_code, provisional_status FROM idempotency_keys WHERE key = $1", [`crash-fund-${m}`])).rows).toEqual([{ status_code: 0, provisional_status: 202 }]);

    // Restarted without the fault: the operation is made (one call, same key) and booked once.
    server = new ServerProcess(port, db.url);
    await server.start();
    const [op] = await ops();
    expect(op).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await entries()).toEqual([{ kind: 'escrow_funding', reference: op!.entry_reference }]);
    expect((await sql.query('SELECT status, funding_pending, funded_amount::int AS funded FROM milestones WHERE id = $1', [m])).rows).toEqual([{ status: 'funded', funding_pending: false, funded: 25000 }]);

    // The retried request gets the answer the cut request had, and charges nothing more.
    const replay = await send();
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await ops()).toHaveLength(1);
    const check = await server.api().get('/v1/admin/ledger/check');
    expect(check.body).toMatchObject({ ok: true });
  }, 120_000);
});
