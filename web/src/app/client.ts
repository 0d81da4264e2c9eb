import { createTrancheClient, type TrancheClient } from '@tranche/client';
import { networkError, newKey, toApiError } from '../api.ts';

/**
 * The typed API client (generated from the OpenAPI document, packages/client) for the signed-in
 * person: same origin, the session cookie rides along, every change carries a fresh
 * Idempotency-Key so a retried click never acts twice.
 */
export const tranche: TrancheClient = withIdempotency(createTrancheClient({ baseUrl: location.origin }));

/** A client for the platform's admin, who signs in with an admin token instead of a session (features/admin). */
export function adminClient(token: string): TrancheClient {
  return withIdempotency(createTrancheClient({ baseUrl: location.origin, token, credentials: 'omit' }));
}

function withIdempotency(c: TrancheClient): TrancheClient {
  c.use({
    onRequest({ request }) {
      if (request.method !== 'GET' && !request.headers.has('idempotency-key')) request.headers.set('idempotency-key', newKey());
      return request;
    },
  });
  return c;
}

/**
 * The answer's data, or an ApiError (app/words.ts turns it into a sentence):
 *   const contract = await ok(tranche.GET('/v1/contracts/{id}', { params: { path: { id } } }));
 */
export async function ok<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await pending;
  } catch {
    throw networkError();
  }
  if (!r.response.ok) throw toApiError(r.response.status, r.error);
  return r.data as T;
}
