import { newId } from '../../domain/ids.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordPlatformEvent } from '../record.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Wait after the n-th failed attempt of a message (Standard Webhooks' suggested schedule,
 * stretched past three days so that a message outlives an endpoint's grace period); after the
 * last one the message is given up (it can still be redelivered by hand).
 */
export const RETRY_DELAYS_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR, 14 * HOUR, 24 * HOUR, 24 * HOUR];
/** A failing endpoint is tried again at most this late, so that its recovery is noticed within the hour. */
const ENDPOINT_BACKOFF_CAP_MS = HOUR;
/** An endpoint that has failed every attempt for this long is disabled, and the platform told. */
export const DISABLE_AFTER_MS = 3 * 24 * HOUR;

export type AttemptOutcome = { statusCode: number | null; error: string | null; durationMs: number };
export type AttemptResult = 'delivered' | 'retry' | 'given_up' | 'endpoint_disabled' | 'gone';

const isSuccess = (o: AttemptOutcome) => o.statusCode !== null && o.statusCode >= 200 && o.statusCode < 300;

/**
 * Logs one delivery attempt and moves the message and its endpoint on: a success delivers the
 * message and clears the endpoint's back-off; a failure schedules the message's next attempt and
 * backs the whole endpoint off (so a dead endpoint gets one probe per interval, not one per
 * message), and after three days of nothing but failures disables it.
 */
export async function recordDeliveryAttempt(
  ctx: Pick<UseCaseCtx, 'tx' | 'now'>,
  msg: { endpointId: string; messageId: string; attempts: number },
  outcome: AttemptOutcome,
): Promise<AttemptResult> {
  const { tx, now } = ctx;
  const [endpoint] = await tx.query<{ platform_id: string; url: string; failing_since: Date | null; consecutive_failures: number; disabled_at: Date | null }>(
    'SELECT platform_id, url, failing_since, consecutive_failures, disabled_at FROM webhook_endpoints WHERE id = $1 FOR UPDATE',
    [msg.endpointId],
  );
  if (!endpoint) return 'gone'; // deleted while the attempt was under way
  const ok = isSuccess(outcome);
  const attempts = msg.attempts + 1;
  const delay = ok ? undefined : RETRY_DELAYS_MS[attempts - 1];
  const nextRetryAt = delay === undefined ? null : new Date(now.getTime() + delay);
  await tx.query(
    `WITH attempt AS (
       INSERT INTO webhook_attempts (id, endpoint_id, message_id, attempted_at, status_code, error, duration_ms, next_retry_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     )
     UPDATE webhook_messages SET status = $9, attempts = $10, next_attempt_at = COALESCE($8, next_attempt_at), updated_at = $4
      WHERE endpoint_id = $2 AND id = $3`,
    [newId('webhookAttempt'), msg.endpointId, msg.messageId, now, outcome.statusCode, outcome.error?.slice(0, 1000) ?? null, outcome.durationMs, nextRetryAt,
      ok ? 'delivered' : nextRetryAt ? 'pending' : 'failed', attempts],
  );
  if (ok) {
    await tx.query('UPDATE webhook_endpoints SET failing_since = NULL, consecutive_failures = 0, retry_at = NULL WHERE id = $1', [msg.endpointId]);
    return 'delivered';
  }
  const failingSince = endpoint.failing_since ?? now;
  const failures = endpoint.consecutive_failures + 1;
  const backoff = Math.min(ENDPOINT_BACKOFF_CAP_MS, RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length) - 1]!);
  const disable = endpoint.disabled_at === null && now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS;
  await tx.query(
    `UPDATE webhook_endpoints SET failing_since = $2, consecutive_failures = $3, retry_at = $4,
       disabled_at = CASE WHEN $5 THEN $6::timestamptz ELSE disabled_at END,
       disabled_reason = CASE WHEN $5 THEN 'failing' ELSE disabled_reason END,
       updated_at = CASE WHEN $5 THEN $6::timestamptz ELSE updated_at END
     WHERE id = $1`,
    [msg.endpointId, failingSince, failures, new Date(now.getTime() + backoff), disable, now],
  );
  if (!disable) return nextRetryAt ? 'retry' : 'given_up';
  await recordPlatformEvent(ctx, endpoint.platform_id, {
    kind: 'webhook_endpoint.disabled',
    data: { endpointId: msg.endpointId, url: endpoint.url, reason: 'failing', failingSince: failingSince.toISOString(), disabledAt: now.toISOString() },
    email: {
      subject: 'A webhook endpoint was disabled after three days of failures',
      text:
        `The webhook endpoint ${endpoint.url} (${msg.endpointId}) has failed every delivery since ${failingSince.toISOString()} ` +
        `and was disabled at ${now.toISOString()}. Nothing more is sent to it until it is enabled again ` +
        `(PATCH /v1/webhook-endpoints/${msg.endpointId} {"enabled": true}); its delivery log lists the attempts, and messages can be redelivered by hand.`,
    },
  });
  return 'endpoint_disabled';
}
