-- Identity: platforms, users, API tokens, sessions, idempotency records.
-- Every row carries platform_id so that one deployment can serve several marketplaces.

CREATE TABLE platforms (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  timezone    text NOT NULL DEFAULT 'UTC',
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX platforms_one_default ON platforms (is_default) WHERE is_default;

CREATE TABLE users (
  id                      text PRIMARY KEY,
  platform_id             text NOT NULL REFERENCES platforms(id),
  email                   text NOT NULL,
  email_normalized        text NOT NULL,
  name                    text NOT NULL,
  password_hash           text,
  default_payment_method  text,
  version                 integer NOT NULL DEFAULT 1,
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  UNIQUE (platform_id, email_normalized),
  UNIQUE (platform_id, id)
);

CREATE TABLE api_tokens (
  id           text PRIMARY KEY,
  platform_id  text NOT NULL REFERENCES platforms(id),
  user_id      text REFERENCES users(id),
  kind         text NOT NULL CHECK (kind IN ('user', 'admin')),
  name         text,
  token_hash   text NOT NULL UNIQUE,
  last_four    text NOT NULL,
  created_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  CHECK ((kind = 'admin') = (user_id IS NULL))
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
  id           text PRIMARY KEY,
  platform_id  text NOT NULL REFERENCES platforms(id),
  user_id      text NOT NULL REFERENCES users(id),
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);

-- One row per (caller, key). The row is written in the same transaction as the command it
-- answers, so a crash can never leave a command committed without its stored response.
CREATE TABLE idempotency_keys (
  platform_id     text NOT NULL,
  principal       text NOT NULL,
  key             text NOT NULL,
  request_hash    text NOT NULL,
  status_code     integer NOT NULL,
  response_body   jsonb,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (platform_id, principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
