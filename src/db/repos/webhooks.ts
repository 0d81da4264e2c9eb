import type { Queryable } from '../client.ts';
import { iso, isoReq } from './rows.ts';

export type WebhookEndpointRow = {
  id: string;
  platform_id: string;
  url: string;
  events: string[];
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: 'manual' | 'failing' | null;
  failing_since: Date | null;
  consecutive_failures: number;
  retry_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type WebhookAttemptRow = {
  id: string;
  message_id: string;
  event_type: string;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_retry_at: Date | null;
};

/** The endpoint as the API shows it: never its secrets. */
export const toWebhookEndpoint = (e: WebhookEndpointRow) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  enabled: e.disabled_at === null,
  disabledAt: iso(e.disabled_at),
  disabledReason: e.disabled_reason,
  failingSince: iso(e.failing_since),
  previousSecretExpiresAt: iso(e.previous_secret_expires_at),
  createdAt: isoReq(e.created_at),
  updatedAt: isoReq(e.updated_at),
});

export const toWebhookAttempt = (a: WebhookAttemptRow) => ({
  id: a.id,
  messageId: a.message_id,
  eventType: a.event_type,
  attemptedAt: isoReq(a.attempted_at),
  statusCode: a.status_code,
  error: a.error,
  durationMs: a.duration_ms,
  nextRetryAt: iso(a.next_retry_at),
});

export async function findWebhookEndpoint(q: Queryable, platformId: string, id: string, lock = false): Promise<WebhookEndpointRow | undefined> {
  const [row] = await q.query<WebhookEndpointRow>(`SELECT * FROM webhook_endpoints WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [platformId, id]);
  return row;
}

/** The secrets that sign a message now: the current one, and the previous one until it expires. */
export const liveSecrets = (e: Pick<WebhookEndpointRow, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, now: Date): string[] =>
  e.previous_secret && e.previous_secret_expires_at && e.previous_secret_expires_at > now ? [e.secret, e.previous_secret] : [e.secret];

/** The platform's endpoints, newest first. */
export async function listWebhookEndpoints(q: Queryable, platformId: string, before: string | null, limit: number): Promise<WebhookEndpointRow[]> {
  return q.query<WebhookEndpointRow>('SELECT * FROM webhook_endpoints WHERE platform_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3', [platformId, before, limit]);
}

/** The delivery log of an endpoint, newest attempt first. */
export async function listWebhookAttempts(q: Queryable, endpointId: string, before: string | null, limit: number): Promise<WebhookAttemptRow[]> {
  return q.query<WebhookAttemptRow>(
    `SELECT a.id, a.message_id, m.event_type, a.attempted_at, a.status_code, a.error, a.duration_ms, a.next_retry_at
       FROM webhook_attempts a JOIN webhook_messages m ON m.endpoint_id = a.endpoint_id AND m.id = a.message_id
      WHERE a.endpoint_id = $1 AND ($2::text IS NULL OR a.id < $2)
      ORDER BY a.id DESC LIMIT $3`,
    [endpointId, before, limit],
  );
}
