-- Balances and payouts (issue 14, item 5).
--
-- Journal entries that belong to no contract (a contractor's payout moves their balance, which
-- many contracts fed) are kept in books: the `contract_id` of such an entry names its book, and
-- the book row holds its sequence counter and hash-chain head, as a contract row does for its own.
CREATE TABLE ledger_books (
  id            text PRIMARY KEY,
  platform_id   text NOT NULL,
  owner_id      text NOT NULL,
  ledger_seq    integer NOT NULL DEFAULT 0,
  ledger_head   bytea,
  created_at    timestamptz NOT NULL
);

CREATE TABLE payouts (
  id             text PRIMARY KEY,
  platform_id    text NOT NULL,
  contractor_id  text NOT NULL REFERENCES users(id),
  amount         bigint NOT NULL CHECK (amount > 0),
  currency       text NOT NULL,
  -- processing: on its way to the bank; paid; failed: the money is back in the balance.
  status         text NOT NULL CHECK (status IN ('processing', 'paid', 'failed')),
  operation_id   text NOT NULL,
  provider_ref   text,
  failure_code   text,
  paid_at        timestamptz,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX payouts_contractor ON payouts (platform_id, contractor_id, id);
