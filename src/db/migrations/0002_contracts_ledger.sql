-- Contracts, milestones, payments, the double-entry ledger, activity, notifications, jobs.

CREATE TABLE contracts (
  id             text PRIMARY KEY,
  platform_id    text NOT NULL REFERENCES platforms(id),
  title          text NOT NULL,
  description    text,
  client_id      text NOT NULL REFERENCES users(id),
  contractor_id  text NOT NULL REFERENCES users(id),
  created_by     text NOT NULL REFERENCES users(id),
  type           text NOT NULL CHECK (type IN ('fixed', 'hourly')),
  currency       text NOT NULL,
  status         text NOT NULL CHECK (status IN ('proposal', 'active', 'closed', 'withdrawn', 'declined')),
  policy         jsonb NOT NULL,
  ledger_seq     integer NOT NULL DEFAULT 0,
  version        integer NOT NULL DEFAULT 1,
  activated_at   timestamptz,
  closed_at      timestamptz,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  CHECK (client_id <> contractor_id)
);
CREATE INDEX contracts_client ON contracts (platform_id, client_id, id);
CREATE INDEX contracts_contractor ON contracts (platform_id, contractor_id, id);

CREATE TABLE milestones (
  id                    text PRIMARY KEY,
  platform_id           text NOT NULL,
  contract_id           text NOT NULL REFERENCES contracts(id),
  position              integer NOT NULL,
  title                 text NOT NULL,
  description           text,
  amount                bigint NOT NULL CHECK (amount > 0),
  due_date              date NOT NULL,
  status                text NOT NULL,
  proposed_by           text CHECK (proposed_by IN ('client', 'contractor')),
  funded_amount         bigint NOT NULL DEFAULT 0 CHECK (funded_amount >= 0),
  released_amount       bigint NOT NULL DEFAULT 0 CHECK (released_amount >= 0),
  refunded_amount       bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
  client_fee_charged    bigint NOT NULL DEFAULT 0,
  client_fee_refunded   bigint NOT NULL DEFAULT 0,
  funding_pending       boolean NOT NULL DEFAULT false,
  revision_count        integer NOT NULL DEFAULT 0,
  submission_count      integer NOT NULL DEFAULT 0,
  submitted_at          timestamptz,
  submission_note       text,
  submission_files      jsonb NOT NULL DEFAULT '[]',
  attachment_ids        jsonb NOT NULL DEFAULT '[]',
  last_reject_reason    text,
  version               integer NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  -- an escrow hold resolves at most once: released + refunded never exceeds what was funded
  CHECK (released_amount + refunded_amount <= funded_amount)
);
CREATE INDEX milestones_contract ON milestones (contract_id, position);

CREATE TABLE fundings (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  milestone_id    text NOT NULL REFERENCES milestones(id),
  amount          bigint NOT NULL CHECK (amount > 0),
  client_fee      bigint NOT NULL DEFAULT 0,
  currency        text NOT NULL,
  payment_method  text NOT NULL,
  provider_ref    text NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (platform_id, provider_ref)
);
CREATE INDEX fundings_milestone ON fundings (milestone_id);

CREATE TABLE payments (
  id             text PRIMARY KEY,
  platform_id    text NOT NULL,
  contract_id    text NOT NULL REFERENCES contracts(id),
  milestone_id   text REFERENCES milestones(id),
  client_id      text NOT NULL,
  contractor_id  text NOT NULL,
  kind           text NOT NULL,
  amount         bigint NOT NULL CHECK (amount > 0),
  fee            bigint NOT NULL DEFAULT 0,
  currency       text NOT NULL,
  status         text NOT NULL CHECK (status IN ('draft', 'processing', 'paid', 'failed', 'refunded')),
  provider_ref   text,
  version        integer NOT NULL DEFAULT 1,
  paid_at        timestamptz,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX payments_contract ON payments (contract_id, id);
CREATE INDEX payments_client ON payments (platform_id, client_id, id);
CREATE INDEX payments_contractor ON payments (platform_id, contractor_id, id);

-- Ledger. An account is an address in one currency. Contract-scoped accounts (escrow) keep a
-- stored balance, updated only under the contract's row lock; shared accounts (the provider's
-- world, platform fees, client funding, contractor balances) have balance NULL and are derived
-- from their postings, so that no command ever locks a global hot row.
CREATE TABLE ledger_accounts (
  platform_id     text NOT NULL,
  address         text NOT NULL,
  currency        text NOT NULL,
  kind            text NOT NULL,
  contract_id     text,
  allow_negative  boolean NOT NULL DEFAULT false,
  balance         bigint,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (platform_id, address, currency),
  CHECK (allow_negative OR balance IS NULL OR balance >= 0)
);

CREATE TABLE journal_entries (
  id            text PRIMARY KEY,
  platform_id   text NOT NULL,
  contract_id   text NOT NULL,
  seq           integer NOT NULL,
  kind          text NOT NULL,
  reference     text NOT NULL,
  milestone_id  text,
  created_at    timestamptz NOT NULL,
  UNIQUE (contract_id, seq),
  UNIQUE (platform_id, reference)
);

-- A posting moves `amount` from `source` to `destination` in one currency: it is a debit and
-- a credit of equal size, so every entry balances per currency by construction. The foreign
-- keys make both accounts exist in the posting's currency.
CREATE TABLE postings (
  entry_id      text NOT NULL REFERENCES journal_entries(id),
  idx           integer NOT NULL,
  platform_id   text NOT NULL,
  contract_id   text NOT NULL,
  source        text NOT NULL,
  destination   text NOT NULL,
  amount        bigint NOT NULL CHECK (amount > 0),
  currency      text NOT NULL,
  PRIMARY KEY (entry_id, idx),
  CHECK (source <> destination),
  FOREIGN KEY (platform_id, source, currency) REFERENCES ledger_accounts (platform_id, address, currency),
  FOREIGN KEY (platform_id, destination, currency) REFERENCES ledger_accounts (platform_id, address, currency)
);
CREATE INDEX postings_source ON postings (platform_id, source, currency);
CREATE INDEX postings_destination ON postings (platform_id, destination, currency);
CREATE INDEX postings_contract ON postings (contract_id);

CREATE TABLE activity (
  id            text PRIMARY KEY,
  platform_id   text NOT NULL,
  contract_id   text NOT NULL REFERENCES contracts(id),
  milestone_id  text,
  actor_id      text,
  actor_role    text NOT NULL,
  kind          text NOT NULL,
  data          jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL
);
CREATE INDEX activity_contract ON activity (contract_id, id);

CREATE TABLE notifications (
  id           text PRIMARY KEY,
  platform_id  text NOT NULL,
  user_id      text NOT NULL REFERENCES users(id),
  contract_id  text,
  kind         text NOT NULL,
  title        text NOT NULL,
  body         text NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}',
  read_at      timestamptz,
  created_at   timestamptz NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id);

-- The outbox and timer queue. Emails, webhooks and timers leave only from here; workers claim
-- rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
  id            text PRIMARY KEY,
  platform_id   text NOT NULL,
  contract_id   text,
  kind          text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}',
  run_at        timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  dedupe_key    text UNIQUE,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';

CREATE TABLE webhook_endpoints (
  id           text PRIMARY KEY,
  platform_id  text NOT NULL REFERENCES platforms(id),
  url          text NOT NULL,
  events       jsonb NOT NULL,
  secret       text NOT NULL,
  created_at   timestamptz NOT NULL,
  disabled_at  timestamptz
);

-- Append-only: the ledger and the activity timeline refuse UPDATE and DELETE. A correction is
-- a new, reversing entry.
CREATE FUNCTION tranche_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION tranche_refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
  FOR EACH ROW EXECUTE FUNCTION tranche_refuse_change();
CREATE TRIGGER activity_append_only BEFORE UPDATE OR DELETE ON activity
  FOR EACH ROW EXECUTE FUNCTION tranche_refuse_change();
