import { QueryCache, QueryClient, MutationCache } from '@tanstack/react-query';
import { ApiError } from '../api.ts';

/**
 * Query keys. Everything about one contract starts with `['contract', id]`, so one live event
 * invalidates the contract, its milestones, change requests, activity, files… at once
 * (features/live/invalidate.ts). Lists start with their own word.
 */
export const keys = {
  me: ['me'] as const,
  contracts: (params: Record<string, unknown> = {}) => ['contracts', params] as const,
  contract: (id: string) => ['contract', id] as const,
  /** A part of a contract: `contractPart(id, 'milestones', { section: 'pending' })`. */
  contractPart: (id: string, part: string, params: Record<string, unknown> = {}) => ['contract', id, part, params] as const,
  milestone: (id: string) => ['milestone', id] as const,
  payments: (params: Record<string, unknown> = {}) => ['payments', params] as const,
  notifications: ['notifications'] as const,
  profile: (userId: string) => ['profile', userId] as const,
  notificationPreferences: ['notification-preferences'] as const,
  admin: (what: string, params: Record<string, unknown> = {}) => ['admin', what, params] as const,
};

/** Called when any call finds the session ended (set by the session provider). */
let onUnauthenticated: () => void = () => undefined;
export const setUnauthenticatedHandler = (f: () => void) => {
  onUnauthenticated = f;
};
/** A 401 ends the person's session, except on the admin page's calls (`meta: { admin: true }`: the admin token, not the session). */
const watch401 = (e: unknown, meta: Record<string, unknown> | undefined) => {
  if (e instanceof ApiError && e.status === 401 && !meta?.admin) onUnauthenticated();
};

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (e, query) => watch401(e, query.meta) }),
  mutationCache: new MutationCache({ onError: (e, _v, _c, mutation) => watch401(e, mutation.meta) }),
  defaultOptions: {
    queries: {
      // The live stream invalidates what changes; no refetch on every window focus.
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      // A 4xx does not heal by asking again; a dropped connection may.
      retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
    },
    mutations: { retry: false },
  },
});
