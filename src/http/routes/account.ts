import { z } from 'zod';
import { EVENT_KINDS } from '../../notify/templates.ts';
import { changePassword, notificationPreferences, setNotificationPreferences } from '../../usecases/account.ts';
import { hashSecret, SESSION_COOKIE } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import type { V1 } from './types.ts';

const Password = z.string().min(10, 'must be at least 10 characters').max(200, 'must be at most 200 characters');
/** One boolean per kind of event (an object with a property per kind, so that the document lists them). */
const perKind = (optional: boolean) =>
  z.object(Object.fromEntries(EVENT_KINDS.map((k) => [k, optional ? z.boolean().optional().describe(`\`${k}\` by email`) : z.boolean().describe(`\`${k}\` by email`)])));

const PreferencesSchema = z
  .object({
    email: z
      .object(perKind(false).shape)
      .describe('Per kind of event: whether it is also emailed to you (true unless you turned it off). In-app notifications are always kept.'),
  })
  .meta({
    id: 'NotificationPreferences',
    description: 'Which kinds of event reach you by email',
    example: { email: Object.fromEntries(EVENT_KINDS.map((k) => [k, k !== 'message.created'])) },
  });

export function accountRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Identity'];

  app.post(
    '/me/password',
    {
      schema: {
        tags,
        summary: 'Change your password; your other web sessions end, this one stays',
        description: 'A wrong `currentPassword` answers 422 `current_password_incorrect`. API tokens are not affected.',
        body: z
          .object({
            currentPassword: z.string().min(1, 'is required').max(200).describe('Your password now'),
            newPassword: Password.describe('The new password (10–200 characters, different from the current one)'),
          })
          .strict()
          .meta({ example: { currentPassword: 'correct horse battery', newPassword: 'battery staple horse correct' } }),
        response: { 200: z.object({ otherSessionsEnded: z.number().int().describe('How many of your other web sessions were ended') }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const cookie = req.headers.authorization === undefined ? req.cookies?.[SESSION_COOKIE] : undefined;
        const r = await changePassword(ctx, { ...req.body, keepSessionHash: cookie ? hashSecret(cookie) : null });
        return { status: 200, body: r };
      }),
  );

  app.get(
    '/me/notification-preferences',
    { schema: { tags, summary: 'Which kinds of event are emailed to you', response: { 200: PreferencesSchema } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: { email: await notificationPreferences(ctx) } })),
  );

  app.put(
    '/me/notification-preferences',
    {
      schema: {
        tags,
        summary: 'Turn email on or off per kind of event (kinds not named keep their setting); answers the whole set',
        body: z
          .object({ email: perKind(true).strict().describe('Kinds of event to change: `true` emails them, `false` keeps them in the app only') })
          .strict()
          .meta({ example: { email: { 'message.created': false, 'milestone.funded': true } } }),
        response: { 200: PreferencesSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: { email: await setNotificationPreferences(ctx, req.body.email) } })),
  );
}
