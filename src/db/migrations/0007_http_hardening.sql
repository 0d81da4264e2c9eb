-- HTTP hardening: login attempts counted in the database (shared by every process), and the
-- index behind the per-user daily upload quota.

-- Login attempts per fixed window, per account (`<platform>:<email>`) and per client address.
-- A failed attempt stays counted; a successful one is taken back (and clears the account).
CREATE TABLE login_attempts (
  scope         text NOT NULL CHECK (scope IN ('account', 'address')),
  key           text NOT NULL,
  window_start  timestamptz NOT NULL,
  attempts      integer NOT NULL,
  PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX login_attempts_window ON login_attempts (window_start);

CREATE INDEX files_owner_created ON files (owner_id, created_at);
