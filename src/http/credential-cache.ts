import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';

/** The channel migration 0025's triggers notify on commit: `token:<id>`, `session:<id>` or `user:<id>`. */
export const CREDENTIALS_CHANNEL = 'tranche_credentials';

/** What a credential resolves to, as read from the database (the request's details are added per request). */
export type CachedCredential =
  | { kind: 'user-token'; id: string; platformId: string; userId: string; orgs: Record<string, string[]> }
  | { kind: 'admin-token'; id: string; platformId: string }
  | { kind: 'session'; id: string; platformId: string; userId: string; expiresAt: number; orgs: Record<string, string[]> }
  /** A user the admin token acts for (`Acting-User`): that they exist on the platform, and their organisations. */
  | { kind: 'acting'; platformId: string; userId: string; orgs: Record<string, string[]> };

type Entry = { value: CachedCredential; storedAt: number };

const ownerOf = (c: CachedCredential): { id: string | null; userId: string | null } =>
  c.kind === 'admin-token' ? { id: c.id, userId: null } : c.kind === 'acting' ? { id: null, userId: c.userId } : { id: c.id, userId: c.userId };

/**
 * A process's credentials, so that a request needs no credential query. Keyed by the secret's
 * hash (tokens, sessions) or `acting:<platform>:<user>`. Bounded (least recently used goes first)
 * and aged out after `ttlMs` as a safety net; correct because every change that can refuse or
 * narrow a credential — a token revoked, a session ended, a membership added, changed or removed —
 * notifies CREDENTIALS_CHANNEL in its own transaction (triggers, migration 0025), which PostgreSQL
 * delivers to every listening process on commit, and `forget` drops what it names.
 *
 * It only serves while its process listens: nothing is cached before the first LISTEN, and every
 * (re)connection of the listening connection clears it, since notifications may have been missed
 * while it was down. A lookup that began before a notification does not store its (possibly
 * older) answer: `begin()` returns the epoch that `store` checks.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;
  private listening = false;

  constructor(
    readonly max = 10_000,
    readonly ttlMs = 5 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string): CachedCredential | undefined {
    const e = this.entries.get(key);
    if (!e || !this.listening) return undefined;
    if (this.clock() - e.storedAt > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order, so the first key is the eviction victim.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  begin(): number {
    return this.epoch;
  }

  store(key: string, value: CachedCredential, epochAtBegin: number): void {
    if (!this.listening || epochAtBegin !== this.epoch) return;
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.clock() });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** A notification's payload: drops the credential or every entry of the user it names. */
  forget(payload: string): void {
    this.epoch++;
    const sep = payload.indexOf(':');
    const what = payload.slice(0, sep);
    const id = payload.slice(sep + 1);
    if (sep < 0 || !id || !['token', 'session', 'user'].includes(what)) return this.clear();
    for (const [key, e] of this.entries) {
      const owner = ownerOf(e.value);
      if (what === 'user' ? owner.userId === id : owner.id === id) this.entries.delete(key);
    }
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Starts serving (listening began or resumed: clear what may have been missed) or stops. */
  setListening(on: boolean): void {
    this.clear();
    this.listening = on;
  }
}

const caches = new WeakMap<object, CredentialCache>();

/** The cache of the process that owns `db`, when it listens for credential changes. */
export const credentialCacheOf = (db: object): CredentialCache | undefined => caches.get(db);

/**
 * Caches credentials for requests served with `db`, kept true by LISTEN on CREDENTIALS_CHANNEL
 * (one connection of its own on PostgreSQL, reconnecting; the one in-process connection on PGlite).
 */
export async function watchCredentials(db: Db, log: Logger, cache = new CredentialCache()): Promise<{ cache: CredentialCache; stop: () => Promise<void> }> {
  caches.set(db, cache);
  const unlisten = await db.listen(
    CREDENTIALS_CHANNEL,
    (payload) => cache.forget(payload),
    () => {
      log.debug('listening for credential changes; cache cleared');
      cache.setListening(true);
    },
  );
  return {
    cache,
    stop: async () => {
      cache.setListening(false);
      caches.delete(db);
      await unlisten();
    },
  };
}

/**
 * Routes whose changes can refuse or narrow a credential of this process (tokens, sessions,
 * organisations and their members, invitations). Other processes learn of them from the
 * notification; this one forgets its cached credentials before answering, so that the caller's
 * next request here never races the notification on its way back. Over-inclusive on purpose:
 * a renamed organisation costs each user one credential query.
 */
const CHANGES_CREDENTIALS = /^\/v1\/(organizations|invitations|tokens|auth\/logout|me\/password|admin\/tokens)(\/|$|\?)/;

export function forgetAfterChange(db: object, method: string, url: string, statusCode: number): void {
  if (method === 'GET' || method === 'HEAD' || (statusCode >= 400 && statusCode < 500)) return;
  if (CHANGES_CREDENTIALS.test(url)) credentialCacheOf(db)?.clear();
}
