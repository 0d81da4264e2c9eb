-- Tamper evidence for the ledger (Trust issue, defect 9).
--
-- 1. Each journal entry stores a SHA-256 hash chained to the previous entry of its contract,
--    and the contract row keeps the head of its chain. Changing, removing or reordering an
--    entry or a posting breaks a link that GET /v1/admin/ledger/check recomputes.
-- 2. TRUNCATE of the journal, the postings and the activity is refused, as UPDATE and DELETE are.
-- 3. All the append-only triggers fire ALWAYS, also under session_replication_role = replica
--    (which otherwise skips triggers without showing it in pg_trigger).

-- The one definition of an entry's hash, used by postEntry, the check and the backfill below:
-- sha256(previous hash || canonical entry), the canonical entry being the JSON array
-- [id, contract, seq, kind, reference, milestone, created_at in epoch microseconds,
--  [idx…], [source…], [destination…], [amount…], [currency…]] as jsonb prints it, the postings
-- column by column in idx order (no subquery, so PostgreSQL can inline the function: about 20 µs a call).
-- The first entry of a contract chains to the empty string. Built-ins only (sha256 is in
-- PostgreSQL 11+ and PGlite; pgcrypto is not needed).
CREATE FUNCTION tranche_entry_hash(
  prev_hash bytea, entry_id text, entry_contract text, entry_seq integer, entry_kind text, entry_reference text,
  entry_milestone text, entry_at timestamptz,
  posting_idx integer[], posting_sources text[], posting_destinations text[], posting_amounts bigint[], posting_currencies text[]
) RETURNS bytea LANGUAGE sql STABLE AS $$
  SELECT sha256(COALESCE(prev_hash, ''::bytea) || convert_to(jsonb_build_array(
    entry_id, entry_contract, entry_seq, entry_kind, entry_reference, entry_milestone,
    (extract(epoch FROM entry_at) * 1000000)::bigint,
    posting_idx, posting_sources, posting_destinations, posting_amounts, posting_currencies
  )::text, 'UTF8'))
$$;

ALTER TABLE journal_entries ADD COLUMN hash bytea;
ALTER TABLE contracts ADD COLUMN ledger_head bytea;

-- Backfill: the entries written before this migration, chained in seq order per contract (by
-- rank, so that a sequence with a gap, which invariant 8 reports, still gets a chain).
ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only;

WITH RECURSIVE entry AS (
  SELECT e.id, e.contract_id, e.seq, e.kind, e.reference, e.milestone_id, e.created_at, p.idx, p.sources, p.destinations, p.amounts, p.currencies,
         row_number() OVER (PARTITION BY e.contract_id ORDER BY e.seq) AS rank
  FROM journal_entries e
  CROSS JOIN LATERAL (
    SELECT array_agg(idx ORDER BY idx) AS idx, array_agg(source ORDER BY idx) AS sources, array_agg(destination ORDER BY idx) AS destinations,
           array_agg(amount ORDER BY idx) AS amounts, array_agg(currency ORDER BY idx) AS currencies
    FROM postings WHERE entry_id = e.id
  ) p
), chain AS (
  SELECT e.id, e.contract_id, e.rank,
         tranche_entry_hash(NULL, e.id, e.contract_id, e.seq, e.kind, e.reference, e.milestone_id, e.created_at, e.idx, e.sources, e.destinations, e.amounts, e.currencies) AS hash
  FROM entry e WHERE e.rank = 1
  UNION ALL
  SELECT e.id, e.contract_id, e.rank,
         tranche_entry_hash(c.hash, e.id, e.contract_id, e.seq, e.kind, e.reference, e.milestone_id, e.created_at, e.idx, e.sources, e.destinations, e.amounts, e.currencies)
  FROM chain c JOIN entry e ON e.contract_id = c.contract_id AND e.rank = c.rank + 1
)
UPDATE journal_entries j SET hash = chain.hash FROM chain WHERE j.id = chain.id;

UPDATE contracts c SET ledger_head = last.hash
FROM (SELECT DISTINCT ON (contract_id) contract_id, hash FROM journal_entries ORDER BY contract_id, seq DESC) last
WHERE last.contract_id = c.id;

ALTER TABLE journal_entries ENABLE ALWAYS TRIGGER journal_entries_append_only;
ALTER TABLE postings ENABLE ALWAYS TRIGGER postings_append_only;
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_append_only;

ALTER TABLE journal_entries ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION tranche_refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION tranche_refuse_change();
CREATE TRIGGER activity_no_truncate BEFORE TRUNCATE ON activity
  FOR EACH STATEMENT EXECUTE FUNCTION tranche_refuse_change();
ALTER TABLE journal_entries ENABLE ALWAYS TRIGGER journal_entries_no_truncate;
ALTER TABLE postings ENABLE ALWAYS TRIGGER postings_no_truncate;
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_no_truncate;
