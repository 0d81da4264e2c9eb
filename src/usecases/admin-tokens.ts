import type { Queryable, Tx } from '../db/client.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { hashSecret, newSecret } from '../http/auth.ts';

/**
 * Platform admin tokens: rows of api_tokens with kind 'admin', stored as hashes like user tokens.
 * A token's value is shown once, when it is made; lists show its last four characters only.
 */
export type AdminTokenOrigin = 'env' | 'first_start' | 'issued';

export type AdminToken = {
  id: string;
  name: string | null;
  origin: AdminTokenOrigin;
  lastFour: string;
  createdAt: string;
  revokedAt: string | null;
  /** The token that made this request. */
  current: boolean;
};

type Row = { id: string; name: string | null; origin: AdminTokenOrigin; last_four: string; created_at: Date; revoked_at: Date | null };

const present = (r: Row, currentId: string | null): AdminToken => ({
  id: r.id,
  name: r.name,
  origin: r.origin,
  lastFour: r.last_four,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  current: r.id === currentId,
});

const COLUMNS = 'id, name, origin, last_four, created_at, revoked_at';

/** Admin tokens in creation order, after the `after` id; returns up to `limit + 1` rows so the caller can page. */
export async function listAdminTokens(db: Queryable, platformId: string, opts: { limit: number; after: string | null; currentId: string | null }): Promise<AdminToken[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [platformId, opts.after, opts.limit + 1],
  );
  return rows.map((r) => present(r, opts.currentId));
}

/** The id of the admin token with this secret, if it is one (for marking `current`). */
export async function findAdminTokenId(db: Queryable, platformId: string, secret: string): Promise<string | null> {
  const [row] = await db.query<{ id: string }>("SELECT id FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' AND token_hash = $2", [platformId, hashSecret(secret)]);
  return row?.id ?? null;
}

/** Stores an admin token with a given secret (bootstrap) or a new random one; returns it with its secret, shown once. */
export async function insertAdminToken(tx: Queryable, platformId: string, input: { name: string | null; origin: AdminTokenOrigin; secret?: string }, now: Date) {
  const secret = input.secret ?? newSecret('trk');
  const [row] = await tx.query<Row>(
    `INSERT INTO api_tokens (id, platform_id, user_id, kind, name, origin, token_hash, last_four, created_at)
     VALUES ($1, $2, NULL, 'admin', $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [newId('token'), platformId, input.name, input.origin, hashSecret(secret), secret.slice(-4), now],
  );
  return { ...present(row!, null), token: secret };
}

export function createAdminToken(tx: Tx, platformId: string, name: string | null, now: Date) {
  return insertAdminToken(tx, platformId, { name, origin: 'issued' }, now);
}

/**
 * Locks the platform's admin tokens (in id order, as every writer of them does) and returns the
 * one named, live. Revoking the last live admin token is refused: nobody could then make another
 * through the API, and the database would be left to whoever next starts with an empty data folder.
 */
async function lockLive(tx: Tx, platformId: string, id: string): Promise<{ row: Row; others: number }> {
  const rows = await tx.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' AND revoked_at IS NULL ORDER BY id FOR UPDATE`, [platformId]);
  const row = rows.find((r) => r.id === id);
  if (!row) {
    const [revoked] = await tx.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' AND id = $2`, [platformId, id]);
    if (revoked) throw new AppError('invalid_state', 'the admin token is already revoked', { state: 'revoked' });
    throw notFound('admin token');
  }
  return { row, others: rows.length - 1 };
}

export async function revokeAdminToken(tx: Tx, platformId: string, id: string, now: Date): Promise<void> {
  const { others } = await lockLive(tx, platformId, id);
  if (others === 0) throw new AppError('invalid_state', 'this is the last live admin token: create another, or rotate this one, instead', { state: 'last_live' });
  await tx.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1', [id, now]);
}

/** Replaces an admin token by a new one with the same name; the old one stops working at once. */
export async function rotateAdminToken(tx: Tx, platformId: string, id: string, now: Date) {
  const { row } = await lockLive(tx, platformId, id);
  await tx.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1', [id, now]);
  return { ...(await insertAdminToken(tx, platformId, { name: row.name, origin: 'issued' }, now)), replaces: id };
}
