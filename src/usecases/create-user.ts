import { hash as argonHash } from '@node-rs/argon2';
import type { Tx } from '../db/client.ts';
import { findUser, findUserByEmail, normalizeEmail, type UserRow } from '../db/repos/users.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { hashSecret, newSecret } from '../http/auth.ts';
import { assertExternalIdFree } from './operator-fields.ts';

/** Creates a user of a platform; the password (optional: API-only users have none) is hashed with argon2id. */
export async function createUser(tx: Tx, platformId: string, input: { email: string; name: string; password?: string; externalId?: string; metadata?: Record<string, string> }, now: Date): Promise<UserRow> {
  await assertExternalIdFree(tx, 'user', platformId, input.externalId);
  if (await findUserByEmail(tx, platformId, input.email)) {
    throw new AppError('email_taken', 'a user with this email already exists', {}, [{ field: 'email', message: 'is taken' }]);
  }
  const passwordHash = input.password ? await argonHash(input.password) : null;
  const [row] = await tx.query<UserRow>(
    `INSERT INTO users (id, platform_id, email, email_normalized, name, password_hash, created_at, updated_at, external_id, metadata)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$7,$8,$9) RETURNING *`,
    [newId('user'), platformId, input.email.trim(), normalizeEmail(input.email), input.name, passwordHash, now, input.externalId ?? null, JSON.stringify(input.metadata ?? {})],
  );
  return row!;
}

/** Issues an API token for a user. The secret is returned once; only its hash is stored. */
export async function createToken(tx: Tx, platformId: string, userId: string, name: string | null, now: Date) {
  if (!(await findUser(tx, platformId, userId))) throw notFound('user');
  const secret = newSecret('trk');
  const id = newId('token');
  await tx.query(`INSERT INTO api_tokens (id, platform_id, user_id, kind, name, token_hash, last_four, created_at) VALUES ($1,$2,$3,'user',$4,$5,$6,$7)`, [
    id, platformId, userId, name, hashSecret(secret), secret.slice(-4), now,
  ]);
  return { id, token: secret, userId, lastFour: secret.slice(-4), createdAt: now.toISOString() };
}
