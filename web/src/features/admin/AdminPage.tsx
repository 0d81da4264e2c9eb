import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api.ts';
import { adminClient, ok } from '../../app/client.ts';
import { useTitle } from '../../app/page.ts';
import { useNotice } from '../../notice.tsx';
import { DisputeList } from './DisputeList.tsx';
import { useAdminToken } from './token.ts';

/** The platform admin's page: sign in with the admin token, then resolve open disputes. */
export function AdminPage() {
  const [token, setToken] = useAdminToken();
  const qc = useQueryClient();
  useTitle(token ? 'Disputes to resolve' : 'Platform admin');
  if (!token) return <AdminSignIn onToken={setToken} />;
  return (
    <DisputeList
      client={adminClient(token)}
      signOut={() => {
        qc.removeQueries({ queryKey: ['admin'] });
        setToken(null);
      }}
    />
  );
}

function AdminSignIn({ onToken }: { onToken: (t: string) => void }) {
  const notice = useNotice();
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      // The token is checked before it is kept: it must be the platform's admin token.
      const me = await ok(adminClient(value.trim()).GET('/v1/me'));
      if (!me.admin) throw new ApiError(403, 'forbidden', 'not the admin token');
      notice.clear();
      onToken(value.trim());
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) notice.error(new Error('This is not the platform’s admin token. Check it and try again.'));
      else notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="narrow">
      <form className="card stack" onSubmit={submit} aria-labelledby="admin-title">
        <h1 id="admin-title">Platform admin</h1>
        <p className="muted">Sign in with the platform’s admin token (printed by the server at its first start, or made with <code>tranche tokens admin create</code>). It is kept in this tab only.</p>
        <label>
          Admin token
          <input type="password" autoComplete="off" required value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Sign in as admin
        </button>
      </form>
    </div>
  );
}
