import { useState, type FormEvent } from 'react';
import { type User } from '../api.ts';
import { ok, tranche } from '../app/client.ts';
import { useNotice } from '../notice.tsx';

/** The login form; its email field has focus when it shows. */
export function LoginPage({ onLogin }: { onLogin: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const notice = useNotice();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await ok(tranche.POST('/v1/auth/login', { body: { email, password } }));
      onLogin(r.user);
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">Log in to Tranche</h1>
      <label>
        Email
        {/* eslint-disable-next-line jsx-a11y/no-autofocus -- the one thing to do on this page */}
        <input type="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
