-- Four eyes (issue 11): an organisation's approval threshold per currency, in minor units
-- ({"USD": 50000}). Approving, releasing or paying an amount at or above it on one of its
-- contracts needs a second member: the first approval is kept here until the second comes.
ALTER TABLE organizations ADD COLUMN approval_threshold jsonb NOT NULL DEFAULT '{}'::jsonb;

-- While a milestone is `approval_pending`: the first member, the state it was approved from,
-- and, for a partial release, the amount (NULL: the whole milestone was approved).
ALTER TABLE milestones
  ADD COLUMN approval_by text REFERENCES users(id),
  ADD COLUMN approval_from text,
  ADD COLUMN approval_release bigint,
  ADD COLUMN approval_at timestamptz;

-- A draft payment a first finance member paid: it stays a draft until a second member pays it.
ALTER TABLE payments
  ADD COLUMN approval_by text REFERENCES users(id),
  ADD COLUMN approval_at timestamptz;
