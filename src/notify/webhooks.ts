import { createHmac } from 'node:crypto';
import type { Queryable } from '../db/client.ts';

/** `Tranche-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (verify before trusting a delivery). */
export function signWebhook(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Delivers one event to one endpoint; a non-2xx answer or a network error throws (the job retries). */
export async function deliverWebhook(db: Queryable, endpointId: string, event: unknown, at: Date): Promise<'sent' | 'skipped'> {
  const [ep] = await db.query<{ url: string; secret: string; disabled_at: Date | null }>('SELECT url, secret, disabled_at FROM webhook_endpoints WHERE id = $1', [endpointId]);
  if (!ep || ep.disabled_at) return 'skipped';
  const body = JSON.stringify(event);
  const res = await fetch(ep.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'tranche-signature': signWebhook(ep.secret, body, at) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`webhook endpoint answered ${res.status}`);
  return 'sent';
}
