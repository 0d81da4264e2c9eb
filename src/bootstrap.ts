import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from './config.ts';
import type { Db } from './db/client.ts';
import { newId } from './domain/ids.ts';
import { hashSecret, newSecret } from './http/auth.ts';
import { insertAdminToken } from './usecases/admin-tokens.ts';

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

/** Serializes admin-token bootstrap between processes starting at once on one database. */
const ADMIN_BOOTSTRAP_LOCK = 7263020;

export type AdminBootstrap = {
  /** The admin token this process knows (to print, or for tests), or null when it knows none that works. */
  token: string | null;
  /** True when the token was generated just now (the caller prints it once). */
  generated: boolean;
  /** The data-folder file the token is kept in, when it comes from there. */
  file: string | null;
  /** TRANCHE_ADMIN_TOKEN names a token that was revoked: it stays revoked. */
  envRevoked: boolean;
};

/**
 * Admin tokens at start, never minting one silently:
 * - TRANCHE_ADMIN_TOKEN set: that value is the platform's environment admin token (stored as a
 *   hash). When the value changes, the token the previous value made is revoked. A value that
 *   was revoked (by an operator) stays revoked.
 * - unset, on a database with no admin token at all (first start): one is generated, kept in
 *   the data folder (mode 0600) and printed once; a token already in that file is adopted.
 * - unset, on a database that has admin tokens: nothing is made, whatever the data folder
 *   holds. A second process with an empty data folder gets no admin token of its own.
 */
export async function ensureAdminToken(db: Db, config: Config, platformId: string, now: Date): Promise<AdminBootstrap> {
  const envToken = config.adminToken;
  if (envToken) {
    return db.tx(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_BOOTSTRAP_LOCK]);
      const [row] = await tx.query<{ id: string; kind: string; platform_id: string; origin: string | null; revoked_at: Date | null }>(
        'SELECT id, kind, platform_id, origin, revoked_at FROM api_tokens WHERE token_hash = $1',
        [hashSecret(envToken)],
      );
      if (row && (row.kind !== 'admin' || row.platform_id !== platformId)) throw new ConfigError('TRANCHE_ADMIN_TOKEN: is already the value of another token; choose a new random value');
      if (row?.revoked_at) return { token: null, generated: false, file: null, envRevoked: true };
      await tx.query("UPDATE api_tokens SET revoked_at = $2 WHERE platform_id = $1 AND origin = 'env' AND revoked_at IS NULL AND id IS DISTINCT FROM $3", [platformId, now, row?.id ?? null]);
      if (!row) await insertAdminToken(tx, platformId, { name: 'TRANCHE_ADMIN_TOKEN', origin: 'env', secret: envToken }, now);
      else if (row.origin !== 'env') await tx.query("UPDATE api_tokens SET origin = 'env' WHERE id = $1", [row.id]);
      return { token: envToken, generated: false, file: null, envRevoked: false };
    });
  }
  const file = adminTokenFile(config.dataDir);
  const kept = readAdminTokenFile(config.dataDir);
  return db.tx(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_BOOTSTRAP_LOCK]);
    const [any] = await tx.query<{ id: string }>("SELECT id FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' LIMIT 1", [platformId]);
    if (any) {
      const live = kept ? await tx.query("SELECT 1 FROM api_tokens WHERE platform_id = $1 AND kind = 'admin' AND token_hash = $2 AND revoked_at IS NULL", [platformId, hashSecret(kept)]) : [];
      return { token: live.length ? kept : null, generated: false, file: live.length ? file : null, envRevoked: false };
    }
    const token = kept ?? newSecret('trk');
    await insertAdminToken(tx, platformId, { name: 'first start', origin: 'first_start', secret: token }, now);
    // Written before the commit: a token that is in the database is always also on disk.
    if (!kept) writeAdminTokenFile(config.dataDir, token);
    return { token, generated: !kept, file, envRevoked: false };
  });
}

export const adminTokenFile = (dataDir: string) => join(dataDir, 'admin-token');

export function readAdminTokenFile(dataDir: string): string | null {
  const file = adminTokenFile(dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || null : null;
}

export function writeAdminTokenFile(dataDir: string, token: string): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(adminTokenFile(dataDir), token + '\n', { mode: 0o600 });
}
