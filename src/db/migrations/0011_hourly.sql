-- Hourly contracts (seed 003): terms, time entries, milestone payment requests, weekly invoices.

-- The terms both parties accepted with the contract. Changes agreed later are rows of
-- hourly_terms that apply from the Monday after they were agreed.
ALTER TABLE contracts ADD COLUMN hourly_rate bigint CHECK (hourly_rate > 0);
ALTER TABLE contracts ADD COLUMN weekly_limit_hours integer CHECK (weekly_limit_hours BETWEEN 1 AND 168);
ALTER TABLE contracts ADD CONSTRAINT contracts_hourly_rate CHECK ((type = 'hourly') = (hourly_rate IS NOT NULL));

CREATE TABLE hourly_terms (
  id                  text PRIMARY KEY,
  platform_id         text NOT NULL,
  contract_id         text NOT NULL REFERENCES contracts(id),
  proposed_by         text NOT NULL CHECK (proposed_by IN ('client', 'contractor')),
  status              text NOT NULL CHECK (status IN ('proposed', 'accepted', 'declined', 'withdrawn')),
  hourly_rate         bigint NOT NULL CHECK (hourly_rate > 0),
  weekly_limit_hours  integer CHECK (weekly_limit_hours BETWEEN 1 AND 168),
  -- the Monday (platform time zone) from which accepted terms bill; set on acceptance
  effective_from      date,
  version             integer NOT NULL DEFAULT 1,
  answered_at         timestamptz,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE INDEX hourly_terms_contract ON hourly_terms (contract_id, effective_from);
CREATE UNIQUE INDEX hourly_terms_one_proposed ON hourly_terms (contract_id) WHERE status = 'proposed';

CREATE TABLE invoices (
  id                  text PRIMARY KEY,
  platform_id         text NOT NULL,
  contract_id         text NOT NULL REFERENCES contracts(id),
  number              text NOT NULL,
  client_id           text NOT NULL,
  contractor_id       text NOT NULL,
  period_start        date NOT NULL,
  period_end          date NOT NULL,
  logged_minutes      integer NOT NULL CHECK (logged_minutes > 0),
  billed_minutes      integer NOT NULL CHECK (billed_minutes >= 0 AND billed_minutes <= logged_minutes),
  hourly_rate         bigint NOT NULL,
  weekly_limit_hours  integer,
  amount              bigint NOT NULL CHECK (amount >= 0),
  -- what the client owes: the amount, or what a dispute resolution released
  amount_due          bigint NOT NULL CHECK (amount_due >= 0 AND amount_due <= amount),
  currency            text NOT NULL,
  status              text NOT NULL CHECK (status IN ('open', 'paid', 'past_due', 'void')),
  due_at              timestamptz NOT NULL,
  due_date            date NOT NULL,
  paid_from_escrow    bigint NOT NULL DEFAULT 0 CHECK (paid_from_escrow >= 0),
  charged             bigint NOT NULL DEFAULT 0 CHECK (charged >= 0),
  client_fee          bigint NOT NULL DEFAULT 0 CHECK (client_fee >= 0),
  charge_pending      boolean NOT NULL DEFAULT false,
  charge_attempts     integer NOT NULL DEFAULT 0,
  retries             integer NOT NULL DEFAULT 0,
  past_due_reason     text,
  dispute_id          text,
  paid_at             timestamptz,
  voided_at           timestamptz,
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  -- one invoice per contract and week, however often and wherever Monday's job runs
  UNIQUE (contract_id, period_start),
  UNIQUE (platform_id, number),
  CHECK (paid_from_escrow + charged <= amount_due)
);
CREATE INDEX invoices_client ON invoices (platform_id, client_id, id);
CREATE INDEX invoices_contractor ON invoices (platform_id, contractor_id, id);

CREATE TABLE time_entries (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  date            date NOT NULL,
  minutes         integer NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
  memo            text NOT NULL,
  invoice_id      text REFERENCES invoices(id),
  -- the part of the entry the invoice billed (entries past the weekly limit bill 0)
  billed_minutes  integer,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX time_entries_contract_date ON time_entries (contract_id, date, id);
CREATE INDEX time_entries_platform_date ON time_entries (platform_id, date) WHERE invoice_id IS NULL;

CREATE TABLE milestone_requests (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  requested_by    text NOT NULL REFERENCES users(id),
  amount          bigint NOT NULL CHECK (amount > 0),
  description     text NOT NULL,
  status          text NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn')),
  decline_reason  text,
  milestone_id    text REFERENCES milestones(id),
  answered_by     text REFERENCES users(id),
  answered_at     timestamptz,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX milestone_requests_contract ON milestone_requests (contract_id, id);

-- Contractor payments made for an invoice (escrow releases and the card charge).
ALTER TABLE payments ADD COLUMN invoice_id text REFERENCES invoices(id);
CREATE INDEX payments_invoice ON payments (invoice_id) WHERE invoice_id IS NOT NULL;

-- A dispute is about a milestone's escrow or about an invoice in its review window.
ALTER TABLE disputes ALTER COLUMN milestone_id DROP NOT NULL;
ALTER TABLE disputes ADD COLUMN invoice_id text REFERENCES invoices(id);
ALTER TABLE disputes ADD CONSTRAINT disputes_subject CHECK ((milestone_id IS NULL) <> (invoice_id IS NULL));
CREATE UNIQUE INDEX disputes_one_open_invoice ON disputes (invoice_id) WHERE status <> 'resolved';
