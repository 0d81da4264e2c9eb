import { ensureDefaultPlatform, readAdminTokenFile } from './bootstrap.ts';
import type { Config } from './config.ts';
import { openDb, type Db } from './db/client.ts';
import { DataDirLockedError, readServerInfo } from './db/data-dir-lock.ts';
import { migrate } from './db/migrate.ts';
import { seedDemo } from './demo.ts';
import { systemClock } from './domain/clock.ts';
import { AppError, type ErrorCode } from './domain/errors.ts';
import { SandboxProvider } from './payments/sandbox.ts';
import { createAdminToken, findAdminTokenId, listAdminTokens, revokeAdminToken, rotateAdminToken, type AdminToken } from './usecases/admin-tokens.ts';
import { createToken, createUser } from './usecases/create-user.ts';

type NewAdminToken = AdminToken & { token: string };
type Demo = { created: false } | { created: true; clientToken: string; contractorToken: string };

/**
 * What the CLI's data-changing commands do, reached one of two ways: directly on the database
 * (PostgreSQL, or an embedded folder that no process owns, opened under its lock), or through the
 * HTTP API of the server that owns an embedded folder. Never beside the owner.
 */
export interface Operator {
  readonly via: 'database' | 'api';
  createUser(input: { email: string; name: string; password?: string }): Promise<{ id: string; email: string; name: string }>;
  createToken(userId: string, name: string | null): Promise<{ id: string; token: string; userId: string; lastFour: string; createdAt: string }>;
  seedDemo(): Promise<Demo>;
  /** Every admin token, oldest first; `current` marks the one this CLI authenticates with (env or data folder). */
  listAdminTokens(): Promise<AdminToken[]>;
  createAdminToken(name: string | null): Promise<NewAdminToken>;
  revokeAdminToken(id: string): Promise<void>;
  rotateAdminToken(id: string): Promise<NewAdminToken & { replaces: string }>;
  close(): Promise<void>;
}

/** The admin token this CLI process holds: TRANCHE_ADMIN_TOKEN, else the one kept in the data folder. */
export const cliAdminToken = (cfg: Config): { token: string; source: 'env' | 'file' } | null => {
  if (cfg.adminToken) return { token: cfg.adminToken, source: 'env' };
  const kept = readAdminTokenFile(cfg.dataDir);
  return kept ? { token: kept, source: 'file' } : null;
};

/** Opens the configured database, migrated, with the default platform (under the folder's lock when embedded). */
export async function openMigrated(cfg: Config, poolSize = 2): Promise<{ db: Db; platformId: string }> {
  const db = await openDb({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize });
  try {
    await migrate(db);
    return { db, platformId: await ensureDefaultPlatform(db, systemClock.now()) };
  } catch (e) {
    await db.close();
    throw e;
  }
}

export async function openOperator(cfg: Config): Promise<Operator> {
  try {
    return directOperator(cfg, await openMigrated(cfg));
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    const server = readServerInfo(cfg.dataDir, e.pid);
    if (!server) throw e; // owned by a worker, a migration or another CLI command: refuse
    const credential = cliAdminToken(cfg);
    if (!credential) throw new Error(`A Tranche server (pid ${server.pid}) owns ${cfg.dataDir}, and no admin token is at hand to call its API: set TRANCHE_ADMIN_TOKEN.`);
    return apiOperator(server.url, credential.token);
  }
}

function directOperator(cfg: Config, { db, platformId }: { db: Db; platformId: string }): Operator {
  const now = () => systemClock.now();
  const credential = cliAdminToken(cfg);
  return {
    via: 'database',
    createUser: async (input) => {
      const u = await db.tx((tx) => createUser(tx, platformId, input, now()));
      return { id: u.id, email: u.email, name: u.name };
    },
    createToken: (userId, name) => db.tx((tx) => createToken(tx, platformId, userId, name, now())),
    seedDemo: () => seedDemo(db, platformId, systemClock, new SandboxProvider()),
    listAdminTokens: async () => {
      const currentId = credential ? await findAdminTokenId(db, platformId, credential.token) : null;
      return listAdminTokens(db, platformId, { limit: 1_000_000, after: null, currentId });
    },
    createAdminToken: (name) => db.tx((tx) => createAdminToken(tx, platformId, name, now())),
    revokeAdminToken: (id) => db.tx((tx) => revokeAdminToken(tx, platformId, id, now())),
    rotateAdminToken: (id) => db.tx((tx) => rotateAdminToken(tx, platformId, id, now())),
    close: () => db.close(),
  };
}

function apiOperator(baseUrl: string, token: string): Operator {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (res.status >= 400) {
      // The server's problem, re-raised with its code so that the CLI reports it as a direct call would.
      const p = parsed as { code?: string; detail?: string; title?: string } | null;
      throw new AppError((p?.code ?? 'internal_error') as ErrorCode, p?.detail ?? p?.title ?? `HTTP ${res.status}`);
    }
    return parsed as T;
  };
  return {
    via: 'api',
    createUser: async (input) => {
      const u = await call<{ id: string; email: string; name: string }>('POST', '/v1/users', input);
      return { id: u.id, email: u.email, name: u.name };
    },
    createToken: (userId, name) => call('POST', `/v1/users/${encodeURIComponent(userId)}/tokens`, name ? { name } : {}),
    seedDemo: () => call('POST', '/v1/admin/demo-data'),
    listAdminTokens: async () => {
      const all: AdminToken[] = [];
      for (let cursor: string | null = null; ; ) {
        const pageOf: { data: AdminToken[]; nextCursor: string | null } = await call('GET', `/v1/admin/tokens?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        all.push(...pageOf.data);
        if (!pageOf.nextCursor) return all;
        cursor = pageOf.nextCursor;
      }
    },
    createAdminToken: (name) => call('POST', '/v1/admin/tokens', name ? { name } : {}),
    revokeAdminToken: (id) => call('DELETE', `/v1/admin/tokens/${encodeURIComponent(id)}`),
    rotateAdminToken: (id) => call('POST', `/v1/admin/tokens/${encodeURIComponent(id)}/rotate`),
    close: async () => undefined,
  };
}
