import type { Queryable } from '../db/client.ts';

export type Violation = { invariant: number; rule: string; detail: Record<string, unknown> };
export type LedgerReport = { ok: boolean; violations: Violation[]; accounts: number; entries: number; postings: number };

const APPEND_ONLY_TRIGGERS = ['journal_entries_append_only', 'postings_append_only', 'activity_append_only'];

/**
 * Recomputes every balance from the postings and checks the invariants of PRODUCT.md
 * (section Ledger). Scoped to one platform. Each query looks for counter-examples, so an
 * empty result is a proof for the data at hand, not a sample.
 */
export async function checkLedger(q: Queryable, platformId: string): Promise<LedgerReport> {
  const violations: Violation[] = [];
  const add = (invariant: number, rule: string, rows: Record<string, unknown>[]) =>
    rows.forEach((detail) => violations.push({ invariant, rule, detail }));

  // 1. Each entry balances per currency: debits (sources) equal credits (destinations) and every
  //    posting of an entry is in the contract's currency.
  add(1, 'entry without postings', await q.query(
    `SELECT e.id FROM journal_entries e WHERE e.platform_id = $1 AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)`, [platformId]));
  add(1, 'posting currency differs from its contract', await q.query(
    `SELECT p.entry_id, p.idx, p.currency, c.currency AS contract_currency FROM postings p JOIN contracts c ON c.id = p.contract_id
     WHERE p.platform_id = $1 AND p.currency <> c.currency`, [platformId]));
  add(1, 'entry does not balance', await q.query(
    `SELECT entry_id, currency, SUM(d)::bigint AS net FROM (
       SELECT entry_id, currency, amount AS d FROM postings WHERE platform_id = $1
       UNION ALL SELECT entry_id, currency, -amount FROM postings WHERE platform_id = $1) x
     GROUP BY entry_id, currency HAVING SUM(d) <> 0`, [platformId]));

  const balances = `
    SELECT a.address, a.currency, a.kind, a.allow_negative, a.balance AS stored,
      (COALESCE((SELECT SUM(amount) FROM postings p WHERE p.platform_id = a.platform_id AND p.destination = a.address AND p.currency = a.currency), 0)
     - COALESCE((SELECT SUM(amount) FROM postings p WHERE p.platform_id = a.platform_id AND p.source = a.address AND p.currency = a.currency), 0))::bigint AS computed
    FROM ledger_accounts a WHERE a.platform_id = $1`;
  const accounts = await q.query<{ address: string; currency: string; kind: string; allow_negative: boolean; stored: number | null; computed: number }>(balances, [platformId]);

  // 2. Across all accounts, balances per currency sum to zero.
  const sums = new Map<string, number>();
  for (const a of accounts) sums.set(a.currency, (sums.get(a.currency) ?? 0) + a.computed);
  for (const [currency, sum] of sums) if (sum !== 0) add(2, 'balances do not sum to zero', [{ currency, sum }]);
  // 3. Stored balances equal the sum of their postings.
  add(3, 'stored balance differs from postings', accounts.filter((a) => a.stored !== null && a.stored !== a.computed));
  // 4. Only accounts allowed to go negative are negative.
  add(4, 'negative balance', accounts.filter((a) => !a.allow_negative && a.computed < 0));

  // 5. Append-only: the triggers that refuse UPDATE and DELETE are in place.
  const triggers = await q.query<{ tgname: string }>('SELECT tgname FROM pg_trigger WHERE tgname = ANY($1)', [APPEND_ONLY_TRIGGERS]);
  const present = new Set(triggers.map((t) => t.tgname));
  add(5, 'append-only trigger missing', APPEND_ONLY_TRIGGERS.filter((t) => !present.has(t)).map((trigger) => ({ trigger })));

  // 6. Per milestone: what left escrow never exceeds what entered it, and the milestone's own
  //    counters agree with the ledger.
  add(6, 'milestone escrow disagrees with the ledger', await q.query(
    `SELECT m.id, m.funded_amount, m.released_amount, m.refunded_amount, COALESCE(i.amt, 0)::bigint AS ledger_in, COALESCE(o.amt, 0)::bigint AS ledger_out
     FROM milestones m
     LEFT JOIN (SELECT destination, SUM(amount) AS amt FROM postings WHERE platform_id = $1 AND destination LIKE 'contracts:%' GROUP BY destination) i
       ON i.destination = 'contracts:' || m.contract_id || ':escrow:' || m.id
     LEFT JOIN (SELECT source, SUM(amount) AS amt FROM postings WHERE platform_id = $1 AND source LIKE 'contracts:%' GROUP BY source) o
       ON o.source = 'contracts:' || m.contract_id || ':escrow:' || m.id
     WHERE m.platform_id = $1 AND (COALESCE(i.amt, 0) <> m.funded_amount OR COALESCE(o.amt, 0) <> m.released_amount + m.refunded_amount
       OR COALESCE(o.amt, 0) > COALESCE(i.amt, 0))`, [platformId]));

  // 7. One money movement per provider reference (also a unique constraint; checked anyway).
  add(7, 'reference used twice', await q.query(
    `SELECT reference, COUNT(*)::int AS n FROM journal_entries WHERE platform_id = $1 GROUP BY reference HAVING COUNT(*) > 1`, [platformId]));
  add(7, 'provider charge booked twice', await q.query(
    `SELECT provider_ref, COUNT(*)::int AS n FROM fundings WHERE platform_id = $1 GROUP BY provider_ref HAVING COUNT(*) > 1`, [platformId]));

  // 8. Per contract, entry sequence numbers run 1..n without gaps and match the counter.
  add(8, 'entry sequence has a gap', await q.query(
    `SELECT c.id, c.ledger_seq, COUNT(e.id)::int AS entries, COALESCE(MAX(e.seq), 0)::int AS max_seq
     FROM contracts c LEFT JOIN journal_entries e ON e.contract_id = c.id
     WHERE c.platform_id = $1 GROUP BY c.id, c.ledger_seq
     HAVING COUNT(e.id) <> COALESCE(MAX(e.seq), 0) OR c.ledger_seq <> COUNT(e.id)`, [platformId]));

  const [counts] = await q.query<{ entries: number; postings: number }>(
    'SELECT (SELECT COUNT(*) FROM journal_entries WHERE platform_id = $1)::int AS entries, (SELECT COUNT(*) FROM postings WHERE platform_id = $1)::int AS postings',
    [platformId],
  );
  return { ok: violations.length === 0, violations, accounts: accounts.length, entries: counts!.entries, postings: counts!.postings };
}
