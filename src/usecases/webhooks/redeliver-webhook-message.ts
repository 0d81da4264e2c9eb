import { notFound } from '../../domain/errors.ts';
import type { UseCaseCtx } from '../context.ts';
import { loadWebhookEndpoint } from './endpoint-access.ts';

/**
 * Sends a message again, now, with the same `webhook-id` (receivers deduplicate on it), whether it
 * was delivered, given up or is still waiting. The endpoint's back-off is lifted: the operator asks
 * for an attempt now.
 */
export async function redeliverWebhookMessage(ctx: UseCaseCtx, endpointId: string, messageId: string): Promise<{ status: string }> {
  const endpoint = await loadWebhookEndpoint(ctx, endpointId, true);
  const [msg] = await ctx.tx.query<{ status: string }>(
    "UPDATE webhook_messages SET status = 'pending', next_attempt_at = $3, updated_at = $3 WHERE endpoint_id = $1 AND id = $2 RETURNING status",
    [endpoint.id, messageId, ctx.now],
  );
  if (!msg) throw notFound('webhook message');
  await ctx.tx.query('UPDATE webhook_endpoints SET retry_at = NULL WHERE id = $1', [endpoint.id]);
  return msg;
}
