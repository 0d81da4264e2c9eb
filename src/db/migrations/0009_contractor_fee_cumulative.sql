-- Contractor fees are computed on what a milestone has released so far, not per release, so
-- that splitting a release cannot lower the fee (Trust issue, defect 3). Each milestone keeps
-- the contractor fees already charged on it, as it keeps client_fee_charged; releases made
-- before this column existed are counted from the ledger.

ALTER TABLE milestones ADD COLUMN contractor_fee_charged bigint NOT NULL DEFAULT 0 CHECK (contractor_fee_charged >= 0);

UPDATE milestones m SET contractor_fee_charged = f.fees
FROM (
  SELECT e.milestone_id, SUM(p.amount) AS fees
  FROM journal_entries e JOIN postings p ON p.entry_id = e.id
  WHERE e.kind = 'escrow_release' AND p.destination = 'platform:fees:contractor'
  GROUP BY e.milestone_id
) f
WHERE f.milestone_id = m.id;
