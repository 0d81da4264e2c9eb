-- A change request can be modified by the other party: their counter-proposal is a new change
-- request that supersedes it (seed 001: "approve, decline, or modify"). The original ends
-- `superseded` and names its successor; the counter names what it supersedes.
ALTER TABLE change_requests DROP CONSTRAINT change_requests_status_check;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_status_check
  CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'failed', 'superseded'));
ALTER TABLE change_requests ADD COLUMN supersedes text REFERENCES change_requests(id);
ALTER TABLE change_requests ADD COLUMN superseded_by text REFERENCES change_requests(id);
