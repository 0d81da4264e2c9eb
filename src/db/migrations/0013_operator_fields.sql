-- Operator fields: an integration's own id (unique per platform) and a small string map on
-- users, contracts and milestones, so that an operator can find Tranche's records by its own.

ALTER TABLE users ADD COLUMN external_id text;
ALTER TABLE users ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX users_external_id ON users (platform_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE contracts ADD COLUMN external_id text;
ALTER TABLE contracts ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX contracts_external_id ON contracts (platform_id, external_id) WHERE external_id IS NOT NULL;

ALTER TABLE milestones ADD COLUMN external_id text;
ALTER TABLE milestones ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX milestones_external_id ON milestones (platform_id, external_id) WHERE external_id IS NOT NULL;

-- The admin's lists of contracts and disputes filter by party and by date.
CREATE INDEX disputes_platform ON disputes (platform_id, id);
