import { findWebhookEndpoint, type WebhookEndpointRow } from '../../db/repos/webhooks.ts';
import { forbidden, notFound } from '../../domain/errors.ts';
import { isPlatformAdmin, type Principal, type UseCaseCtx } from '../context.ts';

/** Webhook endpoints belong to the platform: only its admin token (acting as itself) manages them. */
export function requirePlatformAdmin(p: Principal): void {
  if (!isPlatformAdmin(p)) throw forbidden('only the platform admin may manage webhook endpoints');
}

/** The caller's platform's endpoint, locked for a change; 404 for another platform's. */
export async function loadWebhookEndpoint(ctx: Pick<UseCaseCtx, 'tx' | 'principal'>, id: string, lock: boolean): Promise<WebhookEndpointRow> {
  requirePlatformAdmin(ctx.principal);
  const endpoint = await findWebhookEndpoint(ctx.tx, ctx.principal.platformId, id, lock);
  if (!endpoint) throw notFound('webhook endpoint');
  return endpoint;
}
