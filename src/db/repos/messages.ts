import type { Queryable } from '../client.ts';
import { isoReq } from './rows.ts';

export type AttachmentRef = { id: string; filename: string; contentType: string; size: number };

export type MessageRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  author_id: string;
  body: string;
  attachment_ids: string[];
  created_at: Date | string;
  /** The attached files' metadata, in the order attached (MESSAGE_COLUMNS). */
  attachments: AttachmentRef[];
};

export type Message = { id: string; contractId: string; authorId: string; body: string; attachments: AttachmentRef[]; createdAt: string };

export const toMessage = (m: MessageRow): Message => ({
  id: m.id,
  contractId: m.contract_id,
  authorId: m.author_id,
  body: m.body,
  attachments: m.attachments,
  createdAt: isoReq(m.created_at),
});

/** A message row `m` with its attachments' metadata, in the order they were attached. */
export const MESSAGE_COLUMNS = `m.*,
  COALESCE((SELECT json_agg(json_build_object('id', f.id, 'filename', f.filename, 'contentType', f.content_type, 'size', f.size) ORDER BY a.ord)
     FROM jsonb_array_elements_text(m.attachment_ids) WITH ORDINALITY AS a(file_id, ord) JOIN files f ON f.id = a.file_id), '[]'::json) AS attachments`;

/**
 * SQL for the number of messages of contract `contract` that user `user` has not read: written by
 * the other party, after the user's read marker (ids are time-ordered). Both are SQL expressions.
 */
export const unreadMessagesSql = (contract: string, user: string) =>
  `(SELECT count(*)::int FROM messages um WHERE um.contract_id = ${contract} AND um.author_id <> ${user}
     AND um.id > COALESCE((SELECT ur.read_up_to FROM message_reads ur WHERE ur.contract_id = ${contract} AND ur.user_id = ${user}), ''))`;

/** SQL: true when user `user` has an unread message on contract `contract`. */
export const hasUnreadSql = (contract: string, user: string) =>
  `EXISTS (SELECT 1 FROM messages um WHERE um.contract_id = ${contract} AND um.author_id <> ${user}
     AND um.id > COALESCE((SELECT ur.read_up_to FROM message_reads ur WHERE ur.contract_id = ${contract} AND ur.user_id = ${user}), ''))`;

/** A page of a contract's messages: newest first older than `before`, or oldest first newer than `after`. */
export async function listMessages(q: Queryable, contractId: string, from: { before: string | null } | { after: string }, limit: number): Promise<MessageRow[]> {
  if ('after' in from) {
    return q.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.contract_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`, [contractId, from.after, limit]);
  }
  return q.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.contract_id = $1 AND ($2::text IS NULL OR m.id < $2) ORDER BY m.id DESC LIMIT $3`,
    [contractId, from.before, limit],
  );
}

export async function findMessage(q: Queryable, contractId: string, id: string): Promise<MessageRow | undefined> {
  const [row] = await q.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.contract_id = $1 AND m.id = $2`, [contractId, id]);
  return row;
}

/** Unread messages per contract for one user, for the given contracts (absent: none unread). */
export async function unreadByContract(q: Queryable, userId: string, contractIds: string[]): Promise<Map<string, number>> {
  if (contractIds.length === 0) return new Map();
  const rows = await q.query<{ id: string; n: number }>(
    `SELECT c.id, ${unreadMessagesSql('c.id', '$1')} AS n FROM unnest($2::text[]) AS c(id)`,
    [userId, contractIds],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** A user's unread counts: notifications, and messages across every contract they are a party to (or a member of its client organisation). */
export async function unreadCounts(q: Queryable, platformId: string, userId: string): Promise<{ unreadNotifications: number; unreadMessages: number }> {
  const [row] = await q.query<{ notifications: number; messages: number }>(
    `SELECT (SELECT count(*)::int FROM notifications WHERE user_id = $2 AND read_at IS NULL) AS notifications,
            (SELECT COALESCE(sum(${unreadMessagesSql('c.id', '$2')}), 0)::int FROM contracts c
              WHERE c.platform_id = $1
                AND (c.client_id = $2 OR c.contractor_id = $2 OR c.client_id IN (SELECT org_id FROM organization_members WHERE user_id = $2))
                AND EXISTS (SELECT 1 FROM messages x WHERE x.contract_id = c.id)) AS messages`,
    [platformId, userId],
  );
  return { unreadNotifications: row?.notifications ?? 0, unreadMessages: row?.messages ?? 0 };
}
