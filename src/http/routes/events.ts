import { z } from 'zod';
import { unreadCounts } from '../../db/repos/messages.ts';
import { AppError, forbidden, validation } from '../../domain/errors.ts';
import { LiveHub } from '../../events/live-hub.ts';
import { formatPosition, headPosition, parsePosition, readEvents, type LiveEvent, type Position } from '../../events/log.ts';
import type { RouteContext } from '../app.ts';
import { authenticate } from '../auth.ts';
import { sendProblem, toProblem } from '../problem.ts';
import type { V1 } from './types.ts';

const BATCH = 200;

const EVENT_STREAM_EXAMPLE = [
  'retry: 3000',
  '',
  'id: 7712-0',
  'event: ready',
  'data: {"unread":{"notifications":1,"messages":2}}',
  '',
  'id: 7715-4121',
  'event: message',
  'data: {"message":{"id":"cmsg_…","contractId":"ctr_…","authorId":"usr_…","body":"Hi!","attachments":[],"createdAt":"2026-11-22T10:00:00.000Z"},"unreadMessages":3,"unread":{"notifications":2,"messages":3}}',
  '',
  ': keep-alive',
  '',
].join('\n');

// A plain OpenAPI response (not zod): the stream is written frame by frame, never serialized.
const EventStreamSchema = { type: 'string', description: 'Server-Sent Events: `id:`, `event:` and `data:` (JSON) lines per event', example: EVENT_STREAM_EXAMPLE };

const frame = (e: { id?: string; event: string; data: unknown }) => `${e.id ? `id: ${e.id}\n` : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

/**
 * GET /v1/events: the caller's live events as Server-Sent Events. Streams read the live event log
 * (src/events/log.ts) from their position on, when the database notifies a commit for their
 * user (LISTEN/NOTIFY, so any process's commits reach every process's streams) and at every
 * heartbeat (a safety net for a notification lost while the listening connection reconnected).
 */
export function eventRoutes(app: V1, { db, deps, log, http }: RouteContext) {
  const hub = new LiveHub(db, log.child({ component: 'live' }), http.live.streamsPerUser);
  // Open streams would hold the server's close forever: they end first.
  app.addHook('preClose', async () => hub.close());

  app.get(
    '/events',
    {
      schema: {
        tags: ['Events'],
        summary: 'Your live events (Server-Sent Events): messages, activity of your contracts, notifications and unread counts',
        description:
          'A `text/event-stream` that stays open. Events: `ready` (on connect: your unread counts), `message` (a new message on one of your contracts, ' +
          'with that thread’s `unreadMessages`), `activity` (a timeline entry of one of your contracts), `notification` (a new in-app notification), ' +
          '`read` (your read markers moved, e.g. in another tab); each carries `unread: {notifications, messages}` as they are now. ' +
          'Every event has an `id`; reconnect with `Last-Event-ID: <id>` (or `?lastEventId=`, for clients that cannot set headers) to get every event after it, none lost. ' +
          `A comment line (\`: keep-alive\`) comes every ${Math.round(http.live.heartbeatMs / 1000)} seconds. At most ${http.live.streamsPerUser} open streams per user and API process (429 beyond). ` +
          'A stream carries nothing of contracts you are not a party to. Token, session cookie, or the admin token with `Acting-User`.',
        querystring: z.object({ lastEventId: z.string().max(100).optional().meta({ description: 'Same as the Last-Event-ID header.', example: '7715-4121' }) }).strict(),
        headers: z.object({ 'last-event-id': z.string().max(100).optional().meta({ description: 'Resume after this event id.', example: '7715-4121' }) }),
        response: {
          200: { description: 'The event stream', content: { 'text/event-stream': { schema: EventStreamSchema } } },
        },
      },
      // The stream is never serialized (problems before it starts are JSON as everywhere).
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    },
    async (req, reply) => {
      let principal = req.principal!;
      let position: Position = { xid: '0', seq: '0' };
      let started = false;
      let ended = false;
      let reading: Promise<void> | null = null;
      let again = false;
      const userId = principal.userId;
      const res = reply.raw;
      const sub = { userId: userId ?? '', wake: () => void pump(), close: () => end() };
      try {
        if (!userId) throw forbidden('events belong to a user: use the Acting-User header');
        const given = req.headers['last-event-id'] ?? req.query.lastEventId;
        const parsed = given === undefined ? null : parsePosition(given.trim());
        if (given !== undefined && !parsed) throw validation('Last-Event-ID', 'is not an event id sent by this stream');
        if (!(await hub.subscribe(sub))) {
          throw new AppError('rate_limited', `at most ${hub.maxPerUser} open event streams per user`, { retryAfter: Math.ceil(http.live.heartbeatMs / 1000) });
        }
        position = parsed ?? (await headPosition(db));
      } catch (err) {
        if (userId) hub.unsubscribe(sub);
        return sendProblem(reply, toProblem(err, req));
      }

      async function pump(): Promise<void> {
        if (!started || ended) return;
        if (reading) {
          again = true;
          return reading;
        }
        reading = (async () => {
          try {
            do {
              again = false;
              let full = true;
              while (full && !ended) {
                const batch = await readEvents(db, principal.platformId, userId!, position, BATCH);
                for (const e of batch.events) send(e);
                position = batch.position;
                full = batch.events.length === BATCH;
              }
            } while (again && !ended);
          } catch (err) {
            // The database is away: the next wake-up or heartbeat tries again from the same position.
            log.warn({ err: (err as Error).message }, 'live stream read failed');
          } finally {
            reading = null;
          }
        })();
        return reading;
      }

      const send = (e: LiveEvent | { id?: string; event: string; data: unknown }) => {
        if (!ended) res.write(frame(e));
      };

      const heartbeat = setInterval(() => {
        if (ended) return;
        res.write(': keep-alive\n\n');
        // A stream lives as long as its credential: a revoked token or ended session closes it.
        authenticate(db, req, deps.clock.now()).then(
          (p) => {
            principal = p;
            void pump();
          },
          (err: unknown) => {
            if (err instanceof AppError && (err.code === 'unauthenticated' || err.code === 'forbidden')) end();
          },
        );
      }, http.live.heartbeatMs);

      function end() {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        hub.unsubscribe(sub);
        if (started) res.end();
      }

      if (ended) return; // the server began stopping while we subscribed
      reply.hijack();
      started = true;
      req.raw.socket.setTimeout(0);
      res.on('close', end);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-request-id': req.id,
      });
      res.write('retry: 3000\n\n');
      try {
        const counts = await unreadCounts(db, principal.platformId, userId);
        send({ id: formatPosition(position), event: 'ready', data: { unread: { notifications: counts.unreadNotifications, messages: counts.unreadMessages } } });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'live stream start failed');
      }
      await pump();
    },
  );
}
