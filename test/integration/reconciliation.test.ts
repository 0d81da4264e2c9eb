import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { DAY, HOUR, runJobs, setClock } from '../support/negotiation-helpers.ts';
import { expectProblem } from '../support/scenario-helpers.ts';

/**
 * Reconciliation (issue 14, item 4) on the sandbox: the sandbox keeps its own books
 * (sandbox_objects); a daily run per platform compares them with the provider operations and
 * the ledger and reports every difference (the report, an email to the admin, a webhook), once
 * per day, and changes no money. Differences are planted in the sandbox's books and in an
 * operation's booking.
 */
const D = Date.parse('2031-01-15T00:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

describe.each(engines())('reconciliation on the sandbox, on %s', (engine) => {
  let s: TestServer;
  const admin = `ops-reconcile-${engine}@example.com`;
  beforeAll(async () => {
    s = await startTestServer(engine, { TRANCHE_WEBHOOK_ALLOW_PRIVATE: '1' });
    expect((await s.admin.patch('/v1/admin/platform', { adminEmail: admin })).status).toBe(200);
    // Nobody listens there: the message rows are what is checked.
    expect((await s.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks', events: ['reconciliation.differences_found'] })).status).toBe(201);
  });
  afterAll(async () => s?.stop());

  const adminEmails = async () =>
    (await s.db.query<{ payload: { to: string; subject: string; text: string } }>("SELECT payload FROM jobs WHERE kind = 'email' AND payload->>'to' = $1", [admin])).map((r) => r.payload);
  const hooks = async () =>
    s.db.query<{ payload: { data: Record<string, unknown> } }>("SELECT payload FROM webhook_messages WHERE event_type = 'reconciliation.differences_found'");
  const runsOf = async (from: number, to: number) =>
    s.db.query<{ id: string; trigger: string; status: string; differences: number }>(
      'SELECT id, trigger, status, differences FROM reconciliation_runs WHERE period_start = $1 AND period_end = $2',
      [new Date(from), new Date(to)],
    );

  /** A funded milestone released, its money paid out, and another milestone refunded: a charge, a charge and its refund, a payout. */
  async function moneyMoves() {
    const p = await newParties(s);
    const c1 = await liveContract(s, p, 'sequential_escrow', [{ title: 'Paid', amount: 12000, dueDate: '2031-12-31' }]);
    const m1 = c1.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m1}/fund`)).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m1}/release`, { amount: 12000 })).status).toBe(200);
    expect((await p.contractor.api.post('/v1/payouts', { amount: 5000, currency: 'USD' })).status).toBe(201);
    const c2 = await liveContract(s, p, 'sequential_escrow', [{ title: 'Refunded', amount: 7000, dueDate: '2031-12-31' }]);
    const m2 = c2.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m2}/fund`)).status).toBe(200);
    expect((await p.contractor.api.post(`/v1/milestones/${m2}/refund`)).status).toBe(200);
    return { p, m1, m2 };
  }

  it('a clean day: nothing differs; the daily run and an admin’s run of the same period are one report each, made once', async () => {
    await setClock(s, new Date(D + 9 * HOUR));
    await moneyMoves();
    await setClock(s, new Date(D + 12 * HOUR));

    expectProblem(await s.admin.post('/v1/admin/reconciliations', { from: at(D + HOUR), to: at(D) }), 422, 'validation_failed');
    expectProblem(await s.admin.post('/v1/admin/reconciliations', { from: at(D), to: at(D + 2 * DAY) }), 422, 'validation_failed');
    const p = await newParties(s);
    expectProblem(await p.client.api.post('/v1/admin/reconciliations', { from: at(D), to: at(D + 12 * HOUR) }), 403, 'forbidden');

    const now = await s.admin.post('/v1/admin/reconciliations', { from: at(D), to: at(D + 12 * HOUR) });
    expect(now.status, JSON.stringify(now.body)).toBe(201);
    // Two charges, a refund and a payout.
    expect(now.body).toMatchObject({ trigger: 'admin', status: 'completed', differenceCount: 0, differences: [], providerObjects: 4, operations: 4 });
    const again = await s.admin.post('/v1/admin/reconciliations', { from: at(D), to: at(D + 12 * HOUR) });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(now.body.id);
    expect(await runsOf(D, D + 12 * HOUR)).toHaveLength(1);

    // The day is over (and its late answers are in): the worker reconciles it, once.
    await setClock(s, new Date(D + DAY + 2 * HOUR));
    await runJobs(s);
    await runJobs(s);
    const daily = await runsOf(D, D + DAY);
    expect(daily).toEqual([{ id: expect.any(String), trigger: 'schedule', status: 'completed', differences: 0 }]);
    const shown = await s.admin.get(`/v1/admin/reconciliations/${daily[0]!.id}`);
    expect(shown.body).toMatchObject({ periodStart: at(D), periodEnd: at(D + DAY), differenceCount: 0, providerObjects: 4, differences: [] });
    expect((await s.admin.get('/v1/admin/reconciliations?limit=100')).body.data.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining([daily[0]!.id, now.body.id]));
    expect(await adminEmails()).toEqual([]);
    expect(await hooks()).toEqual([]);
    await expectLedgerClean(s);
  });

  it('planted differences are each reported once (report, admin email, webhook), and no money moves', async () => {
    const day = D + 2 * DAY;
    await setClock(s, new Date(day + 9 * HOUR));
    const { m1 } = await moneyMoves();
    const [charge] = await s.db.query<{ provider_ref: string }>("SELECT provider_ref FROM provider_operations WHERE milestone_id = $1 AND operation = 'charge'", [m1]);
    const [payout] = await s.db.query<{ id: string; provider_ref: string }>(
      "SELECT id, provider_ref FROM provider_operations WHERE operation = 'payout' AND created_at >= $1 ORDER BY created_at DESC LIMIT 1",
      [new Date(day)],
    );
    const [refund] = await s.db.query<{ id: string; entry_reference: string }>(
      "SELECT id, entry_reference FROM provider_operations WHERE operation = 'refund' AND created_at >= $1 ORDER BY created_at DESC LIMIT 1",
      [new Date(day)],
    );
    // The provider has a charge nobody asked for (an orphan), books another amount for one, and
    // knows nothing of a payout; a refund's booking points at no journal entry.
    await s.db.query(
      `INSERT INTO sandbox_objects (id, kind, idempotency_key, amount, currency, status, created_at, updated_at)
       VALUES ('sbx_ch_planted_orphan', 'charge', 'planted', 4321, 'USD', 'succeeded', $1, $1)`,
      [new Date(day + 10 * HOUR)],
    );
    await s.db.query('UPDATE sandbox_objects SET amount = amount + 1 WHERE id = $1', [charge!.provider_ref]);
    await s.db.query('DELETE FROM sandbox_objects WHERE id = $1', [payout!.provider_ref]);
    await s.db.query("UPDATE provider_operations SET entry_reference = 'refund_paid:lost' WHERE id = $1", [refund!.id]);
    const ledger = await s.db.query('SELECT count(*)::int AS n, (SELECT count(*)::int FROM postings) AS p FROM journal_entries');

    await setClock(s, new Date(day + DAY + 2 * HOUR));
    await runJobs(s);
    const [run] = await runsOf(day, day + DAY);
    expect(run).toMatchObject({ trigger: 'schedule', status: 'completed', differences: 4 });
    const report = (await s.admin.get(`/v1/admin/reconciliations/${run!.id}`)).body;
    const byKind = Object.fromEntries(report.differences.map((d: { kind: string }) => [d.kind, d]));
    expect(Object.keys(byKind).sort()).toEqual(['amount_mismatch', 'ledger_entry_count', 'operation_without_provider_object', 'provider_object_without_operation']);
    expect(byKind.provider_object_without_operation).toMatchObject({ objectKind: 'charge', providerRef: 'sbx_ch_planted_orphan', operationId: null, detail: { provider: { amount: 4321 } } });
    expect(byKind.amount_mismatch).toMatchObject({ objectKind: 'charge', providerRef: charge!.provider_ref });
    expect(byKind.amount_mismatch.detail.provider.amount).toBe(byKind.amount_mismatch.detail.operation.amount + 1);
    expect(byKind.operation_without_provider_object).toMatchObject({ objectKind: 'payout', operationId: payout!.id });
    expect(byKind.ledger_entry_count).toMatchObject({ objectKind: 'refund', operationId: refund!.id, detail: { entries: 0 } });

    const mails = await adminEmails();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Reconciliation: 4 differences with sandbox');
    expect(mails[0]!.text).toContain(run!.id);
    const told = await hooks();
    expect(told).toHaveLength(1);
    expect(told[0]!.payload.data).toMatchObject({ reconciliationId: run!.id, differences: 4, kinds: { provider_object_without_operation: 1, amount_mismatch: 1 } });

    // Run again (worker and admin): the same report, told once; nothing was "fixed".
    await runJobs(s);
    const replay = await s.admin.post('/v1/admin/reconciliations', { from: at(day), to: at(day + DAY) });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id: run!.id, differenceCount: 4 });
    expect(await runsOf(day, day + DAY)).toHaveLength(1);
    expect(await adminEmails()).toHaveLength(1);
    expect(await hooks()).toHaveLength(1);
    expect(await s.db.query('SELECT count(*)::int AS n, (SELECT count(*)::int FROM postings) AS p FROM journal_entries')).toEqual(ledger);
    await s.db.query('UPDATE provider_operations SET entry_reference = $2 WHERE id = $1', [refund!.id, refund!.entry_reference]);
    await expectLedgerClean(s);
  });
});
