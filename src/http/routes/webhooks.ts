import { z } from 'zod';
import { listWebhookAttempts, listWebhookEndpoints, toWebhookAttempt, toWebhookEndpoint } from '../../db/repos/webhooks.ts';
import { AppError } from '../../domain/errors.ts';
import { WEBHOOK_EVENT_TYPES } from '../../notify/templates.ts';
import { createWebhookEndpoint } from '../../usecases/webhooks/create-webhook-endpoint.ts';
import { deleteWebhookEndpoint } from '../../usecases/webhooks/delete-webhook-endpoint.ts';
import { loadWebhookEndpoint, requirePlatformAdmin } from '../../usecases/webhooks/endpoint-access.ts';
import { redeliverWebhookMessage } from '../../usecases/webhooks/redeliver-webhook-message.ts';
import { rotateWebhookSecret } from '../../usecases/webhooks/rotate-webhook-secret.ts';
import { sendTestWebhook } from '../../usecases/webhooks/send-test-webhook.ts';
import { updateWebhookEndpoint } from '../../usecases/webhooks/update-webhook-endpoint.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { exampleId, Id, IdParams, ListQuery, NoBody, Page, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const WebhookUrl = z
  .string()
  .url()
  .max(2000)
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
  .meta({ description: 'Where deliveries are POSTed. Must be, and resolve only to, public addresses (unless the operator set TRANCHE_WEBHOOK_ALLOW_PRIVATE=1); redirects are not followed.' });
const EventTypes = z
  .array(z.enum(['*', ...WEBHOOK_EVENT_TYPES]))
  .min(1)
  .max(100)
  .meta({ description: 'Event types to receive; `*` for all.' });
const Secret = z.string().meta({ description: 'Standard Webhooks signing secret, shown only in this answer', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });

const endpointExample = {
  id: exampleId('webhook'),
  url: 'https://marketplace.example/hooks/tranche',
  events: ['milestone.funded', 'milestone.released'],
  enabled: true,
  disabledAt: null,
  disabledReason: null,
  failingSince: null,
  previousSecretExpiresAt: null,
  createdAt: '2027-03-01T09:00:00.000Z',
  updatedAt: '2027-03-01T09:00:00.000Z',
};
const WebhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string().describe('Where deliveries are POSTed'),
    events: z.array(z.string()).describe('The event types it receives; `*` for all'),
    enabled: z.boolean().describe('Deliveries are sent; false once disabled by hand or after three days of failures'),
    disabledAt: Timestamp.nullable(),
    disabledReason: z.enum(['manual', 'failing']).nullable().meta({ description: '`failing`: disabled after three days of failed deliveries' }),
    failingSince: Timestamp.nullable().meta({ description: 'First failed attempt since the last success' }),
    previousSecretExpiresAt: Timestamp.nullable().meta({ description: 'Until then the secret replaced by the last rotation signs too' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ description: 'A webhook endpoint of the platform (its secret is shown only when created or rotated).', example: endpointExample });
const WithSecret = WebhookEndpointSchema.extend({ secret: Secret }).meta({ example: { ...endpointExample, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } });
const WebhookAttemptSchema = z
  .object({
    id: z.string(),
    messageId: z.string().meta({ description: 'The message’s `webhook-id`, the same on every attempt' }),
    eventType: z.string().describe('The message’s event type'),
    attemptedAt: Timestamp,
    statusCode: z.number().int().nullable().meta({ description: 'The endpoint’s HTTP status; null when there was no answer' }),
    error: z.string().nullable().meta({ description: 'Why the attempt failed, when it did (no answer in time, refused address, redirect …)' }),
    durationMs: z.number().int().describe('How long the attempt took, in milliseconds'),
    nextRetryAt: Timestamp.nullable().meta({ description: 'When the message is tried again; null once delivered or given up' }),
  })
  .meta({
    example: {
      id: exampleId('webhookAttempt'), messageId: exampleId('webhookMessage'), eventType: 'milestone.funded', attemptedAt: '2027-03-01T09:00:01.000Z',
      statusCode: 503, error: null, durationMs: 212, nextRetryAt: '2027-03-01T09:00:06.000Z',
    },
  });
const Queued = z.object({ messageId: z.string().describe('The message’s `webhook-id`'), status: z.string().describe('`pending`: queued for delivery') }).meta({ example: { messageId: exampleId('webhookMessage'), status: 'pending' } });

/**
 * Webhook endpoints of the platform (admin token only): register, list, change, pause, rotate the
 * secret, send a test, read the delivery log and redeliver a message.
 */
export function webhookRoutes(app: V1, { runner, workerDeps }: RouteContext) {
  const tags = ['Webhooks'];

  /** The address rules at registration; DNS is asked outside any transaction. */
  const admit = async (raw: string): Promise<string> => {
    const checked = await workerDeps.webhooks.admit(raw);
    if ('reason' in checked) throw new AppError('webhook_url_not_allowed', `url ${checked.reason}`, {}, [{ field: 'url', message: checked.reason, code: 'webhook_url_not_allowed' }]);
    return checked.url.href;
  };
  const admin = (p: Parameters<typeof requirePlatformAdmin>[0] | undefined) => {
    if (!p) throw new AppError('unauthenticated', 'authentication required');
    requirePlatformAdmin(p);
  };

  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'Register a webhook endpoint; deliveries are signed per Standard Webhooks with the returned secret (shown once)',
        body: z
          .object({ url: WebhookUrl, events: EventTypes, enabled: z.boolean().default(true).describe('Start sending at once (default true)') })
          .strict()
          .meta({ example: { url: 'https://marketplace.example/hooks/tranche', events: ['milestone.funded', 'milestone.approved'] } }),
        response: { 201: WithSecret },
      },
    },
    async (req, reply) => {
      admin(req.principal);
      const url = await admit(req.body.url);
      return runner.run(req, reply, async (ctx) => {
        const { endpoint, secret } = await createWebhookEndpoint(ctx, { url, events: req.body.events, enabled: req.body.enabled });
        return { status: 201, body: { ...toWebhookEndpoint(endpoint), secret } };
      });
    },
  );

  app.get(
    '/webhook-endpoints',
    { schema: { tags, summary: 'The platform’s webhook endpoints, newest first (secrets are never shown again)', querystring: z.object(ListQuery).strict(), response: { 200: Page(WebhookEndpointSchema) } } },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requirePlatformAdmin(principal);
        const pg = page(await listWebhookEndpoints(tx, principal.platformId, decodeCursor(req.query.cursor), req.query.limit + 1), req.query.limit);
        return { status: 200, body: { data: pg.data.map(toWebhookEndpoint), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/webhook-endpoints/:id',
    { schema: { tags, summary: 'One webhook endpoint', params: IdParams('webhook'), response: { 200: WebhookEndpointSchema } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: toWebhookEndpoint(await loadWebhookEndpoint(ctx, req.params.id, false)) })),
  );

  app.patch(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Change the URL or event types, or disable (`enabled: false`) and enable an endpoint; enabling clears its failure streak and resumes its pending messages',
        params: IdParams('webhook'),
        body: z
          .object({ url: WebhookUrl.optional(), events: EventTypes.optional(), enabled: z.boolean().optional().describe('false pauses deliveries; true resumes them and clears the failure streak') })
          .strict()
          .refine((b) => Object.keys(b).length > 0, 'give url, events or enabled')
          .meta({ example: { events: ['*'], enabled: true } }),
        response: { 200: WebhookEndpointSchema },
      },
    },
    async (req, reply) => {
      admin(req.principal);
      const url = req.body.url === undefined ? undefined : await admit(req.body.url);
      return runner.run(req, reply, async (ctx) => ({ status: 200, body: toWebhookEndpoint(await updateWebhookEndpoint(ctx, req.params.id, { ...req.body, url })) }));
    },
  );

  app.delete(
    '/webhook-endpoints/:id',
    { schema: { tags, summary: 'Delete an endpoint with its pending messages and delivery log', params: IdParams('webhook'), response: { 204: z.null().meta({ description: 'Deleted' }) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        await deleteWebhookEndpoint(ctx, req.params.id);
        return { status: 204, body: null };
      }),
  );

  app.post(
    '/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Issue a new signing secret (shown once); the old one keeps signing beside it for 24 hours, so each delivery carries both signatures meanwhile',
        params: IdParams('webhook'),
        body: NoBody,
        response: { 200: WithSecret },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { endpoint, secret } = await rotateWebhookSecret(ctx, req.params.id);
        return { status: 200, body: { ...toWebhookEndpoint(endpoint), secret } };
      }),
  );

  app.post(
    '/webhook-endpoints/:id/test',
    { schema: { tags, summary: 'Queue a `webhook.test` message to this endpoint', params: IdParams('webhook'), body: NoBody, response: { 202: Queued } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 202, body: { messageId: await sendTestWebhook(ctx, req.params.id), status: 'pending' } })),
  );

  app.get(
    '/webhook-endpoints/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'The delivery log: every attempt, newest first, with its status code or error, duration and next retry',
        params: IdParams('webhook'),
        querystring: z.object(ListQuery).strict(),
        response: { 200: Page(WebhookAttemptSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const endpoint = await loadWebhookEndpoint(ctx, req.params.id, false);
        const pg = page(await listWebhookAttempts(ctx.tx, endpoint.id, decodeCursor(req.query.cursor), req.query.limit + 1), req.query.limit);
        return { status: 200, body: { data: pg.data.map(toWebhookAttempt), nextCursor: pg.nextCursor } };
      }),
  );

  app.post(
    '/webhook-endpoints/:id/deliveries/:messageId/redeliver',
    {
      schema: {
        tags,
        summary: 'Send a message again now, with the same webhook-id (delivered, given up or still waiting)',
        params: z.object({ id: Id('webhook').describe('The endpoint’s id'), messageId: Id('webhookMessage').describe('The message’s id (its `webhook-id`)') }).strict(),
        body: NoBody,
        response: { 202: Queued },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { status } = await redeliverWebhookMessage(ctx, req.params.id, req.params.messageId);
        return { status: 202, body: { messageId: req.params.messageId, status } };
      }),
  );
}
