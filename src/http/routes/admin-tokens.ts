import { z } from 'zod';
import { forbidden } from '../../domain/errors.ts';
import { seedDemo } from '../../demo.ts';
import { createAdminToken, listAdminTokens, revokeAdminToken, rotateAdminToken } from '../../usecases/admin-tokens.ts';
import { isPlatformAdmin, type Principal } from '../../usecases/context.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { exampleId, IdParams, ListQuery, NoBody, NoContent, Page, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const requireAdmin = (p: Principal) => {
  if (!isPlatformAdmin(p)) throw forbidden('only the platform admin may do this');
};

const Origin = z.enum(['env', 'first_start', 'issued']).meta({
  description: 'env: made from TRANCHE_ADMIN_TOKEN (revoked when that value changes); first_start: generated for a database that had none; issued: created or rotated by an operator',
});

const AdminTokenSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable().describe('The label given at creation; null when none'),
    origin: Origin,
    lastFour: z.string(),
    createdAt: Timestamp,
    revokedAt: Timestamp.nullable(),
    current: z.boolean().meta({ description: 'true for the token that made this request' }),
  })
  .meta({
    example: { id: exampleId('token'), name: 'ops backend', origin: 'issued', lastFour: 'x9Qk', createdAt: '2027-01-05T10:00:00.000Z', revokedAt: null, current: false },
  });

const NewAdminTokenSchema = AdminTokenSchema.extend({ token: z.string().meta({ description: 'the secret, shown this once' }) });

export function adminTokenRoutes(app: V1, { runner, db, deps }: RouteContext) {
  const tags = ['Admin'];

  app.get(
    '/admin/tokens',
    {
      schema: {
        tags,
        summary: 'List the platform admin tokens (never their values), oldest first',
        querystring: z.object(ListQuery).strict(),
        response: { 200: Page(AdminTokenSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        requireAdmin(principal);
        const rows = await listAdminTokens(tx, principal.platformId, { limit: req.query.limit, after: decodeCursor(req.query.cursor), currentId: principal.key });
        return { status: 200, body: page(rows, req.query.limit) };
      }),
  );

  app.post(
    '/admin/tokens',
    {
      schema: {
        tags,
        summary: 'Create a platform admin token. The token is shown once.',
        body: z
          .object({ name: z.string().trim().min(1).max(100).optional().describe('A label to tell the token apart (1–100 characters)') })
          .strict()
          .nullish()
          .meta({ example: { name: 'ops backend' } }),
        response: { 201: NewAdminTokenSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        requireAdmin(principal);
        return { status: 201, body: await createAdminToken(tx, principal.platformId, req.body?.name ?? null, now) };
      }),
  );

  app.delete(
    '/admin/tokens/:id',
    { schema: { tags, summary: 'Revoke a platform admin token; it stops working at once. The last live one cannot be revoked (409).', params: IdParams('token'), response: { 204: NoContent } } },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        requireAdmin(principal);
        await revokeAdminToken(tx, principal.platformId, req.params.id, now);
        return { status: 204, body: null };
      }),
  );

  app.post(
    '/admin/tokens/:id/rotate',
    {
      schema: {
        tags,
        summary: 'Rotate a platform admin token: revoke it and create its replacement (shown once)',
        params: IdParams('token'),
        body: NoBody,
        response: { 201: NewAdminTokenSchema.extend({ replaces: z.string().describe('The id of the token this one replaces (now revoked)') }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        requireAdmin(principal);
        return { status: 201, body: await rotateAdminToken(tx, principal.platformId, req.params.id, now) };
      }),
  );

  app.post(
    '/admin/demo-data',
    {
      schema: {
        tags,
        summary: 'Seed the demo users and contracts (what `tranche seed-demo` does); nothing if they exist',
        body: NoBody,
        response: {
          200: z.object({ created: z.literal(false).describe('The demo data existed already: nothing was created') }),
          201: z.object({
            created: z.literal(true).describe('The demo data was created'),
            clientToken: z.string().describe('An API token of the demo client (shown once)'),
            contractorToken: z.string().describe('An API token of the demo contractor (shown once)'),
          }),
        },
      },
    },
    async (req, reply) => {
      const principal = await runner.within(req, async ({ principal }) => {
        requireAdmin(principal);
        return principal;
      });
      // seedDemo runs its own transaction through the same use cases as the API.
      const r = await seedDemo(db, principal.platformId, deps.clock, deps.provider);
      return r.created ? reply.code(201).send({ created: true, clientToken: r.clientToken, contractorToken: r.contractorToken }) : reply.code(200).send({ created: false });
    },
  );
}
