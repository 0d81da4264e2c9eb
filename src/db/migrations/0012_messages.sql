-- The conversation of a contract (messages and per-party read markers) and the live event log
-- that feeds GET /v1/events.

CREATE TABLE messages (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  author_id       text NOT NULL REFERENCES users(id),
  body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
  attachment_ids  jsonb NOT NULL DEFAULT '[]',
  created_at      timestamptz NOT NULL
);
CREATE INDEX messages_contract ON messages (contract_id, id);

-- Where each party stands in a thread: the last message read, and the last one an email digest
-- already told them about (the next digest starts after both).
CREATE TABLE message_reads (
  platform_id    text NOT NULL,
  contract_id    text NOT NULL REFERENCES contracts(id),
  user_id        text NOT NULL REFERENCES users(id),
  read_up_to     text,
  emailed_up_to  text,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (contract_id, user_id)
);

-- One row per user told about something (a message, an activity entry, a notification, a read
-- marker that moved). A stream resumes by (xid, seq): a row becomes readable only once every
-- transaction that could still add a smaller one has ended (xid below the snapshot's xmin), so
-- a reader that has passed a position never sees a row appear behind it. The payload is read
-- from the referenced row when it is sent.
CREATE TABLE live_events (
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
  platform_id  text NOT NULL,
  user_id      text NOT NULL,
  contract_id  text,
  type         text NOT NULL CHECK (type IN ('message', 'activity', 'notification', 'read')),
  ref_id       text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (user_id, xid, seq)
);
CREATE INDEX live_events_created ON live_events (created_at);

-- Wakes the streams of the users concerned, on commit only (NOTIFY is transactional): one
-- notification per statement, naming the users (a listener re-reads the log, so a lost or
-- merged notification costs latency, never an event).
CREATE FUNCTION live_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- a payload is at most 8000 bytes: past that, every stream of every process is woken ('*')
  PERFORM pg_notify('tranche_live', CASE WHEN length(users) > 7900 THEN '*' ELSE users END)
    FROM (SELECT string_agg(DISTINCT user_id, ',') AS users FROM new_rows) s WHERE users IS NOT NULL;
  RETURN NULL;
END;
$$;
CREATE TRIGGER live_events_notify AFTER INSERT ON live_events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION live_events_notify();
