-- Provider operations (issue 14, item 1): every call to the payment provider is first a row,
-- written in the command's transaction with a deterministic idempotency key, then made after
-- commit, and its answer recorded (with its journal entry) in a transaction of its own. A
-- crash between the two leaves a `pending` row that the worker finishes with the same key, so
-- the provider does it once.
CREATE TABLE provider_operations (
  id                text PRIMARY KEY,
  platform_id       text NOT NULL,
  provider          text NOT NULL,
  operation         text NOT NULL CHECK (operation IN ('charge', 'refund', 'transfer', 'payout')),
  -- What the answer is booked for: an escrow deposit (of a milestone, or of the milestone an
  -- accepted hourly milestone request creates), a draft payment, an escrow refund, a payout.
  purpose           text NOT NULL CHECK (purpose IN ('funding', 'milestone_request', 'payment', 'refund', 'payout')),
  contract_id       text,
  milestone_id      text,
  -- The payment, milestone request or payout the operation is for.
  subject_id        text,
  amount            bigint NOT NULL CHECK (amount > 0),
  currency          text NOT NULL,
  idempotency_key   text NOT NULL,
  payment_method    text,
  -- For a refund: the provider's reference of the charge it returns money from.
  charge_reference  text,
  -- What the booking needs and the command knew (amounts before fees, versions, the event).
  details           jsonb NOT NULL DEFAULT '{}',
  -- pending: written, not answered yet; processing: accepted, the outcome comes later;
  -- succeeded / failed: final.
  status            text NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
  provider_ref      text,
  failure_code      text,
  -- The journal entry that books the provider's movement (`charge:…`, `refund_paid:…`, `payout:…`).
  entry_reference   text,
  attempts          integer NOT NULL DEFAULT 0,
  last_error        text,
  next_attempt_at   timestamptz NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  settled_at        timestamptz,
  UNIQUE (platform_id, idempotency_key)
);
CREATE INDEX provider_operations_open ON provider_operations (next_attempt_at) WHERE status IN ('pending', 'processing');
CREATE INDEX provider_operations_milestone ON provider_operations (milestone_id) WHERE milestone_id IS NOT NULL;
CREATE INDEX provider_operations_subject ON provider_operations (subject_id) WHERE subject_id IS NOT NULL;

-- A command whose answer depends on the provider records its first answer here while it waits
-- (status_code stays 0: a retry is told the request is still running); if the process dies
-- before the final answer, start-up makes this provisional answer (202) the replayed one.
ALTER TABLE idempotency_keys ADD COLUMN provisional_status integer;
