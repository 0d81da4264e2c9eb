-- Organisations: a client party may be a company whose members act for it by role.
-- A contract's client_id is then the organisation's id (org_…), so the ledger's
-- `clients:{id}:funding` accounts, payments and invoices name the organisation, not a person;
-- the member who acted is the activity's actor_id.

CREATE TABLE organizations (
  id                     text PRIMARY KEY,
  platform_id            text NOT NULL REFERENCES platforms(id),
  name                   text NOT NULL,
  default_payment_method text,
  created_by             text NOT NULL REFERENCES users(id),
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL
);
CREATE INDEX organizations_platform ON organizations (platform_id, id);

CREATE TABLE organization_members (
  org_id      text NOT NULL REFERENCES organizations(id),
  user_id     text NOT NULL REFERENCES users(id),
  roles       text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['owner', 'admin', 'manager', 'finance', 'viewer']::text[]),
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
-- Read on every authenticated request (the caller's memberships).
CREATE INDEX organization_members_user ON organization_members (user_id, org_id);

CREATE TABLE organization_invitations (
  id          text PRIMARY KEY,
  org_id      text NOT NULL REFERENCES organizations(id),
  email       text NOT NULL,
  roles       text[] NOT NULL CHECK (cardinality(roles) > 0),
  -- the link's secret is only ever stored hashed; the API never returns it
  token_hash  text NOT NULL UNIQUE,
  invited_by  text NOT NULL REFERENCES users(id),
  status      text NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
  expires_at  timestamptz NOT NULL,
  accepted_by text REFERENCES users(id),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX organization_invitations_org ON organization_invitations (org_id, id);

-- The client may now be an organisation: client ids, and the parties recorded as opening a
-- dispute or asking for a refund in the client's name, are users or organisations.
ALTER TABLE contracts DROP CONSTRAINT IF EXISTS contracts_client_id_fkey;
ALTER TABLE disputes DROP CONSTRAINT IF EXISTS disputes_opened_by_fkey;
ALTER TABLE refund_requests DROP CONSTRAINT IF EXISTS refund_requests_requested_by_fkey;
