import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect } from 'react';
import { ApiError, type User } from '../api.ts';
import { ok, tranche } from './client.ts';
import { keys, setUnauthenticatedHandler } from './query.ts';

export type Me = { user: User | null; admin: boolean };

async function getMe(): Promise<Me> {
  try {
    const me = await ok(tranche.GET('/v1/me'));
    return { user: me.user, admin: me.admin };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return { user: null, admin: false };
    throw e;
  }
}

/**
 * The signed-in person is a query like any other (`keys.me`): logging in sets it, logging out
 * and any 401 anywhere clear it, and the shell shows the login form.
 */
export function useSession() {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: keys.me, queryFn: getMe, staleTime: Infinity });
  const signedIn = useCallback(
    (user: User) => {
      qc.setQueryData<Me>(keys.me, { user, admin: false });
    },
    [qc],
  );
  const signedOut = useCallback(() => {
    // Nothing of the previous person stays in the cache.
    qc.removeQueries({ predicate: (query) => query.queryKey[0] !== 'me' });
    qc.setQueryData<Me>(keys.me, { user: null, admin: false });
  }, [qc]);
  useEffect(() => {
    setUnauthenticatedHandler(signedOut);
  }, [signedOut]);
  const logout = useCallback(async () => {
    try {
      await ok(tranche.POST('/v1/auth/logout'));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
    signedOut();
  }, [signedOut]);
  return { me: q.data, loading: q.isPending, error: q.error, signedIn, signedOut, logout };
}

const MeCtx = createContext<User | null>(null);
export const MeProvider = MeCtx.Provider;

/** The signed-in user (inside the signed-in part of the app). */
export function useMe(): User {
  const me = useContext(MeCtx);
  if (!me) throw new Error('useMe outside the signed-in part of the app');
  return me;
}

/** For code written with an `onUnauthenticated` prop: sends the person to the login form. */
export function useOnUnauthenticated(): () => void {
  const { signedOut } = useSession();
  return signedOut;
}
