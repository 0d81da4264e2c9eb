-- Reconciliation and chargebacks (issue 14, items 4 and 3's chargebacks).

-- What the sandbox provider did (src/payments/reporting.ts): the sandbox is our own provider, so
-- it keeps its own record, written after each call outside any transaction of ours, as a real
-- provider's books are. Reconciliation lists it as it lists Stripe's objects; a row planted or
-- removed here is a difference between "the provider" and us. Not a ledger: nothing reads it but
-- the sandbox's listing.
CREATE TABLE sandbox_objects (
  id               text PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('charge', 'refund', 'transfer', 'payout')),
  idempotency_key  text NOT NULL,
  amount           bigint NOT NULL,
  currency         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed')),
  -- A refund: the charge it returns money from.
  charge_reference text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (kind, idempotency_key)
);
CREATE INDEX sandbox_objects_created ON sandbox_objects (created_at);

-- Reconciliation looks operations up by the provider's reference and by period.
CREATE INDEX provider_operations_ref ON provider_operations (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX provider_operations_created ON provider_operations (platform_id, created_at);

-- One report per platform, provider and period: the daily run and an admin's run of the same
-- period are the same report (requested once, made once). `pending`: requested, the provider's
-- listing not read yet (made after commit; a crash leaves it for the worker's sweep).
CREATE TABLE reconciliation_runs (
  id                text PRIMARY KEY,
  platform_id       text NOT NULL,
  provider          text NOT NULL,
  period_start      timestamptz NOT NULL,
  period_end        timestamptz NOT NULL CHECK (period_end > period_start),
  trigger           text NOT NULL CHECK (trigger IN ('schedule', 'admin')),
  status            text NOT NULL CHECK (status IN ('pending', 'completed')),
  provider_objects  integer,
  operations        integer,
  differences       integer,
  attempts          integer NOT NULL DEFAULT 0,
  last_error        text,
  next_attempt_at   timestamptz NOT NULL,
  created_at        timestamptz NOT NULL,
  completed_at      timestamptz,
  UNIQUE (platform_id, provider, period_start, period_end)
);
CREATE INDEX reconciliation_runs_pending ON reconciliation_runs (next_attempt_at) WHERE status = 'pending';
CREATE INDEX reconciliation_runs_list ON reconciliation_runs (platform_id, id);

-- Every difference a run found; reported, never "fixed".
CREATE TABLE reconciliation_differences (
  run_id        text NOT NULL REFERENCES reconciliation_runs(id),
  idx           integer NOT NULL,
  kind          text NOT NULL,
  object_kind   text,
  provider_ref  text,
  operation_id  text,
  detail        jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, idx)
);

-- A chargeback (a card dispute the client opened with their bank), once per provider dispute.
-- While open it freezes the escrow of the milestone its charge funded (milestones.escrow_frozen_by);
-- lost, the disputed amount leaves for the world in one journal entry (`chargeback:<id>`).
CREATE TABLE chargebacks (
  id                  text PRIMARY KEY,
  platform_id         text NOT NULL,
  provider            text NOT NULL,
  provider_dispute_id text NOT NULL,
  charge_reference    text NOT NULL,
  operation_id        text,
  -- Null when the charge is none of ours (an orphan charge): then only the admin is told.
  contract_id         text,
  milestone_id        text,
  payment_id          text,
  amount              bigint NOT NULL CHECK (amount > 0),
  currency            text NOT NULL,
  status              text NOT NULL CHECK (status IN ('open', 'won', 'lost')),
  -- Booked when lost: what left the escrow, the client fee given back, what the platform lost.
  from_escrow         bigint,
  fee_back            bigint,
  platform_loss       bigint,
  entry_reference     text,
  opened_at           timestamptz NOT NULL,
  closed_at           timestamptz,
  updated_at          timestamptz NOT NULL,
  UNIQUE (platform_id, provider, provider_dispute_id)
);
CREATE INDEX chargebacks_milestone ON chargebacks (milestone_id) WHERE milestone_id IS NOT NULL;
CREATE INDEX chargebacks_list ON chargebacks (platform_id, id);

-- The open chargeback that freezes this milestone's escrow: nothing may move it meanwhile.
ALTER TABLE milestones ADD COLUMN escrow_frozen_by text;
