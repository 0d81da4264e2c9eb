-- Negotiation and disputes: change requests, disputes, files.

CREATE TABLE change_requests (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  author_id       text NOT NULL REFERENCES users(id),
  author_role     text NOT NULL CHECK (author_role IN ('client', 'contractor')),
  status          text NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'failed')),
  operations      jsonb NOT NULL,
  message         text,
  diff            jsonb NOT NULL,
  decline_reason  text,
  failure_reason  text,
  version         integer NOT NULL DEFAULT 1,
  resolved_at     timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
-- at most one open change request per contract
CREATE UNIQUE INDEX change_requests_one_open ON change_requests (contract_id) WHERE status = 'open';

CREATE TABLE disputes (
  id                text PRIMARY KEY,
  platform_id       text NOT NULL,
  contract_id       text NOT NULL REFERENCES contracts(id),
  milestone_id      text NOT NULL REFERENCES milestones(id),
  opened_by         text NOT NULL REFERENCES users(id),
  opener_role       text NOT NULL CHECK (opener_role IN ('client', 'contractor')),
  reason            text NOT NULL,
  evidence_ids      jsonb NOT NULL DEFAULT '[]',
  previous_status   text NOT NULL,
  status            text NOT NULL CHECK (status IN ('open', 'responded', 'resolved')),
  respond_by        timestamptz NOT NULL,
  response_message  text,
  response_ids      jsonb NOT NULL DEFAULT '[]',
  responded_at      timestamptz,
  release_amount    bigint,
  refund_amount     bigint,
  resolution        text,
  resolved_at       timestamptz,
  version           integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX disputes_one_open ON disputes (milestone_id) WHERE status <> 'resolved';

CREATE TABLE files (
  id            text PRIMARY KEY,
  platform_id   text NOT NULL,
  owner_id      text NOT NULL REFERENCES users(id),
  sha256        text NOT NULL,
  size          bigint NOT NULL,
  content_type  text NOT NULL,
  filename      text NOT NULL,
  created_at    timestamptz NOT NULL
);
