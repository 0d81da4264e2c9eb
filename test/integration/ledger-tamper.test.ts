import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/client.ts';
import { splitSql } from '../../src/db/migrate.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { postEntry } from '../../src/ledger/postings.ts';
import { engines, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { createDatabase } from '../support/reliability-helpers.ts';

// Trust issue, defect 9: the ledger check could be fooled. It looked for the append-only
// triggers by name only, so with `ALTER TABLE postings DISABLE TRIGGER …` a posting moved from
// the fee account to the contractor went unnoticed; TRUNCATE was not refused; payments were never
// compared with postings. Each test tampers the way an operator with SQL access could, and
// expects `GET /v1/admin/ledger/check` to say so.

type Violation = { invariant: number; rule: string; detail: Record<string, unknown> };

describe.each(engines())('the ledger check cannot be fooled on %s', (engine) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  async function check(): Promise<{ ok: boolean; violations: Violation[] }> {
    const r = await s!.admin.get('/v1/admin/ledger/check');
    expect(r.status).toBe(200);
    return r.body;
  }

  /**
   * A contract with fees on both sides (10 % contractor, 3 % client) through a full lifecycle:
   * fund, partial release, submit, approve; a second milestone funded and refunded; and, on a
   * no-escrow contract, a draft payment paid by the client (its own journal entry).
   */
  async function lifecycle() {
    s = await startTestServer(engine);
    const parties = await newParties(s);
    const { client, contractor } = parties;
    const c = await liveContract(s, parties, { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } }, [
      { title: 'Design', amount: 40_000 },
      { title: 'Build', amount: 25_000 },
    ]);
    // Fees are the platform's to set; set them on this contract directly, whatever the defaults.
    await s.db.query(`UPDATE contracts SET policy = jsonb_set(policy, '{platformFee}', '{"clientBps": 300, "contractorBps": 1000}') WHERE id = $1`, [c.id]);
    const [design, build] = c.milestones as { id: string }[];
    const ok = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r;
    };
    await ok(client.api.post(`/v1/milestones/${design!.id}/fund`, { paymentMethod: 'pm_card_ok' }));
    await ok(client.api.post(`/v1/milestones/${design!.id}/release`, { amount: 15_000 }));
    await ok(contractor.api.post(`/v1/milestones/${design!.id}/submit`, { note: 'done' }));
    await ok(client.api.post(`/v1/milestones/${design!.id}/approve`));
    await ok(client.api.post(`/v1/milestones/${build!.id}/fund`, { paymentMethod: 'pm_card_ok' }));
    await ok(contractor.api.post(`/v1/milestones/${build!.id}/refund`));

    const direct = await liveContract(s, parties, 'company_managed', [{ title: 'Report', amount: 12_000, dueDate: inDays(10) }]);
    await s.db.query(`UPDATE contracts SET policy = jsonb_set(policy, '{platformFee}', '{"clientBps": 300, "contractorBps": 1000}') WHERE id = $1`, [direct.id]);
    const report = (direct.milestones as { id: string }[])[0]!;
    await ok(contractor.api.post(`/v1/milestones/${report.id}/submit`, { note: 'done' }));
    await ok(client.api.post(`/v1/milestones/${report.id}/approve`));
    const [draft] = await s.db.query<{ id: string }>("SELECT id FROM payments WHERE contract_id = $1 AND status = 'draft'", [direct.id]);
    await ok(client.api.post(`/v1/payments/${draft!.id}/pay`, { paymentMethod: 'pm_card_ok' }));

    const release = async () =>
      (await s!.db.query<{ entry_id: string; seq: number; payment_id: string }>(
        `SELECT e.id AS entry_id, e.seq, substr(e.reference, 9) AS payment_id FROM journal_entries e
         WHERE e.contract_id = $1 AND e.kind = 'escrow_release' ORDER BY e.seq LIMIT 1`,
        [c.id],
      ))[0]!;
    return { contractId: c.id as string, directId: direct.id as string, contractorId: contractor.id, firstRelease: await release() };
  }

  const rules = (r: { violations: Violation[] }) => r.violations.map((v) => `${v.invariant}: ${v.rule}`);

  it('finds nothing wrong with an untouched ledger after a full lifecycle', async () => {
    const { contractId, directId } = await lifecycle();
    const r = await check();
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    // Every entry carries its link, and the contract row the head of its chain.
    const entries = await s!.db.query<{ contract_id: string; n: number; unhashed: number }>(
      'SELECT contract_id, COUNT(*)::int AS n, COUNT(*) FILTER (WHERE hash IS NULL)::int AS unhashed FROM journal_entries WHERE contract_id = ANY($1) GROUP BY contract_id ORDER BY contract_id',
      [[contractId, directId]],
    );
    expect(entries.map((e) => e.unhashed)).toEqual([0, 0]);
    expect(entries.reduce((a, e) => a + e.n, 0)).toBeGreaterThanOrEqual(6);
  });

  it('reports a posting moved from the fee account to the contractor with the trigger disabled', async () => {
    const { contractId, contractorId, firstRelease } = await lifecycle();
    await s!.db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    const moved = await s!.db.query(
      "UPDATE postings SET destination = $2 WHERE entry_id = $1 AND destination = 'platform:fees:contractor' RETURNING idx",
      [firstRelease.entry_id, `contractors:${contractorId}:balance`],
    );
    expect(moved).toHaveLength(1);

    let r = await check();
    expect(r.ok).toBe(false);
    expect(rules(r)).toContain('5: append-only trigger disabled');
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'append-only trigger disabled', detail: expect.objectContaining({ trigger: 'postings_append_only', table: 'postings' }) }));
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'hash chain broken', detail: expect.objectContaining({ contractId, seq: firstRelease.seq, entryId: firstRelease.entry_id }) }));
    // The payment no longer agrees with its entry: its fee went to the contractor.
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 9, detail: expect.objectContaining({ paymentId: firstRelease.payment_id }) }));

    // Re-enabling the trigger does not hide the change: the chain still shows it.
    await s!.db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    r = await check();
    expect(rules(r)).not.toContain('5: append-only trigger disabled');
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'hash chain broken', detail: expect.objectContaining({ contractId, seq: firstRelease.seq }) }));
  });

  it('still reports the change when the tampered entry is re-hashed: the next link breaks', async () => {
    const { contractId, firstRelease } = await lifecycle();
    await s!.db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    await s!.db.query('ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only');
    // Shift one unit of a posting, then give the entry the hash its new content would have.
    await s!.db.query("UPDATE postings SET amount = amount + 1 WHERE entry_id = $1 AND destination = 'platform:fees:contractor'", [firstRelease.entry_id]);
    await s!.db.query("UPDATE postings SET amount = amount - 1 WHERE entry_id = $1 AND destination <> 'platform:fees:contractor'", [firstRelease.entry_id]);
    await s!.db.query(
      `UPDATE journal_entries e SET hash = tranche_entry_hash(
         (SELECT hash FROM journal_entries WHERE contract_id = e.contract_id AND seq = e.seq - 1), e.id, e.contract_id, e.seq, e.kind, e.reference, e.milestone_id, e.created_at,
         (SELECT array_agg(idx ORDER BY idx) FROM postings WHERE entry_id = e.id), (SELECT array_agg(source ORDER BY idx) FROM postings WHERE entry_id = e.id),
         (SELECT array_agg(destination ORDER BY idx) FROM postings WHERE entry_id = e.id), (SELECT array_agg(amount ORDER BY idx) FROM postings WHERE entry_id = e.id),
         (SELECT array_agg(currency ORDER BY idx) FROM postings WHERE entry_id = e.id))
       WHERE e.id = $1`,
      [firstRelease.entry_id],
    );
    await s!.db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    await s!.db.query('ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only');
    const r = await check();
    expect(r.ok).toBe(false);
    const broken = r.violations.filter((v) => v.invariant === 5 && v.rule === 'hash chain broken' && v.detail.contractId === contractId);
    expect(broken).toHaveLength(1); // the first broken link only
    expect(broken[0]!.detail.seq).toBe(firstRelease.seq + 1);
  });

  it('reports a deleted last entry even when the sequence counter is wound back', async () => {
    const { contractId } = await lifecycle();
    await s!.db.query('ALTER TABLE postings DISABLE TRIGGER postings_append_only');
    await s!.db.query('ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only');
    const [last] = await s!.db.query<{ id: string }>('SELECT id FROM journal_entries WHERE contract_id = $1 ORDER BY seq DESC LIMIT 1', [contractId]);
    await s!.db.query('DELETE FROM postings WHERE entry_id = $1', [last!.id]);
    await s!.db.query('DELETE FROM journal_entries WHERE id = $1', [last!.id]);
    await s!.db.query('UPDATE contracts SET ledger_seq = ledger_seq - 1 WHERE id = $1', [contractId]);
    await s!.db.query('ALTER TABLE postings ENABLE TRIGGER postings_append_only');
    await s!.db.query('ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only');
    const r = await check();
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'chain head differs from the contract', detail: expect.objectContaining({ contractId }) }));
  });

  it('refuses TRUNCATE of the journal, the postings and the activity, and reports a disabled or missing guard', async () => {
    await lifecycle();
    for (const table of ['postings', 'journal_entries, postings', 'activity']) {
      await expect(s!.db.query(`TRUNCATE ${table}`), table).rejects.toThrow(/append-only/);
    }
    await expect(s!.db.query('TRUNCATE journal_entries CASCADE')).rejects.toThrow(/append-only/);
    expect((await s!.db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM postings'))[0]!.n).toBeGreaterThan(0);
    expect((await check()).ok).toBe(true);

    await s!.db.query('ALTER TABLE activity DISABLE TRIGGER activity_no_truncate');
    await s!.db.query('DROP TRIGGER journal_entries_no_truncate ON journal_entries');
    const r = await check();
    expect(r.ok).toBe(false);
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'append-only trigger disabled', detail: expect.objectContaining({ trigger: 'activity_no_truncate', table: 'activity' }) }));
    expect(r.violations).toContainEqual(expect.objectContaining({ invariant: 5, rule: 'append-only trigger missing', detail: expect.objectContaining({ trigger: 'journal_entries_no_truncate', table: 'journal_entries' }) }));
  });

  it('reports a payment whose fee or amount no longer matches the postings of its entry', async () => {
    const { directId, firstRelease } = await lifecycle();
    // payments is not append-only (its status moves): an edit there is caught by the comparison.
    await s!.db.query('UPDATE payments SET fee = fee - 100 WHERE id = $1', [firstRelease.payment_id]);
    const [paid] = await s!.db.query<{ id: string }>("SELECT id FROM payments WHERE contract_id = $1 AND status = 'paid'", [directId]);
    await s!.db.query('UPDATE payments SET amount = amount + 1 WHERE id = $1', [paid!.id]);
    const r = await check();
    expect(r.ok).toBe(false);
    const nine = r.violations.filter((v) => v.invariant === 9);
    expect(nine.map((v) => v.detail.paymentId).sort()).toEqual([firstRelease.payment_id, paid!.id].sort());
    expect(nine.every((v) => v.rule === 'payment disagrees with its journal entry')).toBe(true);
  });

  it('reports a paid payment without its journal entry, and a release entry without its payment', async () => {
    const { contractId, firstRelease } = await lifecycle();
    const [draft] = await s!.db.query<{ id: string }>(
      `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, paid_at, created_at, updated_at)
       SELECT 'pay_forged', platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, 'paid', now(), now(), now()
       FROM payments WHERE id = $1 RETURNING id`,
      [firstRelease.payment_id],
    );
    await s!.db.query("UPDATE payments SET status = 'failed' WHERE id = $1", [firstRelease.payment_id]);
    const r = await check();
    const nine = r.violations.filter((v) => v.invariant === 9);
    expect(nine).toContainEqual(expect.objectContaining({ rule: 'paid payment without its journal entry', detail: expect.objectContaining({ paymentId: draft!.id }) }));
    expect(nine).toContainEqual(expect.objectContaining({ rule: 'payment entry without a paid payment', detail: expect.objectContaining({ entryId: firstRelease.entry_id, contractId }) }));
  });
});

describe.each(engines())('the tamper-evidence migration on %s', (engine) => {
  it('chains the entries written before it, in seq order per contract, and new entries chain on', async () => {
    const pgDb = engine === 'postgres' ? await createDatabase('tranche_backfill') : null;
    const dataDir = mkdtempSync(join(tmpdir(), 'tranche-backfill-'));
    const db = await openDb({ dataDir, fromTemplate: false, ...(pgDb ? { databaseUrl: pgDb.url } : {}) });
    try {
      const dir = fileURLToPath(new URL('../../src/db/migrations/', import.meta.url));
      const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
      const apply = (f: string) => db.tx(async (tx) => {
        for (const statement of splitSql(readFileSync(join(dir, f), 'utf8'))) await tx.query(statement);
      });
      for (const f of files.filter((f) => f < '0006')) await apply(f);

      // A ledger as the code before the migration wrote it: no hashes. Contract A has a funding
      // and a release (with its payment), contract B a funding; seq order differs from id order.
      const at = '2025-01-02T03:04:05.678Z';
      await db.query(`INSERT INTO platforms (id, name, created_at, updated_at) VALUES ('plt_b', 'P', $1, $1)`, [at]);
      await db.query(
        `INSERT INTO users (id, platform_id, email, email_normalized, name, created_at, updated_at)
         VALUES ('usr_c', 'plt_b', 'c@x', 'c@x', 'C', $1, $1), ('usr_k', 'plt_b', 'k@x', 'k@x', 'K', $1, $1)`, [at]);
      await db.query(
        `INSERT INTO contracts (id, platform_id, title, client_id, contractor_id, created_by, type, currency, status, policy, ledger_seq, created_at, updated_at)
         VALUES ('ctr_a', 'plt_b', 'A', 'usr_c', 'usr_k', 'usr_c', 'fixed', 'USD', 'active', '{}', 2, $1, $1),
                ('ctr_b', 'plt_b', 'B', 'usr_c', 'usr_k', 'usr_c', 'fixed', 'USD', 'active', '{}', 1, $1, $1)`, [at]);
      await db.query(
        `INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at) VALUES
         ('plt_b', 'world', 'USD', 'world', NULL, true, NULL, $1), ('plt_b', 'clients:usr_c:funding', 'USD', 'client_funding', NULL, false, NULL, $1),
         ('plt_b', 'contracts:ctr_a:escrow:ms_1', 'USD', 'escrow', 'ctr_a', false, 0, $1), ('plt_b', 'contracts:ctr_b:escrow:ms_2', 'USD', 'escrow', 'ctr_b', false, 500, $1),
         ('plt_b', 'contractors:usr_k:balance', 'USD', 'contractor_balance', NULL, false, NULL, $1), ('plt_b', 'platform:fees:contractor', 'USD', 'platform_fees', NULL, false, NULL, $1)`, [at]);
      await db.query(
        `INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at) VALUES
         ('je_9', 'plt_b', 'ctr_a', 1, 'escrow_funding', 'charge:ch_1', NULL, $1), ('je_1', 'plt_b', 'ctr_a', 2, 'escrow_release', 'release:pay_1', NULL, $1),
         ('je_5', 'plt_b', 'ctr_b', 1, 'escrow_funding', 'charge:ch_2', NULL, $1)`, [at]);
      await db.query(
        `INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency) VALUES
         ('je_9', 0, 'plt_b', 'ctr_a', 'world', 'clients:usr_c:funding', 1000, 'USD'), ('je_9', 1, 'plt_b', 'ctr_a', 'clients:usr_c:funding', 'contracts:ctr_a:escrow:ms_1', 1000, 'USD'),
         ('je_1', 0, 'plt_b', 'ctr_a', 'contracts:ctr_a:escrow:ms_1', 'contractors:usr_k:balance', 900, 'USD'), ('je_1', 1, 'plt_b', 'ctr_a', 'contracts:ctr_a:escrow:ms_1', 'platform:fees:contractor', 100, 'USD'),
         ('je_5', 0, 'plt_b', 'ctr_b', 'world', 'clients:usr_c:funding', 500, 'USD'), ('je_5', 1, 'plt_b', 'ctr_b', 'clients:usr_c:funding', 'contracts:ctr_b:escrow:ms_2', 500, 'USD')`);
      await db.query(
        `INSERT INTO payments (id, platform_id, contract_id, milestone_id, client_id, contractor_id, kind, amount, fee, currency, status, paid_at, created_at, updated_at)
         VALUES ('pay_1', 'plt_b', 'ctr_a', NULL, 'usr_c', 'usr_k', 'milestone', 1000, 100, 'USD', 'paid', $1, $1, $1)`, [at]);

      for (const f of files.filter((f) => f >= '0006')) await apply(f);
      expect((await checkLedger(db, 'plt_b')).violations).toEqual([]);
      const heads = await db.query<{ id: string; head: string; last: string }>(
        `SELECT c.id, encode(c.ledger_head, 'hex') AS head, (SELECT encode(hash, 'hex') FROM journal_entries WHERE contract_id = c.id ORDER BY seq DESC LIMIT 1) AS last
         FROM contracts c ORDER BY c.id`);
      expect(heads.every((h) => h.head === h.last && /^[0-9a-f]{64}$/.test(h.head))).toBe(true);

      // The next entry, written by postEntry, chains to the backfilled head.
      await db.tx((tx) => postEntry(tx, {
        platformId: 'plt_b', contractId: 'ctr_a', milestoneId: null, currency: 'USD', kind: 'escrow_funding', reference: 'charge:ch_3', at: new Date(at),
        postings: [{ source: 'world', destination: 'clients:usr_c:funding', amount: 700 }, { source: 'clients:usr_c:funding', destination: 'contracts:ctr_a:escrow:ms_3', amount: 700 }],
      }));
      expect((await checkLedger(db, 'plt_b')).violations).toEqual([]);
      const [third] = await db.query<{ seq: number; chained: boolean }>(
        `SELECT e.seq, e.hash = c.ledger_head AND e.hash <> (SELECT hash FROM journal_entries WHERE contract_id = 'ctr_a' AND seq = 2) AS chained
         FROM journal_entries e JOIN contracts c ON c.id = e.contract_id WHERE e.reference = 'charge:ch_3'`);
      expect(third).toEqual({ seq: 3, chained: true });
    } finally {
      await db.close();
      await pgDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
