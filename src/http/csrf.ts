import type { FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const originOf = (url: string): string | null => {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
};

/**
 * Cross-site request forgery. A browser attaches the session cookie to a form that another
 * site posts to us; `SameSite=Strict` stops that only in browsers that honour it and never
 * for a sibling subdomain (same site, other origin). So an unsafe request that does not carry
 * a Bearer token (which no other site can make a browser send) must come from the app's own
 * origin, as its `Origin` header says or, without one, `Sec-Fetch-Site`. A request with
 * neither comes from no browser (curl, a server) and rides no one's cookie unawares.
 * This also refuses login from another site (login CSRF: the victim signed into the attacker's
 * account). The app's own origin is TRANCHE_PUBLIC_URL's, else the scheme and host the request
 * was made to (X-Forwarded-Proto/Host when the proxy is trusted).
 */
export function assertSameOrigin(req: FastifyRequest, publicUrl: string | undefined): void {
  if (SAFE_METHODS.has(req.method) || req.headers.authorization !== undefined) return;
  const own = publicUrl ? originOf(publicUrl) : originOf(`${req.protocol}://${req.host}`);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (own !== null && originOf(origin) === own) return;
    throw new AppError('csrf_refused', `a request from ${origin} may not use this app's session; send it from ${own ?? 'the app'} or use a Bearer token`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return;
  throw new AppError('csrf_refused', `a ${site} request may not use this app's session; use a Bearer token`);
}
