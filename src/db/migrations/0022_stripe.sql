-- Stripe Connect (issue 14, items 2 and 3): customers, connected accounts, transfers of released
-- money, and inbound provider events.

-- The provider's customer of each client (a user or an organisation), made once when the client
-- saves a payment method; charges name it with the method.
CREATE TABLE payment_customers (
  platform_id  text NOT NULL,
  provider     text NOT NULL,
  client_id    text NOT NULL,
  reference    text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (platform_id, provider, client_id)
);

-- A contractor's connected account (Stripe: an Express account), made once when they ask for
-- the onboarding link; its state as the provider last told it (account.updated or a read).
CREATE TABLE payout_accounts (
  platform_id        text NOT NULL,
  provider           text NOT NULL,
  contractor_id      text NOT NULL REFERENCES users(id),
  reference          text NOT NULL,
  transfers_enabled  boolean NOT NULL DEFAULT false,
  payouts_enabled    boolean NOT NULL DEFAULT false,
  details_submitted  boolean NOT NULL DEFAULT false,
  -- The `created` time (provider's, seconds) of the newest account.updated applied: an older
  -- event arriving late is not applied over a newer one.
  status_event_at    bigint,
  -- The last payout of the account to the contractor's bank that failed (payout.failed).
  payout_failure     jsonb,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  PRIMARY KEY (platform_id, provider, contractor_id),
  UNIQUE (provider, reference)
);

-- Released money on its way to a contractor's connected account, one row per payment (a
-- release, or a paid draft payment). waiting: the account cannot receive transfers yet (or the
-- last transfer was refused); requested: a transfer operation is on its way; paid; reversed:
-- the platform took (all of) it back.
CREATE TABLE transfers (
  payment_id       text PRIMARY KEY,
  platform_id      text NOT NULL,
  contract_id      text NOT NULL,
  milestone_id     text,
  contractor_id    text NOT NULL,
  amount           bigint NOT NULL CHECK (amount > 0),
  currency         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('waiting', 'requested', 'paid', 'reversed')),
  -- The charge the money came in with (the transfer is tied to it: no platform balance needed).
  source_charge    text,
  operation_id     text,
  attempts         integer NOT NULL DEFAULT 0,
  provider_ref     text,
  amount_reversed  bigint NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX transfers_waiting ON transfers (platform_id, contractor_id) WHERE status = 'waiting';
CREATE INDEX transfers_ref ON transfers (provider_ref) WHERE provider_ref IS NOT NULL;

-- Inbound provider events (webhooks), stored once by the provider's event id as they arrive
-- (verified), applied by the worker afterwards: a replayed delivery is the same row, and
-- applying reads the state it changes, so an event applied twice or out of order changes
-- nothing twice.
CREATE TABLE provider_events (
  provider         text NOT NULL,
  event_id         text NOT NULL,
  type             text NOT NULL,
  payload          jsonb NOT NULL,
  received_at      timestamptz NOT NULL,
  applied_at       timestamptz,
  -- What applying it did (or why it was ignored).
  outcome          text,
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  next_attempt_at  timestamptz NOT NULL,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_due ON provider_events (next_attempt_at) WHERE applied_at IS NULL;

-- Transfers are provider operations of their own purpose; hourly invoices' charges are too
-- (issue 14, item 1): both purposes are allowed here, whichever migration comes first.
ALTER TABLE provider_operations DROP CONSTRAINT IF EXISTS provider_operations_purpose_check;
ALTER TABLE provider_operations ADD CONSTRAINT provider_operations_purpose_check
  CHECK (purpose IN ('funding', 'milestone_request', 'payment', 'refund', 'payout', 'invoice', 'transfer'));
