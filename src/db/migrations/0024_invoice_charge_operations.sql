-- Hourly invoices' card charges are provider operations (issue 14, item 1): purpose `invoice`,
-- key `invoice:<id>:<attempt>`, written with Wednesday's job (or the daily retry, a dispute's
-- resolution, the client's payment), made after commit, booked with the provider's answer.
-- 0022 allows the purpose too (with `transfer`); the same constraint, whichever comes first.
ALTER TABLE provider_operations DROP CONSTRAINT IF EXISTS provider_operations_purpose_check;
ALTER TABLE provider_operations ADD CONSTRAINT provider_operations_purpose_check
  CHECK (purpose IN ('funding', 'milestone_request', 'payment', 'refund', 'payout', 'invoice', 'transfer'));
