import { z } from 'zod';
import { listMessages, toMessage } from '../../db/repos/messages.ts';
import { MESSAGE_MAX_CHARS } from '../../domain/conversation.ts';
import { loadContract } from '../../usecases/access.ts';
import { markNotificationsRead } from '../../usecases/conversation/mark-notifications-read.ts';
import { markThreadRead } from '../../usecases/conversation/mark-thread-read.ts';
import { sendMessage } from '../../usecases/conversation/send-message.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { exampleId, FileIds, Id, IdParams, ListQuery, Page, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const at = '2026-11-22T10:00:00.000Z';

export const MessageSchema = z
  .object({
    id: z.string(),
    contractId: z.string(),
    authorId: z.string(),
    body: z.string().describe('The message text'),
    attachments: z.array(z.object({ id: z.string(), filename: z.string(), contentType: z.string(), size: z.number().int() })).describe('Files attached to the message'),
    createdAt: Timestamp,
  })
  .meta({
    id: 'Message',
    description: 'A message of a contract’s conversation between its two parties.',
    example: {
      id: exampleId('message'), contractId: exampleId('contract'), authorId: exampleId('user', 2), body: 'The wireframes are up: see the PDF.',
      attachments: [{ id: exampleId('file'), filename: 'wireframes.pdf', contentType: 'application/pdf', size: 48213 }], createdAt: at,
    },
  });

const MessageBody = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((s) => [...s].length <= MESSAGE_MAX_CHARS, `must be at most ${MESSAGE_MAX_CHARS} characters`);

const ThreadReadSchema = z
  .object({
    contractId: z.string(),
    readUpTo: z.string().nullable().describe('The last message you have read; null when none'),
    unreadMessages: z.number().int().describe('Messages of this conversation you have not read'),
  })
  .meta({ example: { contractId: exampleId('contract'), readUpTo: exampleId('message'), unreadMessages: 0 } });

const NotificationsReadSchema = z
  .object({ read: z.number().int().describe('Notifications marked read now'), unreadNotifications: z.number().int().describe('Your unread notifications left') })
  .meta({ example: { read: 3, unreadNotifications: 0 } });

export function messageRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Messages'];

  app.get(
    '/contracts/:id/messages',
    {
      schema: {
        tags,
        summary: 'The contract’s conversation, newest first',
        description:
          'Cursor-paginated like every list: the first page holds the newest messages; pass `nextCursor` as `cursor` for older ones ' +
          '(`null`: none left). `before=<message id>` is the same as a cursor at that message. `after=<message id>` instead returns the messages ' +
          'that came after it, oldest first (to catch up); then `nextCursor` is the id to pass as `after` for the next page (`null`: up to date). ' +
          'New messages arrive on `GET /v1/events`. Only the two parties (and the platform admin) may read; others get 404. ' +
          'Kept after the contract ends, read-only then.',
        params: IdParams('contract'),
        querystring: z
          .object({
            ...ListQuery,
            before: Id('message').optional().meta({ description: 'Messages older than this one (newest first).' }),
            after: Id('message').optional().meta({ description: 'Messages newer than this one (oldest first).' }),
          })
          .strict()
          .refine((q) => [q.cursor, q.before, q.after].filter((x) => x !== undefined).length <= 1, { message: 'give at most one of cursor, before and after', path: ['after'] }),
        response: {
          200: Page(MessageSchema).meta({ example: { data: [MessageSchema.meta()?.example], nextCursor: null } }),
        },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        const q = req.query;
        if (q.after !== undefined) {
          const rows = await listMessages(ctx.tx, contract.id, { after: q.after }, q.limit + 1);
          const data = rows.slice(0, q.limit);
          return { status: 200, body: { data: data.map(toMessage), nextCursor: rows.length > q.limit ? data.at(-1)!.id : null } };
        }
        const rows = await listMessages(ctx.tx, contract.id, { before: q.before ?? decodeCursor(q.cursor) }, q.limit + 1);
        const pg = page(rows, q.limit);
        return { status: 200, body: { data: pg.data.map(toMessage), nextCursor: pg.nextCursor } };
      }),
  );

  app.post(
    '/contracts/:id/messages',
    {
      schema: {
        tags,
        summary: 'Write to the other party (1–10,000 characters once trimmed; your own uploaded files as attachments)',
        description:
          'The other party gets an in-app notification at once and, if the message is still unread ten minutes later, one email for the whole burst; ' +
          'operators get a `message.created` webhook. Attached files become readable by both parties. ' +
          'While the contract is a proposal or active; once it has ended (closed, withdrawn, declined) the conversation is read-only (409 `invalid_state`).',
        params: IdParams('contract'),
        body: z
          .object({ body: MessageBody.describe('The message (1–10,000 characters once trimmed)'), attachmentIds: FileIds.optional() })
          .strict()
          .meta({ example: { body: 'The wireframes are up: see the PDF.', attachmentIds: [exampleId('file')] } }),
        response: { 201: MessageSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: await sendMessage(ctx, req.params.id, req.body) })),
  );

  app.post(
    '/contracts/:id/messages/read',
    {
      config: { orgRole: 'viewer' },
      schema: {
        tags,
        summary: 'Mark your side of the conversation read, up to a message of it (by default the latest); never moves back',
        description: 'The in-app notifications of the messages read are marked read with it. `upTo` must be a message of this conversation (422 otherwise).',
        params: IdParams('contract'),
        body: z
          .object({ upTo: Id('message').optional().describe('Read up to this message (default: the latest)') })
          .strict()
          .nullish()
          .meta({ example: { upTo: exampleId('message') } }),
        response: { 200: ThreadReadSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await markThreadRead(ctx, req.params.id, req.body?.upTo) })),
  );

  app.post(
    '/notifications/read',
    {
      schema: {
        tags: ['Activity'],
        summary: 'Mark your notifications read: those named in `ids`, or all of them when `ids` is absent',
        description: 'An id that is not one of your notifications refuses the request (422), and nothing is marked.',
        body: z
          .object({ ids: z.array(Id('notification')).min(1).max(100).optional().describe('The notifications to mark read (at most 100); absent: all of them') })
          .strict()
          .nullish()
          .meta({ example: { ids: [exampleId('notification')] } }),
        response: { 200: NotificationsReadSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await markNotificationsRead(ctx, req.body?.ids) })),
  );
}
