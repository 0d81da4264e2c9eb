import type { WebhookEndpointRow } from '../../db/repos/webhooks.ts';
import type { UseCaseCtx } from '../context.ts';
import { loadWebhookEndpoint } from './endpoint-access.ts';

/**
 * Changes an endpoint's URL (already admitted by the address rules), event types or state.
 * Enabling it again clears its failure streak and back-off; its pending messages resume.
 */
export async function updateWebhookEndpoint(
  ctx: UseCaseCtx,
  id: string,
  patch: { url?: string; events?: string[]; enabled?: boolean },
): Promise<WebhookEndpointRow> {
  const current = await loadWebhookEndpoint(ctx, id, true);
  const enable = patch.enabled === true && current.disabled_at !== null;
  const disable = patch.enabled === false && current.disabled_at === null;
  const [row] = await ctx.tx.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints SET
       url = COALESCE($2, url),
       events = COALESCE($3::jsonb, events),
       disabled_at = CASE WHEN $4 THEN NULL WHEN $5 THEN $6::timestamptz ELSE disabled_at END,
       disabled_reason = CASE WHEN $4 THEN NULL WHEN $5 THEN 'manual' ELSE disabled_reason END,
       failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END,
       consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures END,
       retry_at = CASE WHEN $4 THEN NULL ELSE retry_at END,
       updated_at = $6
     WHERE id = $1 RETURNING *`,
    [current.id, patch.url ?? null, patch.events ? JSON.stringify(patch.events) : null, enable, disable, ctx.now],
  );
  return row!;
}
