import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';

/** Anything that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A transaction handle. Repositories and use cases receive it explicitly; there is no ambient client. */
export interface Tx extends Queryable {
  readonly inTransaction: true;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction. On PostgreSQL a serialization failure or deadlock
   * rolls back and runs `fn` again, a bounded number of times.
   */
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  /**
   * LISTENs on a channel (notifications arrive only for committed transactions). `onReady` runs
   * once listening starts and after every reconnection, when notifications may have been missed.
   * Returns a function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReady: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

// int8 as number (amounts are validated to stay within Number.MAX_SAFE_INTEGER), numeric as
// number (only aggregates of int8 reach us as numeric), date as its 'YYYY-MM-DD' text.
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const toInt = (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`integer out of safe range: ${v}`);
  return n;
};

const RETRYABLE = new Set(['40001', '40P01']);
export const MAX_TX_ATTEMPTS = 6;

/** PostgreSQL error codes meaning the connection or server went away (not the request's fault). */
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

export function isRetryableTxError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && RETRYABLE.has((e as { code?: string }).code ?? '');
}

export function isUnavailableError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: string }).code ?? '';
  if (UNAVAILABLE.has(code)) return true;
  const msg = (e as { message?: string }).message ?? '';
  return /Connection terminated|connection.*(closed|ended)|ECONNREFUSED|ECONNRESET|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    msg,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class PgDb implements Db {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(private readonly url: string, poolSize: number, private readonly log?: Logger) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      types: {
        getTypeParser: ((oid: number, format?: string) => {
          if (oid === INT8 || oid === NUMERIC) return toInt;
          if (oid === DATE) return (v: string) => v;
          return pg.types.getTypeParser(oid, format as 'text');
        }) as typeof pg.types.getTypeParser,
      },
    });
    // A backend killed by the server emits 'error' on the idle client; the pool discards it.
    // Without this listener the process would crash.
    this.pool.on('error', (err) => this.log?.warn({ err: err.message }, 'idle database connection lost'));
    // A backend can also die while its client is checked out and between statements; pg then
    // emits 'error' on the client itself. Every client keeps a listener for its whole life so
    // that no such event can go unhandled (the statement that follows fails and answers 503).
    this.pool.on('connect', (client) => client.on('error', (err) => this.log?.debug({ err: err.message }, 'database connection lost')));
  }

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.pool.query(sql, params as unknown[]);
    return res.rows as T[];
  }

  async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      // A backend terminated while the client is checked out between two statements (e.g. while
      // the transaction awaits the payment provider) emits 'error' on the client, not on a query;
      // without a listener the process would crash. The next statement then fails as unavailable.
      const onError = (err: Error) => {
        broken = true;
        this.log?.warn({ err: err.message }, 'database connection lost inside a transaction');
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const handle: Tx = {
          inTransaction: true,
          query: async <R>(sql: string, params: readonly unknown[] = []) =>
            (await client.query(sql, params as unknown[])).rows as R[],
        };
        const result = await fn(handle);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (isUnavailableError(e)) broken = true;
        if (isRetryableTxError(e) && attempt < MAX_TX_ATTEMPTS) {
          await sleep(Math.random() * 10 * attempt);
          continue;
        }
        throw e;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** A connection of its own (a pooled one would be handed to others), reopened when it drops. */
  async listen(channel: string, onNotify: (payload: string) => void, onReady: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | null = null;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (delayMs: number) => {
      if (stopped) return;
      const c = new pg.Client({ connectionString: this.url });
      client = c;
      c.on('notification', (n) => {
        if (n.channel === channel) onNotify(n.payload ?? '');
      });
      c.on('error', (err) => {
        this.log?.warn({ err: err.message }, 'listening connection lost; reconnecting');
        c.end().catch(() => undefined);
      });
      c.on('end', () => {
        if (stopped) return;
        const next = Math.min(5000, delayMs * 2);
        retry = setTimeout(() => void connect(next), delayMs);
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        onReady();
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'cannot listen for notifications; retrying');
        c.end().catch(() => undefined);
      }
    };
    await connect(100);
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * PGlite is one connection in this process. Every statement and transaction goes through one
 * queue so that a statement can never land inside someone else's open transaction.
 */
class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pg: PGlite,
    private readonly lock: DataDirLock | null,
  ) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.exclusive(async () => (await this.pg.query<T>(sql, params as unknown[])).rows);
  }

  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive(() =>
      this.pg.transaction(async (t) => {
        const handle: Tx = {
          inTransaction: true,
          query: async <R>(sql: string, params: readonly unknown[] = []) =>
            (await t.query<R>(sql, params as unknown[])).rows,
        };
        return fn(handle);
      }),
    );
  }

  async ping(): Promise<boolean> {
    try {
      await this.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** The one connection is this process: its own transactions' notifications arrive on commit. */
  async listen(channel: string, onNotify: (payload: string) => void, onReady: () => void): Promise<() => Promise<void>> {
    const unlisten = await this.exclusive(() => this.pg.listen(channel, onNotify));
    onReady();
    return () => this.exclusive(() => unlisten()).catch(() => undefined);
  }

  async close(): Promise<void> {
    try {
      await this.exclusive(() => this.pg.close());
    } finally {
      this.lock?.release();
    }
  }
}

export type DbOptions = { databaseUrl?: string; dataDir: string; poolSize?: number; log?: Logger };

/**
 * PostgreSQL when a URL is given, otherwise embedded PGlite with its files under `<dataDir>/pgdata`.
 * An embedded folder is locked for this process until `close()`: two PGlite instances on one folder
 * each keep their own view and overwrite each other's writes, so a second opener is refused
 * (DataDirLockedError, naming the owner's pid) before PGlite starts.
 */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) return new PgDb(opts.databaseUrl, opts.poolSize ?? 10, opts.log);
  const memory = opts.dataDir === 'memory://';
  const lock = memory ? null : lockDataDir(opts.dataDir);
  try {
    const dir = memory ? 'memory://' : `${opts.dataDir}/pgdata`;
    if (!memory) mkdirSync(dir, { recursive: true });
    // Loaded only for the embedded database: a PostgreSQL deployment never pays for it.
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(dir, {
      parsers: { [INT8]: toInt, [NUMERIC]: toInt, [DATE]: (v: string) => v },
    });
    return new PgliteDb(pglite, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}
