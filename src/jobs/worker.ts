import type { Logger } from 'pino';
import type { Db, Tx } from '../db/client.ts';
import type { Deps, Principal, UseCaseCtx } from '../usecases/context.ts';
import { resolveUnansweredDispute } from '../usecases/disputes.ts';
import { escalateUnansweredRefundRequest } from '../usecases/refund-requests.ts';
import { createWeeklyInvoices } from '../usecases/hourly/invoicing.ts';
import { payScheduledInvoices, retryPastDueInvoice, settleInvoiceCharge } from '../usecases/hourly/pay-invoice.ts';
import { autoApprove, RetryLater, settleFunding, warnAutoApproval } from '../usecases/settle-charges.ts';
import { awaitOperations, finishDueOperations } from '../usecases/payments/perform-operation.ts';
import { applyDueProviderEvents } from '../usecases/payments/provider-events.ts';
import { performDueReconciliations } from '../usecases/payments/reconciliation.ts';
import { AppError } from '../domain/errors.ts';
import { sendEmailJob, type Mailer } from '../notify/email.ts';
import { sendMessageDigest } from '../usecases/conversation/send-message-digest.ts';
import { revealReviews } from '../usecases/reviews.ts';
import { purgeLiveEvents } from '../events/log.ts';
import type { WebhookLane } from './webhook-lane.ts';

type JobRow = { id: string; platform_id: string; kind: string; payload: Record<string, unknown>; attempts: number };

export const MAX_ATTEMPTS = 12;
/** Exponential backoff: 2 s, 4 s, 8 s … capped at one hour. */
export const backoffMs = (attempts: number) => Math.min(3_600_000, 1000 * 2 ** attempts);

/** Jobs that change state run inside the claiming transaction, so they happen exactly once. */
const STATE_JOBS: Record<string, (ctx: UseCaseCtx, p: Record<string, unknown>, job: JobRow) => Promise<string>> = {
  settle_funding: (ctx, p) => settleFunding(ctx, String(p.fundingId)),
  auto_approve: (ctx, p) => autoApprove(ctx, String(p.milestoneId), Number(p.submission)),
  auto_approve_warning: (ctx, p) => warnAutoApproval(ctx, String(p.milestoneId), Number(p.submission), String(p.dueAt)),
  dispute_timeout: async (ctx, p) => resolveUnansweredDispute(ctx, String(p.disputeId)),
  refund_request_timeout: (ctx, p) => escalateUnansweredRefundRequest(ctx, String(p.refundRequestId)),
  // Hourly contracts: Monday's invoices, Wednesday's payments, daily retries of past-due ones.
  hourly_invoicing: (ctx, p) => createWeeklyInvoices(ctx, String(p.periodStart)),
  // A batch of invoices (`invoiceIds`), or one (`invoiceId`: a failed batch's retry, or older jobs).
  invoice_payment: (ctx, p, job) => payScheduledInvoices(ctx, Array.isArray(p.invoiceIds) ? p.invoiceIds.map(String) : [String(p.invoiceId)], job.attempts),
  invoice_retry: (ctx, p) => retryPastDueInvoice(ctx, String(p.invoiceId), Number(p.retry)),
  settle_invoice_charge: (ctx, p) => settleInvoiceCharge(ctx, String(p.invoiceId), String(p.paymentId)),
  message_digest: (ctx, p) => sendMessageDigest(ctx, String(p.contractId), String(p.userId)),
  reveal_reviews: (ctx, p) => revealReviews(ctx, String(p.contractId)),
};

/**
 * Jobs that talk to the outside world: claimed with a lease, delivered at least once, retried with
 * backoff. Webhooks are not jobs: they run in their own lane (webhook-lane.ts).
 */
const DELIVERY_JOBS = new Set(['email']);

export type WorkerDeps = Deps & { mailer: Mailer; log: Logger; webhooks: WebhookLane };

const systemPrincipal = (platformId: string): Principal => ({ platformId, userId: null, viaAdmin: true, key: 'system' });

/**
 * Which jobs a loop takes: state jobs only, emails only (the background worker runs the two
 * lanes apart, so that a slow mail server never delays a settlement or a timer), or both in
 * due order (`POST /v1/admin/jobs/run`, benchmarks).
 */
export type Lane = 'state' | 'email' | 'all';

/**
 * Runs every job due at the worker's clock, until none is left (or `max` were run). Safe with
 * any number of workers in parallel: rows are claimed with FOR UPDATE SKIP LOCKED.
 */
export async function runDueJobs(db: Db, deps: WorkerDeps, max = 500, lane: Lane = 'all'): Promise<{ ran: number; failed: number }> {
  let ran = 0;
  let failed = 0;
  // Inbound provider events (webhooks) stored and not applied yet, then provider operations due
  // again: charges to settle, calls a crash or a silent provider left open.
  if (lane !== 'email') await applyDueProviderEvents(db, deps);
  if (lane !== 'email') await finishDueOperations(db, deps);
  while (ran + failed < max) {
    const now = deps.clock.now();
    const outcome = await runOne(db, deps, now, lane);
    if (outcome === 'none') break;
    if (outcome === 'ok') ran++;
    else failed++;
  }
  // The daily reconciliation (each day once it is over, once per platform), its provider listing
  // read outside any transaction; a run that fails stays pending and is retried with backoff.
  if (lane !== 'email') await performDueReconciliations(db, deps).catch((err: unknown) => deps.log.warn({ err }, 'reconciliation sweep failed'));
  return { ran, failed };
}

async function claim(tx: Tx, now: Date, lane: Lane): Promise<JobRow | undefined> {
  const [job] = await tx.query<JobRow>(
    `SELECT id, platform_id, kind, payload, attempts FROM jobs WHERE status = 'pending' AND run_at <= $1
       AND ($2 = 'all' OR (kind = ANY($3::text[])) = ($2 = 'email'))
     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [now, lane, [...DELIVERY_JOBS]],
  );
  return job;
}

async function runOne(db: Db, deps: WorkerDeps, now: Date, lane: Lane): Promise<'none' | 'ok' | 'failed'> {
  let delivery: JobRow | undefined;
  let failure: { job: JobRow; error: unknown } | undefined;
  const operations: string[] = [];
  const result = await db
    .tx(async (tx) => {
      operations.length = 0;
      const job = await claim(tx, now, lane);
      if (!job) return 'none' as const;
      if (DELIVERY_JOBS.has(job.kind)) {
        // Lease: nobody else picks it up while we deliver outside the transaction.
        await tx.query('UPDATE jobs SET run_at = $2, attempts = attempts + 1, updated_at = $3 WHERE id = $1', [job.id, new Date(now.getTime() + 120_000), now]);
        delivery = job;
        return 'ok' as const;
      }
      const handler = STATE_JOBS[job.kind];
      if (!handler) {
        await tx.query("UPDATE jobs SET status = 'dead', last_error = 'unknown job kind', updated_at = $2 WHERE id = $1", [job.id, now]);
        return 'failed' as const;
      }
      const ctx: UseCaseCtx = { tx, principal: systemPrincipal(job.platform_id), deps, now, operations };
      try {
        await tx.query('SAVEPOINT job');
        const note = await handler(ctx, job.payload, job);
        await tx.query("UPDATE jobs SET status = 'done', attempts = attempts + 1, last_error = $2, updated_at = $3 WHERE id = $1", [job.id, note, now]);
        deps.log.debug({ job: job.id, kind: job.kind, note }, 'job done');
        return 'ok' as const;
      } catch (error) {
        await tx.query('ROLLBACK TO SAVEPOINT job');
        operations.length = 0;
        failure = { job, error };
        await reschedule(tx, job, error, now);
        return 'failed' as const;
      }
    })
    .catch((error: unknown) => {
      deps.log.error({ err: error }, 'job transaction failed');
      return 'failed' as const;
    });
  if (failure && !(failure.error instanceof RetryLater)) deps.log.warn({ job: failure.job.id, kind: failure.job.kind, err: failure.error }, 'job failed; will retry');
  // The provider calls the job's commands requested, made now that they are committed.
  if (operations.length > 0 && result === 'ok') await awaitOperations(db, deps, operations, false);
  if (delivery) return deliver(db, deps, delivery, now);
  return result;
}

async function reschedule(tx: Tx, job: JobRow, error: unknown, now: Date) {
  const attempts = job.attempts + 1;
  // A timer on escrow a chargeback froze (a dispute's timeout, say) waits for the bank, however long.
  const waits = error instanceof RetryLater || (error instanceof AppError && error.code === 'escrow_frozen');
  const dead = attempts >= MAX_ATTEMPTS && !waits;
  await tx.query('UPDATE jobs SET status = $2, attempts = $3, run_at = $4, last_error = $5, updated_at = $6 WHERE id = $1', [
    job.id,
    dead ? 'dead' : 'pending',
    attempts,
    new Date(now.getTime() + backoffMs(attempts)),
    String((error as Error)?.message ?? error).slice(0, 1000),
    now,
  ]);
}

async function deliver(db: Db, deps: WorkerDeps, job: JobRow, now: Date): Promise<'ok' | 'failed'> {
  try {
    const note = await sendEmailJob(db, deps.mailer, job.payload);
    await db.query("UPDATE jobs SET status = 'done', last_error = $2, updated_at = $3 WHERE id = $1", [job.id, note, now]);
    return 'ok';
  } catch (error) {
    const attempts = job.attempts + 1;
    await db.query('UPDATE jobs SET status = $2, run_at = $3, last_error = $4, updated_at = $5 WHERE id = $1', [
      job.id,
      attempts >= MAX_ATTEMPTS ? 'dead' : 'pending',
      new Date(now.getTime() + backoffMs(attempts)),
      String((error as Error)?.message ?? error).slice(0, 1000),
      now,
    ]);
    deps.log.warn({ job: job.id, kind: job.kind, err: (error as Error)?.message }, 'delivery failed; will retry');
    return 'failed';
  }
}

const PURGE_EVERY_MS = 10 * 60_000;

/** Idempotency answers are kept 24 hours; older ones are removed in small batches. */
export async function purgeIdempotencyKeys(db: Db, now: Date): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE (platform_id, principal, key) IN (
       SELECT platform_id, principal, key FROM idempotency_keys WHERE created_at < $1 LIMIT 5000)`,
    [new Date(now.getTime() - 24 * 3600_000)],
  );
}

/** Emails delivered at once by one worker process; each waits at most nodemailer's timeouts. */
export const EMAIL_CONCURRENCY = 4;
const EMAIL_STOP_GRACE_MS = 5_000;

/**
 * The background loops, until stopped: state jobs; emails, apart and a few at a time; and the
 * webhook lane (webhook-lane.ts). None waits for another.
 */
export function startWorker(db: Db, deps: WorkerDeps, intervalMs = 500): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let mailing: Promise<unknown> = Promise.resolve();
  let mailTimer: NodeJS.Timeout | undefined;
  const mailTick = () => {
    if (stopped) return;
    mailing = Promise.all(Array.from({ length: EMAIL_CONCURRENCY }, () => runDueJobs(db, deps, 25, 'email')))
      .catch((err: unknown) => deps.log.error({ err }, 'email lane tick failed'))
      .finally(() => {
        if (!stopped) mailTimer = setTimeout(mailTick, intervalMs);
      });
  };
  let lastPurge = 0;
  const tick = () => {
    if (stopped) return;
    const purge =
      Date.now() - lastPurge > PURGE_EVERY_MS
        ? ((lastPurge = Date.now()), Promise.all([purgeIdempotencyKeys(db, deps.clock.now()), purgeLiveEvents(db, deps.clock.now())]))
        : Promise.resolve();
    running = purge
      .then(() => Promise.all([runDueJobs(db, deps, 100, 'state'), deps.webhooks.pump()]))
      .catch((err: unknown) => deps.log.error({ err }, 'worker tick failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  deps.webhooks.runInBackground();
  timer = setTimeout(tick, intervalMs);
  mailTimer = setTimeout(mailTick, intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (mailTimer) clearTimeout(mailTimer);
      // An email stuck on a silent mail server is not waited for: its lease runs out and
      // another worker (or this one, next start) delivers it.
      await Promise.all([running, Promise.race([mailing, new Promise((r) => setTimeout(r, EMAIL_STOP_GRACE_MS).unref())])]);
      await deps.webhooks.stop();
    },
  };
}
