import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.ts';
import { AppError } from '../domain/errors.ts';
import { idPattern } from '../domain/ids.ts';
import type { OrgRole } from '../domain/organizations.ts';
import type { Principal } from '../usecases/context.ts';
import { credentialCacheOf, type CachedCredential, type CredentialCache } from './credential-cache.ts';

export const SESSION_COOKIE = 'tranche_session';

/** API tokens and session secrets are 256 random bits; a fast hash is enough to store them. */
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const newSecret = (prefix: 'trk' | 'trs') => `${prefix}_${randomBytes(32).toString('base64url')}`;

const unauthenticated = (why: string) => new AppError('unauthenticated', why);

type Orgs = Record<string, string[]> | null;
/** The caller's memberships, read in the credential's own statement (no extra round trip). */
const ORGS_OF = (userColumn: string) =>
  `(SELECT json_object_agg(m.org_id, m.roles) FROM organization_members m WHERE m.user_id = ${userColumn}) AS orgs`;
/** The organisation role a route's action needs: declared in its config, else any member reads and a manager acts. */
const orgNeedOf = (req: FastifyRequest): OrgRole =>
  (req.routeOptions.config as { orgRole?: OrgRole } | undefined)?.orgRole ?? (req.method === 'GET' ? 'viewer' : 'manager');

/**
 * What a credential is, from the process's cache (src/http/credential-cache.ts) or read once
 * and cached: no query at all on a hit. A revoked token and an unknown secret are not cached
 * (an unknown one cannot become valid; a revoked one never comes back).
 */
async function resolve(cache: CredentialCache | undefined, key: string, read: () => Promise<CachedCredential | null>): Promise<CachedCredential | null> {
  const hit = cache?.get(key);
  if (hit) return hit;
  const epoch = cache?.begin() ?? 0;
  const found = await read();
  if (found) cache?.store(key, found, epoch);
  return found;
}

/**
 * Resolves the caller from `Authorization: Bearer <token>` or the session cookie. The admin
 * token may act for a user of its own platform with `Acting-User`; user tokens may not.
 */
export async function authenticate(db: Queryable, req: FastifyRequest, now: Date): Promise<Principal> {
  const cache = credentialCacheOf(db);
  const header = req.headers.authorization;
  const acting = req.headers['acting-user'];
  if (Array.isArray(acting)) throw new AppError('validation_failed', 'Acting-User given twice', {}, [{ field: 'Acting-User', message: 'must be given once' }]);
  if (header !== undefined) {
    const m = /^Bearer ([A-Za-z0-9_\-]{10,200})$/.exec(header);
    if (!m) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    const hash = hashSecret(m[1]!);
    let revoked = false;
    const tok = await resolve(cache, `token:${hash}`, async () => {
      const [t] = await db.query<{ id: string; platform_id: string; user_id: string | null; kind: 'user' | 'admin'; revoked_at: Date | null; orgs: Orgs }>(
        `SELECT id, platform_id, user_id, kind, revoked_at, ${ORGS_OF('api_tokens.user_id')} FROM api_tokens WHERE token_hash = $1`,
        [hash],
      );
      if (!t) return null;
      if (t.revoked_at) return (revoked = true), null;
      return t.kind === 'user'
        ? { kind: 'user-token', id: t.id, platformId: t.platform_id, userId: t.user_id!, orgs: t.orgs ?? {} }
        : { kind: 'admin-token', id: t.id, platformId: t.platform_id };
    });
    if (!tok) throw unauthenticated(revoked ? 'the token was revoked' : 'the token is not valid');
    if (tok.kind === 'user-token') {
      if (acting !== undefined) throw new AppError('forbidden', 'only the platform admin token may use Acting-User', {}, [{ field: 'Acting-User', message: 'not allowed with a user token' }]);
      return { platformId: tok.platformId, userId: tok.userId, viaAdmin: false, key: tok.id, orgs: tok.orgs, orgNeed: orgNeedOf(req) };
    }
    if (tok.kind !== 'admin-token') throw unauthenticated('the token is not valid');
    if (acting === undefined) return { platformId: tok.platformId, userId: null, viaAdmin: true, key: tok.id };
    if (!idPattern('user').test(acting)) {
      throw new AppError('validation_failed', 'Acting-User must be a user id (usr_…)', {}, [{ field: 'Acting-User', message: 'is not a user id' }]);
    }
    const user = await resolve(cache, `acting:${tok.platformId}:${acting}`, async () => {
      const [u] = await db.query<{ id: string; orgs: Orgs }>(`SELECT id, ${ORGS_OF('users.id')} FROM users WHERE platform_id = $1 AND id = $2`, [tok.platformId, acting]);
      return u ? { kind: 'acting', platformId: tok.platformId, userId: u.id, orgs: u.orgs ?? {} } : null;
    });
    if (user?.kind !== 'acting') throw new AppError('forbidden', 'Acting-User is not a user of this platform', {}, [{ field: 'Acting-User', message: 'is not a user of this platform' }]);
    return { platformId: tok.platformId, userId: user.userId, viaAdmin: true, key: `${tok.id}:${user.userId}`, orgs: user.orgs, orgNeed: orgNeedOf(req) };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (cookie) {
    const hash = hashSecret(cookie);
    const s = await resolve(cache, `session:${hash}`, async () => {
      // Its expiry is kept so that a cached session still ends on time (by the request's clock).
      const [row] = await db.query<{ id: string; platform_id: string; user_id: string; expires_at: Date; orgs: Orgs }>(
        `SELECT id, platform_id, user_id, expires_at, ${ORGS_OF('sessions.user_id')} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`,
        [hash, now],
      );
      return row ? { kind: 'session', id: row.id, platformId: row.platform_id, userId: row.user_id, expiresAt: row.expires_at.getTime(), orgs: row.orgs ?? {} } : null;
    });
    if (s?.kind !== 'session' || s.expiresAt <= now.getTime()) throw unauthenticated('the session has ended; log in again');
    if (acting !== undefined) throw new AppError('forbidden', 'Acting-User is for the platform admin token', {}, [{ field: 'Acting-User', message: 'not allowed with a session' }]);
    return { platformId: s.platformId, userId: s.userId, viaAdmin: false, key: `session:${s.userId}`, orgs: s.orgs, orgNeed: orgNeedOf(req) };
  }
  throw unauthenticated('send "Authorization: Bearer <token>" or log in');
}
