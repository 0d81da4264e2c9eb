import { z } from 'zod';
import { AppError, forbidden } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { runDueJobs } from '../../jobs/worker.ts';
import { checkLedger } from '../../ledger/check.ts';
import { EVENT_KINDS } from '../../notify/templates.ts';
import { isPlatformAdmin, type Principal } from '../../usecases/context.ts';
import { newSecret } from '../auth.ts';
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
            ok: z.boolean(),
            violations: z.array(z.object({ invariant: z.number().int(), rule: z.string(), detail: z.record(z.string(), z.unknown()) })),
            accounts: z.number().int(),
            entries: z.number().int(),
            postings: z.number().int(),
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

  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'Register a webhook endpoint; deliveries are signed with the returned secret (shown once)',
        body: z
          .object({ url: z.string().url().max(2000).refine((u) => /^https?:\/\//.test(u), 'must be http(s)'), events: z.array(z.enum(['*', ...EVENT_KINDS])).min(1).max(100) })
          .strict()
          .meta({ example: { url: 'https://marketplace.example/hooks/tranche', events: ['milestone.funded', 'milestone.approved'] } }),
        response: { 201: z.object({ id: z.string(), url: z.string(), events: z.array(z.string()), secret: z.string(), createdAt: z.string() }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        requireAdmin(principal);
        const id = newId('webhook');
        const secret = newSecret('whsec');
        await tx.query('INSERT INTO webhook_endpoints (id, platform_id, url, events, secret, created_at) VALUES ($1,$2,$3,$4,$5,$6)', [
          id, principal.platformId, req.body.url, JSON.stringify(req.body.events), secret, now,
        ]);
        return { status: 201, body: { id, url: req.body.url, events: req.body.events, secret, createdAt: now.toISOString() } };
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
    { schema: { tags, summary: 'Test clock only: run every job due now', body: z.object({}).strict().nullish(), response: { 200: z.object({ ran: z.number().int(), failed: z.number().int() }) } } },
    async (req, reply) => {
      await runner.within(req, async ({ principal }) => requireAdmin(principal));
      return reply.code(200).send(await runDueJobs(db, workerDeps));
    },
  );
}
