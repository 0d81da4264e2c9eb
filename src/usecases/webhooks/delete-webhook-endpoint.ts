import type { UseCaseCtx } from '../context.ts';
import { loadWebhookEndpoint } from './endpoint-access.ts';

/** Removes an endpoint with its pending messages and its delivery log. */
export async function deleteWebhookEndpoint(ctx: UseCaseCtx, id: string): Promise<void> {
  const endpoint = await loadWebhookEndpoint(ctx, id, true);
  await ctx.tx.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
}
