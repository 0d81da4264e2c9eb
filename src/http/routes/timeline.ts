import { z } from 'zod';
import { toActivity, toNotification, type ActivityRow, type NotificationRow } from '../../db/repos/activity.ts';
import { forbidden } from '../../domain/errors.ts';
import { loadContract } from '../../usecases/access.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page } from '../present.ts';
import { ActivitySchema, IdParams, ListQuery, NotificationSchema, Page } from '../schemas.ts';
import type { V1 } from './types.ts';


export function timelineRoutes(app: V1, { runner }: RouteContext) {
  app.get(
    '/contracts/:id/activity',
    {
      schema: {
        tags: ['Activity'],
        summary: 'The contract’s append-only timeline: who did what, when, with the amounts (newest first)',
        params: IdParams('contract'),
        querystring: z.object(ListQuery).strict(),
        response: { 200: Page(ActivitySchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        const rows = await ctx.tx.query<ActivityRow>(
          'SELECT * FROM activity WHERE contract_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
          [contract.id, decodeCursor(req.query.cursor), req.query.limit + 1],
        );
        const pg = page(rows, req.query.limit);
        return {
          status: 200,
          body: {
            data: pg.data.map(toActivity),
            nextCursor: pg.nextCursor,
          },
        };
      }),
  );

  app.get(
    '/notifications',
    {
      schema: {
        tags: ['Activity'],
        summary: 'Your in-app notifications (newest first)',
        querystring: z.object({ unread: z.enum(['true', 'false']).optional().describe('`true`: only unread ones; `false`: only read ones'), ...ListQuery }).strict(),
        response: { 200: Page(NotificationSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        if (!principal.userId) throw forbidden('notifications belong to a user: use the Acting-User header');
        const rows = await tx.query<NotificationRow>(
          `SELECT * FROM notifications WHERE user_id = $1 AND ($2::text IS NULL OR id < $2) AND ($3::boolean IS NULL OR ($3 AND read_at IS NULL) OR (NOT $3 AND read_at IS NOT NULL))
           ORDER BY id DESC LIMIT $4`,
          [principal.userId, decodeCursor(req.query.cursor), req.query.unread === undefined ? null : req.query.unread === 'true', req.query.limit + 1],
        );
        const pg = page(rows, req.query.limit);
        return {
          status: 200,
          body: {
            data: pg.data.map(toNotification),
            nextCursor: pg.nextCursor,
          },
        };
      }),
  );
}
