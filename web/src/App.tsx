import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type User } from './api.ts';
import { NoticeProvider, Notices, useNotice } from './notice.tsx';
import { ContractPage } from './pages/Contract.tsx';
import { ContractsPage } from './pages/Contracts.tsx';
import { LoginPage } from './pages/Login.tsx';
import { NotificationsPage } from './pages/Notifications.tsx';
import { PaymentsPage } from './pages/Payments.tsx';
import { link, navigate, usePath } from './router.ts';
import { LiveProvider, useUnread } from './features/live/live.tsx';

export function App() {
  return (
    <NoticeProvider>
      <Shell />
    </NoticeProvider>
  );
}

type Session = { state: 'loading' } | { state: 'anonymous' } | { state: 'user'; user: User };

function Shell() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const notice = useNotice();
  const path = usePath();

  useEffect(() => {
    api
      .get<{ user: User | null }>('/v1/me')
      .then((me) => setSession(me.user ? { state: 'user', user: me.user } : { state: 'anonymous' }))
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) notice.error(e);
        setSession({ state: 'anonymous' });
      });
  }, [notice]);

  // Any call that finds the session ended sends the person back to the login form.
  const onUnauthenticated = useCallback(() => setSession({ state: 'anonymous' }), []);

  const logout = async () => {
    try {
      await api.post('/v1/auth/logout');
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) return notice.error(e);
    }
    notice.clear();
    setSession({ state: 'anonymous' });
    navigate('/');
  };

  if (session.state === 'loading') {
    return (
      <main className="page">
        <p aria-busy="true">Loading…</p>
      </main>
    );
  }

  if (session.state === 'anonymous') {
    return (
      <main className="page narrow">
        <h1 className="brand">Tranche</h1>
        <Notices />
        <LoginPage
          onLogin={(user) => {
            notice.clear();
            setSession({ state: 'user', user });
          }}
        />
      </main>
    );
  }

  return (
    <LiveProvider key={session.user.id}>
      <SignedIn me={session.user} path={path} logout={logout} onUnauthenticated={onUnauthenticated} />
    </LiveProvider>
  );
}

function SignedIn({ me, path, logout, onUnauthenticated }: { me: User; path: string; logout: () => void; onUnauthenticated: () => void }) {
  const unread = useUnread();
  const contractMatch = /^\/contracts\/([\w-]+)$/.exec(path);
  const section = path.startsWith('/payments') ? 'payments' : path.startsWith('/notifications') ? 'notifications' : 'contracts';
  return (
    <>
      <header className="topbar">
        <a className="brand" href="/" onClick={link('/')}>
          Tranche
        </a>
        <nav aria-label="Main">
          <a href="/" onClick={link('/')} aria-current={section === 'contracts' ? 'page' : undefined}>
            Contracts
            {unread && unread.messages > 0 && (
              <span className="badge unread-count" aria-label={`${unread.messages} unread messages`}>
                {unread.messages}
              </span>
            )}
          </a>
          <a href="/payments" onClick={link('/payments')} aria-current={section === 'payments' ? 'page' : undefined}>
            Payments
          </a>
          <a href="/notifications" onClick={link('/notifications')} aria-current={section === 'notifications' ? 'page' : undefined}>
            Notifications
            {unread && unread.notifications > 0 && (
              <span className="badge unread-count" aria-label={`${unread.notifications} unread`}>
                {unread.notifications}
              </span>
            )}
          </a>
        </nav>
        <div className="whoami">
          <span title={me.email}>{me.name}</span>
          <button type="button" className="secondary" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main className="page">
        <Notices />
        {contractMatch ? (
          <ContractPage key={contractMatch[1]} id={contractMatch[1]!} me={me} onUnauthenticated={onUnauthenticated} />
        ) : section === 'payments' ? (
          <PaymentsPage me={me} onUnauthenticated={onUnauthenticated} />
        ) : section === 'notifications' ? (
          <NotificationsPage onUnauthenticated={onUnauthenticated} />
        ) : (
          <ContractsPage me={me} onUnauthenticated={onUnauthenticated} />
        )}
      </main>
    </>
  );
}
