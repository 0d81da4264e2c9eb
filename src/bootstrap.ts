import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import { newId } from './domain/ids.ts';
import { hashSecret, newSecret } from './http/auth.ts';

/** The platform made at first start; every row belongs to a platform. */
export async function ensureDefaultPlatform(db: Db, now: Date): Promise<string> {
  return db.tx(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7263019)');
    const [existing] = await tx.query<{ id: string }>('SELECT id FROM platforms WHERE is_default');
    if (existing) return existing.id;
    const id = newId('platform');
    await tx.query("INSERT INTO platforms (id, name, is_default, created_at, updated_at) VALUES ($1, 'Default platform', true, $2, $2)", [id, now]);
    return id;
  });
}

/**
 * The admin token: TRANCHE_ADMIN_TOKEN if set; otherwise the one generated at first start and
 * kept in the data folder (mode 0600). Only its hash is in the database. Returns the token and
 * whether it was just generated (the caller prints it once).
 */
export async function ensureAdminToken(db: Db, config: Config, platformId: string, now: Date): Promise<{ token: string; generated: boolean; file: string | null }> {
  const file = join(config.dataDir, 'admin-token');
  let token = config.adminToken;
  let generated = false;
  if (!token) {
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
    else {
      token = newSecret('trk');
      mkdirSync(config.dataDir, { recursive: true });
      writeFileSync(file, token + '\n', { mode: 0o600 });
      generated = true;
    }
  }
  await db.query(
    `INSERT INTO api_tokens (id, platform_id, user_id, kind, name, token_hash, last_four, created_at)
     VALUES ($1, $2, NULL, 'admin', 'platform admin', $3, $4, $5) ON CONFLICT (token_hash) DO NOTHING`,
    [newId('token'), platformId, hashSecret(token), token.slice(-4), now],
  );
  return { token, generated, file: config.adminToken ? null : file };
}
