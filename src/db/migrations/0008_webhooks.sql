-- Webhooks per Standard Webhooks: endpoints that can be listed, changed, paused, rotated and
-- deleted; one message per event and endpoint (its id is the `webhook-id` of every attempt);
-- an append-only log of attempts. Deliveries leave the jobs table: they run in their own lane.

ALTER TABLE webhook_endpoints
  ADD COLUMN disabled_reason text CHECK (disabled_reason IN ('manual', 'failing')),
  -- after a rotation the old secret signs beside the new one until it expires
  ADD COLUMN previous_secret text,
  ADD COLUMN previous_secret_expires_at timestamptz,
  -- per-endpoint back-off: the first failure since the last success, how many in a row, and
  -- when the endpoint may be tried again
  ADD COLUMN failing_since timestamptz,
  ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN retry_at timestamptz,
  ADD COLUMN updated_at timestamptz;

-- Secrets were base64url; Standard Webhooks secrets are `whsec_` + standard base64. (The old
-- signature scheme is gone with this change, so integrations re-verify with the new headers.)
UPDATE webhook_endpoints
   SET updated_at = created_at,
       disabled_reason = CASE WHEN disabled_at IS NOT NULL THEN 'manual' END,
       secret = 'whsec_' || translate(substr(secret, 7), '-_', '+/') || repeat('=', (4 - length(substr(secret, 7)) % 4) % 4);
ALTER TABLE webhook_endpoints ALTER COLUMN updated_at SET NOT NULL;
CREATE INDEX webhook_endpoints_platform ON webhook_endpoints (platform_id, id);

CREATE TABLE webhook_messages (
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  id               text NOT NULL,
  platform_id      text NOT NULL,
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (endpoint_id, id)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  id             text PRIMARY KEY,
  endpoint_id    text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  message_id     text NOT NULL,
  attempted_at   timestamptz NOT NULL,
  status_code    integer,
  error          text,
  duration_ms    integer NOT NULL,
  next_retry_at  timestamptz
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

-- Deliveries still queued as jobs become messages (same event, new body shape).
INSERT INTO webhook_messages (endpoint_id, id, platform_id, event_type, payload, attempts, next_attempt_at, created_at, updated_at)
SELECT j.payload->>'endpointId', 'msg_' || substr(j.payload->'event'->>'id', 5), j.platform_id, j.payload->'event'->>'type',
       jsonb_build_object(
         'type', j.payload->'event'->>'type',
         'timestamp', j.payload->'event'->>'createdAt',
         'data', jsonb_build_object('activityId', j.payload->'event'->>'id', 'contractId', j.payload->'event'->>'contractId', 'milestoneId', j.payload->'event'->'milestoneId')
                 || coalesce(j.payload->'event'->'data', '{}'::jsonb)),
       j.attempts, j.run_at, j.created_at, j.updated_at
  FROM jobs j JOIN webhook_endpoints e ON e.id = j.payload->>'endpointId'
 WHERE j.kind = 'webhook' AND j.status = 'pending'
ON CONFLICT DO NOTHING;
UPDATE jobs SET status = 'done', last_error = 'moved to webhook_messages' WHERE kind = 'webhook' AND status = 'pending';
