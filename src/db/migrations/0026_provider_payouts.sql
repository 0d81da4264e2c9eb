-- Stripe's payouts of a contractor's connected account to their bank (issue 14, item 5): one row
-- per payout, as its newest event said (payout.created/updated/paid/canceled/failed). Nothing of
-- ours moves: the money left our books when it was transferred to the account.
CREATE TABLE provider_payouts (
  provider       text NOT NULL,
  payout_id      text NOT NULL,
  platform_id    text NOT NULL,
  contractor_id  text NOT NULL REFERENCES users(id),
  account        text NOT NULL,
  -- In our minor units of the currency (Stripe's amount converted back).
  amount         bigint NOT NULL,
  currency       text NOT NULL,
  -- Stripe's status: pending, in_transit, paid, failed or canceled.
  status         text NOT NULL,
  arrival_date   timestamptz,
  failure_code   text,
  -- The `created` time (provider's, seconds) of the newest event applied: an older event arriving
  -- late is not applied over it.
  event_at       bigint NOT NULL,
  -- When Stripe made the payout (its `created`).
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (provider, payout_id)
);
CREATE INDEX provider_payouts_contractor ON provider_payouts (platform_id, contractor_id, created_at DESC);
