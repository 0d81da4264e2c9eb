import { useEffect, useRef, useState } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { Notices, useNotice } from '../notice.tsx';
import { LiveProvider, useUnread } from '../features/live/live.tsx';
import { useLiveInvalidation } from '../features/live/invalidate.ts';
import { LoginPage } from '../pages/Login.tsx';
import type { User } from '../api.ts';
import type { NavItem } from './nav.ts';
import { focusHeadingWhenShown, useTitle } from './page.ts';
import { MeProvider, useSession } from './session.tsx';

/** Where an in-app navigation may carry a message for the status region (`navigate(to, { state: { notice } })`). */
type NavState = { notice?: string } | null;

/**
 * The frame of every page: skip link, header (a menu button below 720 px), the alert and
 * status regions, and the route's page. Signed-in routes render inside <SignedIn>.
 */
export function Shell({ nav }: { nav: NavItem[] }) {
  const { me, loading } = useSession();
  const location = useLocation();
  const notice = useNotice();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    const state = location.state as NavState;
    if (first.current) {
      first.current = false;
      return;
    }
    notice.clear();
    if (state?.notice) notice.info(state.notice);
    return mainRef.current ? focusHeadingWhenShown(mainRef.current) : undefined;
    // Only a new page moves focus, not a change of its query string (filters, search: typing goes on).
  }, [location.pathname]); // eslint-disable-line react-hooks/exhaustive-deps

  const user = me?.user ?? null;
  const body = (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header user={user} nav={nav} />
      <main id="main" ref={mainRef} tabIndex={-1} className="page">
        <Notices />
        {loading ? <p aria-busy="true">Loading…</p> : <Outlet />}
      </main>
      <footer className="footer">
        <Link to="/admin">Platform admin</Link>
      </footer>
    </>
  );
  return user ? (
    <MeProvider value={user}>
      <LiveProvider key={user.id}>
        <LiveInvalidation />
        {body}
      </LiveProvider>
    </MeProvider>
  ) : (
    body
  );
}

function LiveInvalidation() {
  useLiveInvalidation();
  return null;
}

function Header({ user, nav }: { user: User | null; nav: NavItem[] }) {
  const [open, setOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);
  // Escape folds the open menu and puts focus back on its button.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      document.querySelector<HTMLButtonElement>('.menu-toggle')?.focus();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [open]);
  return (
    <header className="topbar">
      <Link className="brand" to="/">
        Tranche
      </Link>
      {user && (
        <>
          <button type="button" className="secondary menu-toggle" aria-expanded={open} aria-controls="site-menu" onClick={() => setOpen(!open)}>
            Menu
          </button>
          <div id="site-menu" className={open ? 'site-menu open' : 'site-menu'}>
            <MainNav nav={nav} path={location.pathname} />
            <WhoAmI user={user} />
          </div>
        </>
      )}
    </header>
  );
}

function MainNav({ nav, path }: { nav: NavItem[]; path: string }) {
  const unread = useUnread();
  const current = (item: NavItem) => (item.match ?? [item.to]).some((p) => (p === '/' ? path === '/' : path === p || path.startsWith(`${p}/`)));
  return (
    <nav aria-label="Main">
      {nav.map((item) => (
        <Link key={item.to} to={item.to} aria-current={current(item) ? 'page' : undefined}>
          {item.label}
          {item.to === '/' && unread && unread.messages > 0 && (
            <span className="badge unread-count" aria-label={`${unread.messages} unread messages`}>
              {unread.messages}
            </span>
          )}
          {item.to === '/notifications' && unread && unread.notifications > 0 && (
            <span className="badge unread-count" aria-label={`${unread.notifications} unread`}>
              {unread.notifications}
            </span>
          )}
        </Link>
      ))}
    </nav>
  );
}

function WhoAmI({ user }: { user: User }) {
  const { logout } = useSession();
  const notice = useNotice();
  const navigate = useNavigate();
  return (
    <div className="whoami">
      <Link to="/account" title={user.email}>
        {user.name}
      </Link>
      <button
        type="button"
        className="secondary"
        onClick={() =>
          void logout().then(
            () => {
              notice.clear();
              void navigate('/');
            },
            (e: unknown) => notice.error(e),
          )
        }
      >
        Log out
      </button>
    </div>
  );
}

/** The signed-in part: the login form until someone is signed in, then the route's page. */
export function SignedIn() {
  const { me, signedIn } = useSession();
  const notice = useNotice();
  if (!me?.user) {
    return (
      <LoginScreen
        onLogin={(u) => {
          notice.clear();
          signedIn(u);
        }}
      />
    );
  }
  return <Outlet />;
}

function LoginScreen({ onLogin }: { onLogin: (u: User) => void }) {
  useTitle('Log in');
  return (
    <div className="narrow">
      <LoginPage onLogin={onLogin} />
    </div>
  );
}
