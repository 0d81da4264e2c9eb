import type { Queryable } from '../db/client.ts';

export type Violation = { invariant: number; rule: string; detail: Record<string, unknown> };
export type LedgerReport = { ok: boolean; violations: Violation[]; accounts: number; entries: number; postings: number };

// pg_trigger.tgtype bits (PostgreSQL's trigger.h).
const ROW = 1;
const BEFORE = 2;
const DELETE = 8;
const UPDATE = 16;
const TRUNCATE = 32;

/** The guards of the append-only tables: each must exist on its table, with these events, and be enabled. */
const APPEND_ONLY_TRIGGERS = ['journal_entries', 'postings', 'activity'].flatMap((table) => [
  { table, trigger: `${table}_append_only`, tgtype: ROW | BEFORE | UPDATE | DELETE },
  { table, trigger: `${table}_no_truncate`, tgtype: BEFORE | TRUNCATE },
]);

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

  // 5. Append-only. The guards: the triggers that refuse UPDATE, DELETE and TRUNCATE exist on
  //    their tables and are enabled ('O' origin or 'A' always; 'D' is disabled, 'R' fires only
  //    for replication), and their function still refuses. The evidence: every entry's hash
  //    chains to the previous entry of its contract, and the last one is the contract's head, so
  //    an entry or posting changed, removed or reordered while a guard was down still shows.
  const guards = await appendOnlyGuards(q);
  add(5, 'append-only trigger missing', guards.missing);
  add(5, 'append-only trigger disabled', guards.disabled);
  add(5, 'append-only trigger altered', guards.altered);
  add(5, 'hash chain broken', await q.query(
    `SELECT DISTINCT ON (contract_id) contract_id AS "contractId", seq, id AS "entryId", encode(hash, 'hex') AS stored, encode(computed, 'hex') AS computed
     FROM (
       SELECT e.contract_id, e.seq, e.id, e.hash,
         tranche_entry_hash(lag(e.hash) OVER (PARTITION BY e.contract_id ORDER BY e.seq), e.id, e.contract_id, e.seq, e.kind, e.reference, e.milestone_id, e.created_at,
           p.idx, p.sources, p.destinations, p.amounts, p.currencies) AS computed
       FROM journal_entries e
       CROSS JOIN LATERAL (
         SELECT array_agg(idx ORDER BY idx) AS idx, array_agg(source ORDER BY idx) AS sources, array_agg(destination ORDER BY idx) AS destinations,
                array_agg(amount ORDER BY idx) AS amounts, array_agg(currency ORDER BY idx) AS currencies
         FROM postings WHERE entry_id = e.id) p
       WHERE e.platform_id = $1) x
     WHERE hash IS DISTINCT FROM computed
     ORDER BY contract_id, seq`, [platformId]));
  add(5, 'chain head differs from the contract', await q.query(
    `SELECT c.id AS "contractId", encode(c.ledger_head, 'hex') AS head, encode(last.hash, 'hex') AS "lastEntryHash", last.seq AS "lastSeq"
     FROM contracts c
     LEFT JOIN LATERAL (SELECT hash, seq FROM journal_entries e WHERE e.contract_id = c.id ORDER BY seq DESC LIMIT 1) last ON true
     WHERE c.platform_id = $1 AND c.ledger_head IS DISTINCT FROM last.hash`, [platformId]));

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

  // 9. Payments agree with the ledger. A payment money moved for (paid, or refunded later) has
  //    exactly one journal entry of its contract: `release:<payment id>` (escrow_release) or,
  //    for a draft paid by the client, `charge:<provider_ref>` (direct_payment). What that entry
  //    credits the contractor side is the payment: amount = postings to the contractor's balance
  //    + postings to platform:fees:contractor, fee = postings to platform:fees:contractor, in the
  //    payment's currency. Conversely every escrow_release and direct_payment entry belongs to
  //    such a payment.
  const paymentEntries = `
    SELECT pay.id AS payment_id, pay.contract_id, pay.status, pay.amount, pay.fee, pay.currency, pay.contractor_id, e.id AS entry_id
    FROM payments pay
    JOIN journal_entries e ON e.platform_id = pay.platform_id AND e.reference IN ('release:' || pay.id, 'charge:' || pay.provider_ref)
      AND e.contract_id = pay.contract_id AND e.kind = CASE WHEN e.reference = 'release:' || pay.id THEN 'escrow_release' ELSE 'direct_payment' END
    WHERE pay.platform_id = $1`;
  add(9, 'paid payment without its journal entry', await q.query(
    `SELECT pay.id AS "paymentId", pay.contract_id AS "contractId", pay.status, COUNT(pe.entry_id)::int AS entries
     FROM payments pay LEFT JOIN (${paymentEntries}) pe ON pe.payment_id = pay.id
     WHERE pay.platform_id = $1 AND pay.status IN ('paid', 'refunded')
     GROUP BY pay.id, pay.contract_id, pay.status HAVING COUNT(pe.entry_id) <> 1`, [platformId]));
  add(9, 'payment entry without a paid payment', await q.query(
    `SELECT e.id AS "entryId", e.contract_id AS "contractId", e.kind, e.reference, pe.payment_id AS "paymentId", pe.status
     FROM journal_entries e LEFT JOIN (${paymentEntries}) pe ON pe.entry_id = e.id
     WHERE e.platform_id = $1 AND e.kind IN ('escrow_release', 'direct_payment') AND (pe.payment_id IS NULL OR (pe.status NOT IN ('paid', 'refunded')
       -- A release on its way to the contractor's connected account (Stripe) is processing until transferred.
       AND NOT (pe.status = 'processing' AND EXISTS (SELECT 1 FROM transfers t WHERE t.payment_id = pe.payment_id))))`, [platformId]));
  add(9, 'payment disagrees with its journal entry', await q.query(
    `SELECT pe.payment_id AS "paymentId", pe.contract_id AS "contractId", pe.entry_id AS "entryId", pe.amount, pe.fee, pe.currency,
       x.gross AS "ledgerAmount", x.fee AS "ledgerFee", x.currencies AS "ledgerCurrencies"
     FROM (${paymentEntries}) pe
     CROSS JOIN LATERAL (
       SELECT COALESCE(SUM(p.amount) FILTER (WHERE p.destination IN ('contractors:' || pe.contractor_id || ':balance', 'platform:fees:contractor')), 0)::bigint AS gross,
              COALESCE(SUM(p.amount) FILTER (WHERE p.destination = 'platform:fees:contractor'), 0)::bigint AS fee,
              array_agg(DISTINCT p.currency) AS currencies
       FROM postings p WHERE p.entry_id = pe.entry_id) x
     WHERE pe.status IN ('paid', 'refunded', 'processing') AND (x.gross <> pe.amount OR x.fee <> pe.fee OR x.currencies <> ARRAY[pe.currency])`, [platformId]));

  // 10. Invoices (hourly contracts) agree with their lines and with the payments made for them:
  //     logged and billed minutes are their lines' sums, the amount is billed × rate / 60 rounded
  //     half up, what was paid from escrow and charged are the invoice's payments (escrow
  //     releases of milestones, card charges without one), and a paid invoice owes nothing.
  add(10, 'invoice disagrees with its lines or payments', await q.query(
    `SELECT i.id AS "invoiceId", i.contract_id AS "contractId", i.status, i.amount, i.amount_due, i.paid_from_escrow, i.charged, l.logged, l.billed, pm.escrow, pm.card
     FROM invoices i
     CROSS JOIN LATERAL (SELECT COALESCE(SUM(minutes), 0)::int AS logged, COALESCE(SUM(billed_minutes), 0)::int AS billed FROM time_entries WHERE invoice_id = i.id) l
     CROSS JOIN LATERAL (SELECT COALESCE(SUM(amount) FILTER (WHERE milestone_id IS NOT NULL), 0)::bigint AS escrow,
                                COALESCE(SUM(amount) FILTER (WHERE milestone_id IS NULL), 0)::bigint AS card
                         FROM payments WHERE invoice_id = i.id AND status = 'paid') pm
     WHERE i.platform_id = $1 AND (l.logged <> i.logged_minutes OR l.billed <> i.billed_minutes
       OR i.amount <> (i.billed_minutes::bigint * i.hourly_rate + 30) / 60
       OR pm.escrow <> i.paid_from_escrow OR pm.card <> i.charged
       OR (i.status = 'paid' AND i.paid_from_escrow + i.charged <> i.amount_due))`, [platformId]));

  // 11. Provider operations agree with the ledger: every succeeded operation has exactly one
  //     journal entry booking the provider's movement (its entry reference, in its contract or
  //     payout book), and an operation still waiting for its answer has none.
  add(11, 'succeeded provider operation without exactly one journal entry', await q.query(
    `SELECT o.id AS "operationId", o.operation, o.purpose, o.entry_reference AS "entryReference", COUNT(e.id)::int AS entries
     FROM provider_operations o LEFT JOIN journal_entries e ON e.platform_id = o.platform_id AND e.reference = o.entry_reference
     WHERE o.platform_id = $1 AND o.status = 'succeeded'
     GROUP BY o.id, o.operation, o.purpose, o.entry_reference HAVING COUNT(e.id) <> 1`, [platformId]));
  add(11, 'pending provider operation already booked', await q.query(
    `SELECT o.id AS "operationId", o.entry_reference AS "entryReference" FROM provider_operations o
     WHERE o.platform_id = $1 AND o.status = 'pending' AND o.entry_reference IS NOT NULL`, [platformId]));

  // 12. Books (entries of no contract: payouts) are chained and numbered as contracts are: the
  //     last entry's hash is the book's head, and sequence numbers run 1..n.
  add(12, 'book head differs from its last entry', await q.query(
    `SELECT b.id AS "bookId", encode(b.ledger_head, 'hex') AS head, encode(last.hash, 'hex') AS "lastEntryHash"
     FROM ledger_books b
     LEFT JOIN LATERAL (SELECT hash FROM journal_entries e WHERE e.contract_id = b.id ORDER BY seq DESC LIMIT 1) last ON true
     WHERE b.platform_id = $1 AND b.ledger_head IS DISTINCT FROM last.hash`, [platformId]));
  add(12, 'book sequence has a gap', await q.query(
    `SELECT b.id AS "bookId", b.ledger_seq, COUNT(e.id)::int AS entries, COALESCE(MAX(e.seq), 0)::int AS max_seq
     FROM ledger_books b LEFT JOIN journal_entries e ON e.contract_id = b.id
     WHERE b.platform_id = $1 GROUP BY b.id, b.ledger_seq
     HAVING COUNT(e.id) <> COALESCE(MAX(e.seq), 0) OR b.ledger_seq <> COUNT(e.id)`, [platformId]));

  // 13. Chargebacks agree with the ledger and the escrow: a lost chargeback of a contract has
  //     exactly one journal entry (`chargeback:<id>`) sending its amount to the world, an open or
  //     won one has none; a milestone's escrow is frozen exactly while a chargeback of it is open.
  add(13, 'lost chargeback without exactly one journal entry of its amount', await q.query(
    `SELECT cb.id AS "chargebackId", cb.amount, COUNT(e.id)::int AS entries, COALESCE(SUM(w.amount), 0)::bigint AS "toWorld"
     FROM chargebacks cb
     LEFT JOIN journal_entries e ON e.platform_id = cb.platform_id AND e.reference = 'chargeback:' || cb.id
     LEFT JOIN LATERAL (SELECT SUM(p.amount) AS amount FROM postings p WHERE p.entry_id = e.id AND p.destination = 'world') w ON true
     WHERE cb.platform_id = $1 AND cb.status = 'lost' AND cb.contract_id IS NOT NULL
     GROUP BY cb.id, cb.amount HAVING COUNT(e.id) <> 1 OR COALESCE(SUM(w.amount), 0) <> cb.amount`, [platformId]));
  add(13, 'chargeback booked before it was lost', await q.query(
    `SELECT cb.id AS "chargebackId", cb.status FROM chargebacks cb
     WHERE cb.platform_id = $1 AND cb.status <> 'lost' AND EXISTS (SELECT 1 FROM journal_entries e WHERE e.platform_id = cb.platform_id AND e.reference = 'chargeback:' || cb.id)`, [platformId]));
  add(13, 'escrow frozen without an open chargeback of it', await q.query(
    `SELECT m.id AS "milestoneId", m.escrow_frozen_by AS "chargebackId" FROM milestones m
     WHERE m.platform_id = $1 AND m.escrow_frozen_by IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM chargebacks cb WHERE cb.id = m.escrow_frozen_by AND cb.milestone_id = m.id AND cb.status = 'open')`, [platformId]));
  add(13, 'open chargeback of held escrow that is not frozen', await q.query(
    `SELECT cb.id AS "chargebackId", m.id AS "milestoneId" FROM chargebacks cb JOIN milestones m ON m.id = cb.milestone_id
     WHERE cb.platform_id = $1 AND cb.status = 'open' AND m.escrow_frozen_by IS NULL AND m.funded_amount - m.released_amount - m.refunded_amount > 0`, [platformId]));

  const [counts] = await q.query<{ entries: number; postings: number }>(
    'SELECT (SELECT COUNT(*) FROM journal_entries WHERE platform_id = $1)::int AS entries, (SELECT COUNT(*) FROM postings WHERE platform_id = $1)::int AS postings',
    [platformId],
  );
  return { ok: violations.length === 0, violations, accounts: accounts.length, entries: counts!.entries, postings: counts!.postings };
}

/**
 * The append-only guards that are missing, disabled, or altered (other events, or a function
 * that no longer raises). Triggers belong to the database, not to a platform.
 */
async function appendOnlyGuards(q: Queryable) {
  const found = await q.query<{ trigger: string; table: string; tgtype: number; enabled: string; raises: boolean }>(
    `SELECT t.tgname AS trigger, c.relname AS table, t.tgtype::int AS tgtype, t.tgenabled::text AS enabled,
       (f.proname = 'tranche_refuse_change' AND f.prosrc ~ 'RAISE EXCEPTION') AS raises
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc f ON f.oid = t.tgfoid
     WHERE n.nspname = current_schema() AND t.tgname = ANY($1)`,
    [APPEND_ONLY_TRIGGERS.map((t) => t.trigger)],
  );
  const out = { missing: [] as Record<string, unknown>[], disabled: [] as Record<string, unknown>[], altered: [] as Record<string, unknown>[] };
  for (const want of APPEND_ONLY_TRIGGERS) {
    const where = { trigger: want.trigger, table: want.table };
    const got = found.find((t) => t.trigger === want.trigger && t.table === want.table);
    if (!got) out.missing.push(where);
    else if (got.enabled !== 'O' && got.enabled !== 'A') out.disabled.push({ ...where, tgenabled: got.enabled });
    else if (got.tgtype !== want.tgtype || !got.raises) out.altered.push({ ...where, tgtype: got.tgtype, raises: got.raises });
  }
  return out;
}
