-- Admin tokens are api_tokens rows (kind 'admin'), listed, revoked and rotated like user tokens.
-- `origin` says where an admin token came from: 'env' (TRANCHE_ADMIN_TOKEN; when that value
-- changes, the token the previous value made is revoked), 'first_start' (generated once for a
-- database that had no admin token) or 'issued' (created or rotated by an operator).
ALTER TABLE api_tokens ADD COLUMN origin text;

-- Admin tokens made before this migration came from the environment or from first start; a
-- still-configured TRANCHE_ADMIN_TOKEN is recognised by its hash at the next start.
UPDATE api_tokens SET origin = 'first_start' WHERE kind = 'admin';

ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_admin_origin
  CHECK ((kind = 'admin') = (origin IS NOT NULL) AND (origin IS NULL OR origin IN ('env', 'first_start', 'issued')));

-- At most one live token per platform stands for the environment variable.
CREATE UNIQUE INDEX api_tokens_one_env_admin ON api_tokens (platform_id) WHERE origin = 'env' AND revoked_at IS NULL;
CREATE INDEX api_tokens_admin ON api_tokens (platform_id, id) WHERE kind = 'admin';
