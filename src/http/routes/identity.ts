import { verify as argonVerify } from '@node-rs/argon2';
import { z } from 'zod';
import { ExternalId, Metadata } from '../../domain/operator-fields.ts';
import { beginLoginAttempt, loginSucceeded } from '../../db/repos/login-attempts.ts';
import { unreadCounts } from '../../db/repos/messages.ts';
import { findUser, findUserByEmail, toUser, type UserRow } from '../../db/repos/users.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { isPlatformAdmin } from '../../usecases/context.ts';
import { createToken, createUser } from '../../usecases/create-user.ts';
import { attachPaymentMethod } from '../../usecases/payments/customers.ts';
import { hashSecret, newSecret, SESSION_COOKIE } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { sendProblem, toProblem } from '../problem.ts';
import { exampleId, Id, IdParams, NoBody, NoContent, PaymentMethod, UserSchema } from '../schemas.ts';
import type { V1 } from './types.ts';

const SESSION_DAYS = 14;
const Email = z.string().trim().toLowerCase().email('must be an email address').max(254);
const TokenSchema = z.object({
  id: z.string(),
  token: z.string().describe('The token’s value: send it as `Authorization: Bearer …`; shown only in this answer'),
  userId: z.string().describe('The user the token acts as'),
  lastFour: z.string(),
  createdAt: z.string(),
});

export function identityRoutes(app: V1, { runner, deps, db, http }: RouteContext) {
  const tags = ['Identity'];

  app.post(
    '/users',
    {
      schema: {
        tags,
        summary: 'Create a user (platform admin)',
        body: z
          .object({
            email: Email.describe('The user’s email address (unique per platform)'),
            name: z.string().trim().min(1).max(200).describe('The person’s name as others see it (1–200 characters)'),
            password: z.string().min(10, 'must be at least 10 characters').max(200).optional().describe('Lets the user log in to the web app (10–200 characters); without it the user acts only through tokens'),
            externalId: ExternalId.optional(),
            metadata: Metadata.optional(),
          })
          .strict()
          .meta({ example: { email: 'ada@example.com', name: 'Ada Lovelace', password: 'correct horse battery' } }),
        response: { 201: UserSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        if (!isPlatformAdmin(principal)) throw forbidden('only the platform admin creates users');
        const row = await createUser(tx, principal.platformId, req.body, now);
        return { status: 201, body: toUser(row) };
      }),
  );

  app.get('/users/:id', { schema: { tags, summary: 'Get a user (the admin, or the user themself)', params: IdParams('user'), response: { 200: UserSchema } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, principal }) => {
      if (!isPlatformAdmin(principal) && principal.userId !== req.params.id) throw notFound('user');
      const row = await findUser(tx, principal.platformId, req.params.id);
      if (!row) throw notFound('user');
      return { status: 200, body: toUser(row) };
    }),
  );

  app.post(
    '/users/:id/tokens',
    {
      schema: {
        tags,
        summary: 'Create an API token for a user (platform admin). The token is shown once.',
        params: IdParams('user'),
        body: z.object({ name: z.string().max(100).optional().describe('A label to tell the token apart (at most 100 characters)') }).strict().nullish(),
        response: { 201: TokenSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        if (!isPlatformAdmin(principal)) throw forbidden('only the platform admin creates tokens');
        return { status: 201, body: await createToken(tx, principal.platformId, req.params.id, req.body?.name ?? null, now) };
      }),
  );

  app.delete('/tokens/:id', { schema: { tags, summary: 'Revoke an API token (the admin, or the token’s user)', params: IdParams('token'), response: { 204: NoContent } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, principal, now }) => {
      const [tok] = await tx.query<{ user_id: string | null; kind: string }>('SELECT user_id, kind FROM api_tokens WHERE platform_id = $1 AND id = $2', [principal.platformId, req.params.id]);
      if (!tok || tok.kind !== 'user' || (!isPlatformAdmin(principal) && tok.user_id !== principal.userId)) throw notFound('token');
      await tx.query('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1', [req.params.id, now]);
      return { status: 204, body: null };
    }),
  );

  app.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Log in with email and password; sets an httpOnly, SameSite session cookie. Failed logins are limited per account and per address (429 with Retry-After).',
        security: [],
        body: z
          .object({
            email: Email.describe('The user’s email address'),
            password: z.string().min(1).max(200).describe('The user’s password'),
            platformId: Id('platform').optional().describe('The platform, when the server hosts several (default: the default platform)'),
          })
          .strict(),
        response: { 200: z.object({ user: UserSchema, expiresAt: z.string().describe('When the session ends (14 days)') }) },
      },
    },
    async (req, reply) => {
      try {
        const now = deps.clock.now();
        const [platform] = req.body.platformId
          ? await db.query<{ id: string }>('SELECT id FROM platforms WHERE id = $1', [req.body.platformId])
          : await db.query<{ id: string }>('SELECT id FROM platforms WHERE is_default');
        // Counted per account and per client address (req.ip: the proxy's client when TRUST_PROXY
        // says whom to believe), in the database, before the costly password check.
        const attempt = await beginLoginAttempt(db, { account: `${platform?.id ?? req.body.platformId}:${req.body.email}`, address: req.ip }, now, http.loginLimits);
        const user = platform ? await findUserByEmail(db, platform.id, req.body.email) : undefined;
        // Verify against a dummy hash when the user is unknown so that timing does not reveal who exists.
        const ok = await argonVerify(user?.password_hash ?? DUMMY_HASH, req.body.password).catch(() => false);
        if (!user || !user.password_hash || !ok) throw new AppError('unauthenticated', 'email or password is wrong');
        await loginSucceeded(db, attempt);
        const secret = newSecret('trs');
        const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
        await db.query('INSERT INTO sessions (id, platform_id, user_id, token_hash, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)', [
          newId('session'), user.platform_id, user.id, hashSecret(secret), now, expiresAt,
        ]);
        reply.setCookie(SESSION_COOKIE, secret, { path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', expires: expiresAt });
        return reply.code(200).send({ user: toUser(user), expiresAt: expiresAt.toISOString() });
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  app.post('/auth/logout', { schema: { tags, summary: 'End the session', body: NoBody, response: { 204: NoContent } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, now }) => {
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie) await tx.query('UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1', [hashSecret(cookie), now]);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { status: 204, body: null };
    }),
  );

  const MeSchema = z.object({
    user: UserSchema.nullable().describe('The calling user; null for the platform admin acting as itself'),
    platformId: z.string(),
    admin: z.boolean().describe('The caller is the platform admin'),
    unreadNotifications: z.number().int().meta({ description: 'Your unread in-app notifications (0 for the platform admin).' }),
    unreadMessages: z.number().int().meta({ description: 'Messages you have not read, across your contracts.' }),
  }).meta({
    example: {
      user: { id: exampleId('user'), platformId: exampleId('platform'), email: 'ada@example.com', name: 'Ada Lovelace', hasPassword: true, defaultPaymentMethod: 'pm_card_ok', externalId: null, metadata: {}, version: 1, createdAt: '2026-11-22T10:00:00.000Z', updatedAt: '2026-11-22T10:00:00.000Z' },
      platformId: exampleId('platform'), admin: false, unreadNotifications: 3, unreadMessages: 2,
    },
  });
  app.get('/me', { schema: { tags, summary: 'The calling user (or the platform admin), with unread counts', response: { 200: MeSchema } } }, (req, reply) =>
    runner.run(req, reply, async ({ tx, principal }) => {
      const row = principal.userId ? await findUser(tx, principal.platformId, principal.userId) : undefined;
      const unread = row ? await unreadCounts(tx, principal.platformId, row.id) : { unreadNotifications: 0, unreadMessages: 0 };
      return { status: 200, body: { user: row ? toUser(row) : null, platformId: principal.platformId, admin: principal.viaAdmin, ...unread } };
    }),
  );

  app.put(
    '/me/payment-method',
    { schema: { tags, summary: 'Save the default payment method used for charges that name none', body: z.object({ paymentMethod: PaymentMethod }).strict(), response: { 200: UserSchema } } },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal, now }) => {
        if (!principal.userId) throw forbidden('act for a user with the Acting-User header');
        if (!deps.provider.isPaymentMethod(req.body.paymentMethod)) {
          throw new AppError('validation_failed', 'unknown payment method', {}, [{ field: 'paymentMethod', message: 'is not a payment method of this provider' }]);
        }
        const user = (await findUser(tx, principal.platformId, principal.userId))!;
        // After commit (provider calls): the method attached to the user's customer, then saved.
        return {
          status: 200,
          body: toUser(user),
          afterCommit: async (q) => {
            const method = await attachPaymentMethod(q, deps, { platformId: user.platform_id, id: user.id, name: user.name, email: user.email }, req.body.paymentMethod);
            const [row] = await q.query<UserRow>('UPDATE users SET default_payment_method = $2, version = version + 1, updated_at = $3 WHERE id = $1 RETURNING *', [user.id, method, now]);
            return { status: 200, body: toUser(row!) };
          },
        };
      }),
  );
}

// argon2id hash of a random string, used to keep login timing uniform.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$YWJjZGVmZ2hpamtsbW5vcA$2o0m5q8RrXG4b3YpJg4uS3+uQm0f8bI8sVbq2c3C1cQ';
