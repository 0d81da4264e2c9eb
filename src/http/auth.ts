import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.ts';
import { AppError } from '../domain/errors.ts';
import { idPattern } from '../domain/ids.ts';
import type { OrgRole } from '../domain/organizations.ts';
import type { Principal } from '../usecases/context.ts';

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
 * Resolves the caller from `Authorization: Bearer <token>` or the session cookie. The admin
 * token may act for a user of its own platform with `Acting-User`; user tokens may not.
 */
export async function authenticate(db: Queryable, req: FastifyRequest, now: Date): Promise<Principal> {
  const header = req.headers.authorization;
  const acting = req.headers['acting-user'];
  if (Array.isArray(acting)) throw new AppError('validation_failed', 'Acting-User given twice', {}, [{ field: 'Acting-User', message: 'must be given once' }]);
  if (header !== undefined) {
    const m = /^Bearer ([A-Za-z0-9_\-]{10,200})$/.exec(header);
    if (!m) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    const [tok] = await db.query<{ id: string; platform_id: string; user_id: string | null; kind: 'user' | 'admin'; revoked_at: Date | null; orgs: Orgs }>(
      `SELECT id, platform_id, user_id, kind, revoked_at, ${ORGS_OF('api_tokens.user_id')} FROM api_tokens WHERE token_hash = $1`,
      [hashSecret(m[1]!)],
    );
    if (!tok) throw unauthenticated('the token is not valid');
    if (tok.revoked_at) throw unauthenticated('the token was revoked');
    if (tok.kind === 'user') {
      if (acting !== undefined) throw new AppError('forbidden', 'only the platform admin token may use Acting-User', {}, [{ field: 'Acting-User', message: 'not allowed with a user token' }]);
      return { platformId: tok.platform_id, userId: tok.user_id, viaAdmin: false, key: tok.id, orgs: tok.orgs ?? {}, orgNeed: orgNeedOf(req) };
    }
    if (acting === undefined) return { platformId: tok.platform_id, userId: null, viaAdmin: true, key: tok.id };
    if (!idPattern('user').test(acting)) {
      throw new AppError('validation_failed', 'Acting-User must be a user id (usr_…)', {}, [{ field: 'Acting-User', message: 'is not a user id' }]);
    }
    const [user] = await db.query<{ id: string; orgs: Orgs }>(`SELECT id, ${ORGS_OF('users.id')} FROM users WHERE platform_id = $1 AND id = $2`, [tok.platform_id, acting]);
    if (!user) throw new AppError('forbidden', 'Acting-User is not a user of this platform', {}, [{ field: 'Acting-User', message: 'is not a user of this platform' }]);
    return { platformId: tok.platform_id, userId: user.id, viaAdmin: true, key: `${tok.id}:${user.id}`, orgs: user.orgs ?? {}, orgNeed: orgNeedOf(req) };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (cookie) {
    const [s] = await db.query<{ platform_id: string; user_id: string; orgs: Orgs }>(
      `SELECT platform_id, user_id, ${ORGS_OF('sessions.user_id')} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`,
      [hashSecret(cookie), now],
    );
    if (!s) throw unauthenticated('the session has ended; log in again');
    if (acting !== undefined) throw new AppError('forbidden', 'Acting-User is for the platform admin token', {}, [{ field: 'Acting-User', message: 'not allowed with a session' }]);
    return { platformId: s.platform_id, userId: s.user_id, viaAdmin: false, key: `session:${s.user_id}`, orgs: s.orgs ?? {}, orgNeed: orgNeedOf(req) };
  }
  throw unauthenticated('send "Authorization: Bearer <token>" or log in');
}
