/**
 * A typed client for the Tranche API. The types (`schema.ts`) are generated from the OpenAPI
 * document the server serves (`npm run openapi` in the repository); the calls are plain
 * `fetch` through openapi-fetch, so every path, parameter, body and answer is checked by the
 * compiler:
 *
 *   const tranche = createTrancheClient({ baseUrl: 'http://127.0.0.1:3000', token: process.env.TRANCHE_ADMIN_TOKEN });
 *   const { data, error } = await tranche.GET('/v1/contracts/{id}', { params: { path: { id } } });
 *
 * Errors come back as `error` (an RFC 9457 problem with a stable `code`), never thrown.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.ts';

export type { components, operations, paths };
export type Schemas = components['schemas'];
export type TrancheClient = Client<paths>;

export type TrancheClientOptions = Omit<ClientOptions, 'baseUrl' | 'headers'> & {
  /** Where the server is, e.g. `https://tranche.example.com` (no `/v1`). */
  baseUrl: string;
  /** A user's API token, or the platform admin token. */
  token?: string;
  /** With the admin token: act for this user (`usr_…`), as an operator's backend does. */
  actingUser?: string;
  headers?: Record<string, string>;
};

export function createTrancheClient(opts: TrancheClientOptions): TrancheClient {
  const { token, actingUser, headers, ...rest } = opts;
  return createClient<paths>({
    ...rest,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(actingUser && { 'acting-user': actingUser }),
      ...headers,
    },
  });
}
