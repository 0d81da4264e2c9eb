import type { UseCaseCtx } from '../context.ts';
import { recordPlatformEvent } from '../record.ts';
import { loadWebhookEndpoint } from './endpoint-access.ts';

/** Queues a `webhook.test` message to one endpoint (a disabled endpoint gets it once enabled). */
export async function sendTestWebhook(ctx: UseCaseCtx, id: string): Promise<string> {
  const endpoint = await loadWebhookEndpoint(ctx, id, false);
  return recordPlatformEvent(ctx, endpoint.platform_id, { kind: 'webhook.test', data: { endpointId: endpoint.id }, to: endpoint.id });
}
