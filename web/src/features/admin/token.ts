import { useCallback, useSyncExternalStore } from 'react';

/**
 * The platform admin acts with the admin token (Bearer), not with a user's session: the API
 * knows no admin login. The token is kept in this tab's sessionStorage only — gone when the tab
 * closes, never in a cookie the browser would send by itself, never in localStorage.
 */
const KEY = 'tranche.adminToken';
const listeners = new Set<() => void>();

export function useAdminToken(): [string | null, (t: string | null) => void] {
  const token = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => sessionStorage.getItem(KEY),
  );
  const set = useCallback((t: string | null) => {
    if (t) sessionStorage.setItem(KEY, t);
    else sessionStorage.removeItem(KEY);
    for (const l of listeners) l();
  }, []);
  return [token, set];
}
