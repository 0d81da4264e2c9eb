import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { useTitle } from '../../app/page.ts';
import { useSession } from '../../app/session.tsx';
import { useNotice } from '../../notice.tsx';
import './organizations.css';

/**
 * The page the invitation email links to (`/invitations/{token}`, no sign-in needed): signed in
 * as the invited address, one click joins; otherwise the person logs in, or creates their user
 * with a name and password (the invited address) and is signed in.
 */
export function InvitationPage() {
  useTitle('Invitation');
  const { token = '' } = useParams();
  const { me, loading, signedIn } = useSession();
  const notice = useNotice();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [loginEmail, setLoginEmail] = useState('');
  const [loginPassword, setLoginPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const user = me?.user ?? null;

  const joined = async (organizationId: string) => {
    await qc.invalidateQueries({ queryKey: ['organizations'] });
    navigate(`/organizations/${organizationId}`, { state: { notice: 'Welcome: you are a member now.' } });
  };
  const accept = async (body?: { name: string; password: string }) => {
    setBusy(true);
    try {
      const r = await ok(tranche.POST('/v1/invitations/{token}/accept', { params: { path: { token } }, ...(body && { body }) }));
      if (body) {
        // A new user: signed in with the password just chosen.
        const login = await ok(tranche.POST('/v1/auth/login', { body: { email: r.member.email, password: body.password } }));
        signedIn(login.user);
      }
      await joined(r.organizationId);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  const logIn = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      signedIn((await ok(tranche.POST('/v1/auth/login', { body: { email: loginEmail, password: loginPassword } }))).user);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };

  if (loading) return <p className="muted">Loading…</p>;
  return (
    <div className="stack-lg orgs invitation">
      <h1>Join an organisation</h1>
      <p className="muted">You were invited to act for a company on Tranche. The link works once, for 7 days.</p>
      {user ? (
        <div className="card stack">
          <p>
            Signed in as <strong>{user.email}</strong>. The invitation must be for this address.
          </p>
          <div>
            <button type="button" onClick={() => accept()} disabled={busy}>
              Join
            </button>
          </div>
        </div>
      ) : (
        <>
          <form className="card stack" onSubmit={(e) => { e.preventDefault(); void accept({ name, password }); }} aria-labelledby="new-title">
            <h2 id="new-title">New to Tranche</h2>
            <p className="muted">Your account uses the address the invitation was sent to.</p>
            <label className="stack">
              Your name
              <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoComplete="name" />
            </label>
            <label className="stack">
              Choose a password
              <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={10} autoComplete="new-password" />
            </label>
            <div>
              <button type="submit" disabled={busy}>
                Create my account and join
              </button>
            </div>
          </form>
          <form className="card stack" onSubmit={logIn} aria-labelledby="existing-title">
            <h2 id="existing-title">I have an account</h2>
            <label className="stack">
              Email
              <input type="email" value={loginEmail} onChange={(e) => setLoginEmail(e.target.value)} required autoComplete="username" />
            </label>
            <label className="stack">
              Password
              <input type="password" value={loginPassword} onChange={(e) => setLoginPassword(e.target.value)} required autoComplete="current-password" />
            </label>
            <div>
              <button type="submit" className="secondary" disabled={busy}>
                Log in
              </button>
            </div>
          </form>
        </>
      )}
    </div>
  );
}
