import type { WebhookEndpointRow } from '../../db/repos/webhooks.ts';
import { newWebhookSecret } from '../../notify/webhooks.ts';
import type { UseCaseCtx } from '../context.ts';
import { loadWebhookEndpoint } from './endpoint-access.ts';

/** How long the replaced secret keeps signing beside the new one, so receivers can switch without a gap. */
export const SECRET_OVERLAP_MS = 24 * 3600_000;

/**
 * Issues a new secret (returned only here). Until the overlap ends every delivery carries two
 * signatures, one per secret; a second rotation within the overlap drops the oldest secret.
 */
export async function rotateWebhookSecret(ctx: UseCaseCtx, id: string): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  const current = await loadWebhookEndpoint(ctx, id, true);
  const secret = newWebhookSecret();
  const [endpoint] = await ctx.tx.query<WebhookEndpointRow>(
    'UPDATE webhook_endpoints SET secret = $2, previous_secret = secret, previous_secret_expires_at = $3, updated_at = $4 WHERE id = $1 RETURNING *',
    [current.id, secret, new Date(ctx.now.getTime() + SECRET_OVERLAP_MS), ctx.now],
  );
  return { endpoint: endpoint!, secret };
}
