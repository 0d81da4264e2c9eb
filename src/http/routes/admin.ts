import { z } from 'zod';
import { AppError, forbidden } from '../../domain/errors.ts';
import { runDueJobs } from '../../jobs/worker.ts';
import { checkLedger } from '../../ledger/check.ts';
import { isPlatformAdmin, type Principal } from '../../usecases/context.ts';
import type { RouteContext } from '../app.ts';
import type { V1 } from './types.ts';

const requireAdmin = (p: Principal) => {
  if (!isPlatformAdmin(p)) throw forbidden('only the platform admin may do this');
};

export function adminRoutes(app: V1, { runner, db, testClock, workerDeps }: RouteContext) {
  const tags = ['Admin'];

  app.get(
    '/admin/ledger/check',
    {
      schema: {
        tags,
        summary: 'Recompute every balance and check the ledger invariants (there must be no violations)',
        response: {
          200: z.object({
            ok: z.boolean().describe('Every invariant holds'),
            violations: z
              .array(
                z.object({
                  invariant: z.number().int().describe('The invariant’s number (src/ledger/check.ts)'),
                  rule: z.string().describe('What the invariant says'),
                  detail: z.record(z.string(), z.unknown()).describe('What breaks it: accounts, entries, amounts'),
                }),
              )
              .describe('Every broken invariant; empty when the ledger is clean'),
            accounts: z.number().int().describe('Ledger accounts checked'),
            entries: z.number().int().describe('Journal entries checked'),
            postings: z.number().int().describe('Postings checked'),
          }),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requireAdmin(principal);
        return { status: 200, body: await checkLedger(tx, principal.platformId) };
      }),
  );

  if (!testClock) return;

  app.put(
    '/admin/clock',
    {
      schema: {
        tags,
        summary: 'Test clock (TRANCHE_TEST_CLOCK=1 only): set the product’s current time',
        body: z.object({ now: z.iso.datetime({ offset: true }) }).strict(),
        response: { 200: z.object({ now: z.string() }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ principal }) => {
        requireAdmin(principal);
        const at = new Date(req.body.now);
        if (Number.isNaN(at.getTime())) throw new AppError('validation_failed', 'now is not a time', {}, [{ field: 'now', message: 'is not a time' }]);
        testClock.set(at);
        return { status: 200, body: { now: testClock.now().toISOString() } };
      }),
  );

  app.post(
    '/admin/jobs/run',
    { schema: { tags, summary: 'Test clock only: run every job due now, then the webhook deliveries due now', body: z.object({}).strict().nullish(), response: { 200: z.object({ ran: z.number().int(), failed: z.number().int() }) } } },
    async (req, reply) => {
      await runner.within(req, async ({ principal }) => requireAdmin(principal));
      // State jobs do not wait for deliveries; deliveries in flight from an earlier call (a
      // hanging endpoint) are not waited for either (see WebhookLane.runDue).
      const jobs = await runDueJobs(db, workerDeps);
      const hooks = await workerDeps.webhooks.runDue();
      return reply.code(200).send({ ran: jobs.ran + hooks.delivered, failed: jobs.failed + hooks.failed });
    },
  );
}
