-- Every API process caches the credentials it has seen (src/http/credential-cache.ts), so a
-- request needs no credential query. Whatever can refuse or narrow a credential notifies
-- tranche_credentials in the transaction that does it; PostgreSQL delivers the notification to
-- every listening process on commit (never for a rollback), and each forgets what it names.
-- Triggers rather than calls in the use cases: no path that revokes (an API route, the CLI on the
-- database, start-up's rotation of TRANCHE_ADMIN_TOKEN) can forget to tell.
CREATE FUNCTION credentials_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One statement per table: a record's fields are resolved when a statement is first run.
  IF TG_TABLE_NAME = 'organization_members' THEN
    PERFORM pg_notify('tranche_credentials', 'user:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END);
  ELSIF TG_TABLE_NAME = 'api_tokens' THEN
    PERFORM pg_notify('tranche_credentials', 'token:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  ELSE
    PERFORM pg_notify('tranche_credentials', 'session:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_credentials_notify AFTER UPDATE OF revoked_at ON api_tokens
  FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at) EXECUTE FUNCTION credentials_notify();
CREATE TRIGGER api_tokens_credentials_notify_delete AFTER DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION credentials_notify();
CREATE TRIGGER sessions_credentials_notify AFTER UPDATE OF revoked_at, expires_at ON sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at) EXECUTE FUNCTION credentials_notify();
CREATE TRIGGER sessions_credentials_notify_delete AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION credentials_notify();
-- A membership added, its roles changed or removed changes what its user may do.
CREATE TRIGGER organization_members_credentials_notify AFTER INSERT OR UPDATE OR DELETE ON organization_members
  FOR EACH ROW EXECUTE FUNCTION credentials_notify();
