import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { useNotice } from '../../notice.tsx';

/** Change the password: the current one, then the new one twice (checked here before anything is sent). */
export function PasswordForm() {
  const notice = useNotice();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const found = next.length < 10 ? 'The new password needs at least 10 characters.' : next !== again ? 'The two new passwords are not the same.' : next === current ? 'The new password must differ from the current one.' : null;
    setProblem(found);
    if (found) return;
    setBusy(true);
    try {
      const r = await ok(tranche.POST('/v1/me/password', { body: { currentPassword: current, newPassword: next } }));
      setCurrent('');
      setNext('');
      setAgain('');
      notice.info(r.otherSessionsEnded > 0 ? `Your password is changed. You were logged out everywhere else (${r.otherSessionsEnded} session(s)).` : 'Your password is changed.');
    } catch (err) {
      notice.error(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <input type="text" autoComplete="username" hidden readOnly value="" aria-hidden="true" />
      <label>
        Current password
        <input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
      </label>
      <div className="row wrap gap">
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={10} value={next} onChange={(e) => setNext(e.target.value)} aria-describedby="password-hint" />
        </label>
        <label>
          New password again
          <input type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} />
        </label>
      </div>
      <p id="password-hint" className="muted">
        At least 10 characters. Your other sessions are logged out; API tokens keep working.
      </p>
      {problem && (
        <p className="split-error" role="alert">
          {problem}
        </p>
      )}
      <div>
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}
