import type { WebhookEndpointRow } from '../../db/repos/webhooks.ts';
import { AppError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { newWebhookSecret } from '../../notify/webhooks.ts';
import type { UseCaseCtx } from '../context.ts';
import { requirePlatformAdmin } from './endpoint-access.ts';

/** Each endpoint costs a delivery per event: a platform keeps at most this many. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

/** Registers an endpoint (its URL already admitted by the address rules); the secret is returned only here. */
export async function createWebhookEndpoint(
  ctx: UseCaseCtx,
  input: { url: string; events: string[]; enabled: boolean },
): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  const { tx, principal, now } = ctx;
  requirePlatformAdmin(principal);
  // The platform row serializes concurrent registrations, so the limit holds.
  await tx.query('SELECT 1 FROM platforms WHERE id = $1 FOR UPDATE', [principal.platformId]);
  const [{ n }] = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE platform_id = $1', [principal.platformId])) as [{ n: number }];
  if (n >= MAX_WEBHOOK_ENDPOINTS) {
    throw new AppError('webhook_endpoint_limit_reached', `a platform may have at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete one first`, { limit: MAX_WEBHOOK_ENDPOINTS });
  }
  const secret = newWebhookSecret();
  const [endpoint] = await tx.query<WebhookEndpointRow>(
    `INSERT INTO webhook_endpoints (id, platform_id, url, events, secret, created_at, updated_at, disabled_at, disabled_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $6, CASE WHEN $7 THEN NULL ELSE $6::timestamptz END, CASE WHEN $7 THEN NULL ELSE 'manual' END) RETURNING *`,
    [newId('webhook'), principal.platformId, input.url, JSON.stringify(input.events), secret, now, input.enabled],
  );
  return { endpoint: endpoint!, secret };
}
