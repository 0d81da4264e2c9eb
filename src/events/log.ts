import type { Queryable } from '../db/client.ts';
import { toActivity, toNotification, type ActivityRow, type NotificationRow } from '../db/repos/activity.ts';
import { MESSAGE_COLUMNS, toMessage, unreadCounts, unreadMessagesSql, type MessageRow } from '../db/repos/messages.ts';

/**
 * Reading the live event log (table live_events, migration 0012) for one user's stream.
 *
 * A position is (xid, seq): the writing transaction's id and the row's sequence number, sent as
 * the SSE id `<xid>-<seq>`. Rows are read in that order and only once their transaction's id is
 * below the oldest transaction still running, so no row can later commit behind a position a
 * reader has passed: resuming after `Last-Event-ID` loses nothing, on any number of processes.
 */
export type Position = { xid: string; seq: string };

const POSITION = /^(\d{1,20})-(\d{1,19})$/;
export const formatPosition = (p: Position) => `${p.xid}-${p.seq}`;
export function parsePosition(s: string): Position | null {
  const m = POSITION.exec(s);
  if (!m || BigInt(m[1]!) >= 2n ** 64n || BigInt(m[2]!) >= 2n ** 63n) return null;
  return { xid: m[1]!, seq: m[2]! };
}

/** Where a new stream starts: after everything already settled (a little may be sent again, never less). */
export async function headPosition(q: Queryable): Promise<Position> {
  const [row] = await q.query<{ xid: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xid');
  return { xid: row!.xid, seq: '0' };
}

export type Unread = { notifications: number; messages: number };

/** One event for the stream: its SSE id, name and JSON data. */
export type LiveEvent = { id: string; event: 'message' | 'activity' | 'notification' | 'read'; data: Record<string, unknown> };

type LogRow = {
  xid: string;
  seq: string;
  type: LiveEvent['event'];
  contract_id: string | null;
  message: MessageRow | null;
  activity: ActivityRow | null;
  notification: NotificationRow | null;
  unread_messages: number | null;
};

/**
 * The user's next events after `after` (at most `limit`), each with what it refers to as it is
 * now, and the user's unread counts now. Events whose subject is gone are skipped.
 */
export async function readEvents(q: Queryable, platformId: string, userId: string, after: Position, limit: number): Promise<{ events: LiveEvent[]; position: Position }> {
  const rows = await q.query<LogRow>(
    `SELECT e.xid::text AS xid, e.seq::text AS seq, e.type, e.contract_id,
       CASE WHEN e.type = 'message' THEN (SELECT row_to_json(x) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = e.ref_id) x) END AS message,
       CASE WHEN e.type = 'activity' THEN (SELECT row_to_json(a) FROM activity a WHERE a.id = e.ref_id) END AS activity,
       CASE WHEN e.type = 'notification' THEN (SELECT row_to_json(n) FROM notifications n WHERE n.id = e.ref_id) END AS notification,
       CASE WHEN e.contract_id IS NOT NULL AND e.type IN ('message', 'read') THEN ${unreadMessagesSql('e.contract_id', '$1::text')} END AS unread_messages
     FROM live_events e
     WHERE e.user_id = $1 AND (e.xid, e.seq) > ($2::xid8, $3::bigint) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.xid, e.seq LIMIT $4`,
    [userId, after.xid, after.seq, limit],
  );
  if (rows.length === 0) return { events: [], position: after };
  const counts = await unreadCounts(q, platformId, userId);
  const unread: Unread = { notifications: counts.unreadNotifications, messages: counts.unreadMessages };
  const events: LiveEvent[] = [];
  for (const r of rows) {
    const id = formatPosition(r);
    if (r.type === 'message' && r.message) events.push({ id, event: 'message', data: { message: toMessage(r.message), unreadMessages: r.unread_messages ?? 0, unread } });
    else if (r.type === 'activity' && r.activity) events.push({ id, event: 'activity', data: { activity: toActivity(r.activity) } });
    else if (r.type === 'notification' && r.notification) events.push({ id, event: 'notification', data: { notification: toNotification(r.notification), unread } });
    else if (r.type === 'read') events.push({ id, event: 'read', data: { contractId: r.contract_id, unreadMessages: r.unread_messages, unread } });
  }
  const last = rows.at(-1)!;
  return { events, position: { xid: last.xid, seq: last.seq } };
}

/** The log is for reconnecting streams, not an archive: rows older than this are removed. */
export const LIVE_EVENT_RETENTION_MS = 7 * 24 * 3600_000;

export async function purgeLiveEvents(q: Queryable, now: Date): Promise<void> {
  await q.query(
    `DELETE FROM live_events WHERE (user_id, xid, seq) IN (SELECT user_id, xid, seq FROM live_events WHERE created_at < $1 LIMIT 5000)`,
    [new Date(now.getTime() - LIVE_EVENT_RETENTION_MS)],
  );
}
