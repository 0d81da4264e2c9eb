-- Platform settings (fees, default preset, time zone, minimum amounts) belong to the platform's
-- admin, never to a party; refunds of funded escrow at close are requests the contractor answers.

ALTER TABLE platforms ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
ALTER TABLE platforms ADD COLUMN version integer NOT NULL DEFAULT 1;

CREATE TABLE refund_requests (
  id              text PRIMARY KEY,
  platform_id     text NOT NULL,
  contract_id     text NOT NULL REFERENCES contracts(id),
  requested_by    text REFERENCES users(id),
  requester_role  text NOT NULL CHECK (requester_role IN ('client', 'contractor')),
  status          text NOT NULL CHECK (status IN ('open', 'accepted', 'countered', 'declined', 'withdrawn', 'escalated', 'failed')),
  refund_amount   bigint NOT NULL CHECK (refund_amount >= 0),
  release_amount  bigint NOT NULL CHECK (release_amount >= 0),
  message         text,
  respond_by      timestamptz NOT NULL,
  counter_of      text REFERENCES refund_requests(id),
  answered_by     text REFERENCES users(id),
  answer_reason   text,
  version         integer NOT NULL DEFAULT 1,
  resolved_at     timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
-- at most one open refund request per contract
CREATE UNIQUE INDEX refund_requests_one_open ON refund_requests (contract_id) WHERE status = 'open';
CREATE INDEX refund_requests_contract ON refund_requests (contract_id, id);
