import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { liveSecrets } from '../db/repos/webhooks.ts';
import type { Clock } from '../domain/clock.ts';
import { admitWebhookUrl, deliveryAddress, systemLookup, type Lookup, type Refusal } from '../notify/address-rules.ts';
import { sendWebhook } from '../notify/webhooks.ts';
import { recordDeliveryAttempt, type AttemptOutcome, type AttemptResult } from '../usecases/webhooks/record-delivery-attempt.ts';

export type WebhookLaneOptions = {
  clock: Clock;
  log: Logger;
  /** TRANCHE_WEBHOOK_ALLOW_PRIVATE: deliveries may go to non-public addresses. */
  allowPrivate: boolean;
  concurrency?: number;
  timeoutMs?: number;
  lookup?: Lookup;
};

type Claimed = {
  endpoint_id: string;
  id: string;
  attempts: number;
  payload: unknown;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
};

type Result = AttemptResult | 'stopped';

/**
 * The webhook lane: deliveries run here, apart from the state jobs of `worker.ts`, so that a slow
 * or dead endpoint never delays a settlement or a timer. At most `concurrency` deliveries at once,
 * at most one per endpoint (in this process), each bounded by `timeoutMs`; a failing endpoint is
 * backed off as a whole (see recordDeliveryAttempt). Messages are claimed with a lease
 * (FOR UPDATE SKIP LOCKED), so any number of workers can share the table; delivery is at least once.
 */
export class WebhookLane {
  private readonly inFlight = new Map<string, Promise<Result>>();
  private readonly aborts = new Set<AbortController>();
  private claiming: Promise<unknown> = Promise.resolve();
  private background = false;
  private stopped = false;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly lookup: Lookup;

  constructor(
    private readonly db: Db,
    private readonly opts: WebhookLaneOptions,
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.lookup = opts.lookup ?? systemLookup;
  }

  /** The check of a URL at registration, under the same address policy as the deliveries. */
  admit(raw: string): Promise<{ url: URL } | Refusal> {
    return admitWebhookUrl(raw, this.opts.allowPrivate, this.lookup);
  }

  /** Background mode (the worker): every finished delivery frees a slot that is filled at once. */
  runInBackground(): void {
    this.background = true;
  }

  /** Starts due deliveries in the free slots without waiting for them. */
  async pump(): Promise<void> {
    await this.start();
  }

  /**
   * Delivers what is due now and waits for the deliveries it started (POST /v1/admin/jobs/run).
   * Deliveries started elsewhere, such as one hanging on a dead endpoint, are not waited for.
   */
  async runDue(max = 500): Promise<{ delivered: number; failed: number }> {
    const mine = new Set<Promise<Result>>();
    let started = 0;
    let delivered = 0;
    let failed = 0;
    for (;;) {
      if (started < max) {
        for (const p of await this.start()) {
          mine.add(p);
          started++;
        }
      }
      if (mine.size === 0) break;
      const { p, result } = await Promise.race([...mine].map((p) => p.then((result) => ({ p, result }))));
      mine.delete(p);
      if (result === 'delivered') delivered++;
      else if (result !== 'gone' && result !== 'stopped') failed++;
    }
    return { delivered, failed };
  }

  /** Stops claiming, aborts the deliveries under way (their lease lets another worker retry them) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private start(): Promise<Promise<Result>[]> {
    // One claim at a time in this process, so that the in-flight endpoints it excludes are current.
    const next = this.claiming.then(async () => {
      const free = this.concurrency - this.inFlight.size;
      if (this.stopped || free <= 0) return [];
      const now = this.opts.clock.now();
      const claimed = await this.claim(now, free);
      return claimed.map((m) => {
        const p = this.deliver(m).finally(() => {
          this.inFlight.delete(m.endpoint_id);
          if (this.background && !this.stopped) void this.pump().catch((err: unknown) => this.opts.log.error({ err }, 'webhook lane failed'));
        });
        this.inFlight.set(m.endpoint_id, p);
        return p;
      });
    });
    this.claiming = next.catch(() => undefined);
    return next;
  }

  /** The oldest due message of each endpoint that is enabled, not backed off and not busy here. */
  private claim(now: Date, limit: number): Promise<Claimed[]> {
    const lease = new Date(now.getTime() + this.timeoutMs + 60_000);
    return this.db.query<Claimed>(
      `UPDATE webhook_messages m SET next_attempt_at = $4, updated_at = $1
         FROM (SELECT c.endpoint_id, c.id FROM webhook_messages c
                WHERE c.status = 'pending' AND c.next_attempt_at <= $1 AND (c.endpoint_id, c.id) IN (
                  SELECT DISTINCT ON (d.endpoint_id) d.endpoint_id, d.id
                    FROM webhook_messages d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                   WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.disabled_at IS NULL
                     AND (e.retry_at IS NULL OR e.retry_at <= $1) AND d.endpoint_id <> ALL($2::text[])
                   ORDER BY d.endpoint_id, d.next_attempt_at, d.id)
                ORDER BY c.next_attempt_at, c.id LIMIT $3 FOR UPDATE OF c SKIP LOCKED) picked,
              webhook_endpoints e
        WHERE m.endpoint_id = picked.endpoint_id AND m.id = picked.id AND e.id = m.endpoint_id
      RETURNING m.endpoint_id, m.id, m.attempts, m.payload, e.url, e.secret, e.previous_secret, e.previous_secret_expires_at`,
      [now, [...this.inFlight.keys()], limit, lease],
    );
  }

  private async deliver(m: Claimed): Promise<Result> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    const t0 = performance.now();
    let outcome: Omit<AttemptOutcome, 'durationMs'>;
    try {
      const url = new URL(m.url);
      // Checked again at every delivery: the name may resolve elsewhere than at registration.
      const address = await deliveryAddress(url, this.opts.allowPrivate, this.lookup);
      if ('reason' in address) {
        outcome = { statusCode: null, error: `address not allowed: ${address.reason}` };
      } else {
        const body = JSON.stringify(m.payload);
        const { statusCode } = await sendWebhook(url, address, { id: m.id, body, secrets: liveSecrets(m, this.opts.clock.now()) }, abort.signal);
        outcome = { statusCode, error: statusCode >= 300 && statusCode < 400 ? 'redirect not followed' : null };
      }
    } catch (err) {
      if (this.stopped) return 'stopped';
      outcome = { statusCode: null, error: abort.signal.aborted ? `no answer within ${this.timeoutMs} ms` : String((err as Error)?.message ?? err) };
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
    const durationMs = Math.round(performance.now() - t0);
    try {
      const result = await this.db.tx((tx) =>
        recordDeliveryAttempt({ tx, now: this.opts.clock.now() }, { endpointId: m.endpoint_id, messageId: m.id, attempts: m.attempts }, { ...outcome, durationMs }),
      );
      if (result === 'endpoint_disabled') this.opts.log.warn({ endpoint: m.endpoint_id }, 'webhook endpoint disabled after three days of failures');
      else if (result !== 'delivered') this.opts.log.warn({ endpoint: m.endpoint_id, message: m.id, status: outcome.statusCode, error: outcome.error }, 'webhook delivery failed');
      return result;
    } catch (err) {
      this.opts.log.error({ err, endpoint: m.endpoint_id, message: m.id }, 'recording a webhook attempt failed; the lease will retry it');
      return 'retry';
    }
  }
}
