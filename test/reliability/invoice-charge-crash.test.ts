import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/harness.ts';
import { apiUser, createDatabase, freePort, ServerProcess } from '../support/reliability-helpers.ts';

/**
 * A crash between Wednesday's job and its card charges (issue 14, item 1): the server process is
 * killed with SIGKILL right after the `invoice_payment` job committed (the invoice's charge written
 * as a provider operation, the invoice `charge_pending`) and before the worker called the
 * provider (the `before_provider_call` failpoint kills the process exactly there). Restarted on the
 * same database, it makes the call with the same idempotency key and books it once; running the
 * jobs again charges nothing more.
 */
describe.skipIf(!engines().includes('postgres'))('crash between Wednesday’s job and its charge (postgres)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let port: number;
  let crashing: ServerProcess;
  let server: ServerProcess | undefined;
  let sql: pg.Client;
  const env = { TRANCHE_TEST_CLOCK: '1' };

  beforeAll(async () => {
    db = await createDatabase('tranche_invoice_crash');
    port = await freePort();
    crashing = new ServerProcess(port, db.url, { ...env, TRANCHE_FAILPOINT: 'before_provider_call' });
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

  it('kill -9 after the job’s commit, before the charge: the restart charges once and books it once', async () => {
    const admin = crashing.api();
    const at = async (iso: string) => expect((await admin.put('/v1/admin/clock', { now: iso })).status).toBe(200);
    await at('2031-06-08T12:00:00Z'); // the Sunday of the week of Monday 2031-06-02
    const client = await apiUser(admin, crashing.url, 'invoice-crash-client', 'pm_card_ok');
    const contractor = await apiUser(admin, crashing.url, 'invoice-crash-contractor');
    const c = await client.api.post('/v1/contracts', { title: 'Hourly, crashing', clientId: client.id, contractorId: contractor.id, type: 'hourly', currency: 'USD', hourlyRate: 6000 });
    expect(c.status).toBe(201);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    expect((await contractor.api.post(`/v1/contracts/${c.body.id}/time-entries`, { date: '2031-06-03', minutes: 90, memo: 'work' })).status).toBe(201);
    await at('2031-06-09T00:01:00Z');
    expect((await admin.post('/v1/admin/jobs/run', {})).status).toBe(200); // Monday: the invoice, no provider call
    const [inv] = (await sql.query<{ id: string }>('SELECT id FROM invoices WHERE contract_id = $1', [c.body.id])).rows;
    expect(inv).toBeDefined();

    // Wednesday: the job commits its charge as an operation, and the process dies before the call.
    await at('2031-06-11T00:01:00Z');
    await expect(admin.post('/v1/admin/jobs/run', {})).rejects.toThrow();
    for (let i = 0; i < 100 && crashing.alive; i++) await new Promise((r) => setTimeout(r, 50));
    expect(crashing.exits.at(-1)).toMatchObject({ signal: 'SIGKILL' });
    const ops = async () =>
      (await sql.query<{ status: string; attempts: number; idempotency_key: string; entry_reference: string | null }>(
        'SELECT status, attempts, idempotency_key, entry_reference FROM provider_operations WHERE subject_id = $1', [inv!.id],
      )).rows;
    const invoice = async () =>
      (await sql.query('SELECT status, charge_pending, charged::int AS charged FROM invoices WHERE id = $1', [inv!.id])).rows[0];
    const entries = async () =>
      (await sql.query<{ kind: string; reference: string }>("SELECT kind, reference FROM journal_entries WHERE contract_id = $1 AND kind = 'direct_payment'", [c.body.id])).rows;
    expect(await ops()).toEqual([{ status: 'pending', attempts: 0, idempotency_key: `invoice:${inv!.id}:1`, entry_reference: null }]);
    expect(await invoice()).toEqual({ status: 'open', charge_pending: true, charged: 0 });
    expect((await sql.query("SELECT status FROM jobs WHERE kind = 'invoice_payment'")).rows).toEqual([{ status: 'done' }]);
    expect(await entries()).toEqual([]);

    // Restarted without the fault: the charge is made (one call, the same key) and booked once.
    server = new ServerProcess(port, db.url, env);
    await server.start();
    const [op] = await ops();
    expect(op).toMatchObject({ status: 'succeeded', attempts: 1, idempotency_key: `invoice:${inv!.id}:1` });
    expect(await entries()).toEqual([{ kind: 'direct_payment', reference: op!.entry_reference }]);
    expect(await invoice()).toEqual({ status: 'paid', charge_pending: false, charged: 9000 });

    // The jobs again, and the next day's: nothing more is charged or booked.
    const api = server.api();
    expect((await api.post('/v1/admin/jobs/run', {})).status).toBe(200);
    expect((await api.put('/v1/admin/clock', { now: '2031-06-12T00:01:00Z' })).status).toBe(200);
    expect((await api.post('/v1/admin/jobs/run', {})).status).toBe(200);
    expect(await ops()).toHaveLength(1);
    expect(await entries()).toHaveLength(1);
    expect((await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM payments WHERE invoice_id = $1', [inv!.id])).rows[0]!.n).toBe(1);
    const check = await api.get('/v1/admin/ledger/check');
    expect(check.body).toMatchObject({ ok: true });
  }, 120_000);
});
