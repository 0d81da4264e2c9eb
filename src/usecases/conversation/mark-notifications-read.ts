import { AppError, forbidden } from '../../domain/errors.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordReadMarker } from '../record.ts';

/**
 * Marks the caller's notifications read: those named, or every unread one. A named id that is
 * not one of the caller's notifications refuses the whole request (nothing is marked).
 */
export async function markNotificationsRead(ctx: UseCaseCtx, ids: string[] | undefined): Promise<{ read: number; unreadNotifications: number }> {
  const { tx, now, principal } = ctx;
  if (!principal.userId) throw forbidden('notifications belong to a user: use the Acting-User header');
  const wanted = ids === undefined ? null : [...new Set(ids)];
  if (wanted) {
    const found = await tx.query<{ id: string }>('SELECT id FROM notifications WHERE user_id = $1 AND id = ANY($2::text[])', [principal.userId, wanted]);
    const mine = new Set(found.map((r) => r.id));
    const unknown = wanted.filter((id) => !mine.has(id));
    if (unknown.length) {
      throw new AppError('validation_failed', 'unknown notification', {}, unknown.map((id) => ({ field: 'ids', message: `${id} is not one of your notifications` })));
    }
  }
  const marked = await tx.query<{ id: string }>(
    'UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND read_at IS NULL AND ($2::text[] IS NULL OR id = ANY($2::text[])) RETURNING id',
    [principal.userId, wanted, now],
  );
  if (marked.length) await recordReadMarker(ctx, principal.platformId, principal.userId, null);
  const [left] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL', [principal.userId]);
  return { read: marked.length, unreadNotifications: left!.n };
}
