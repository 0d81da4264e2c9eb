import { mkdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { EMBEDDED_SETTINGS, seedFromTemplate } from './embedded.ts';

/** Anything that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * A transaction handle. Repositories and use cases receive it explicitly; there is no ambient client.
 *
 * Write-behind: a statement that cannot return rows (an INSERT, UPDATE or DELETE without RETURNING,
 * also behind WITH) resolves at once with `[]` and is sent without waiting for its answer; the
 * next statement that returns rows (or COMMIT) is sent behind it and waited for together with it —
 * one round trip for the batch (`BEGIN` rides with the first one too). Statements still run in
 * program order in the one transaction; what changes is where a failed write's error is thrown:
 * at the next statement that waits (or COMMIT), which then throws that first error. After a
 * `SAVEPOINT` the transaction waits for every statement, so code recovering from an error at a
 * savepoint sees it where it expects it.
 */
export interface Tx extends Queryable {
  readonly inTransaction: true;
  /** Round trips to the database so far in this transaction (a pipelined batch counts once). */
  readonly roundTrips: number;
  /**
   * Several statements, run in order, waited for together: one round trip. For reads that do not
   * depend on each other's answers (e.g. lock the contract, then its milestone).
   */
  batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]>;
}

/** A statement and its parameters. */
export type Statement = readonly [sql: string, params: readonly unknown[]];

/** Options of one `Db.tx` call. */
export type TxOptions = {
  /** Receives the transaction's round trips (BEGIN … COMMIT, every attempt) when it ends, committed or not. */
  onRoundTrips?: (n: number) => void;
};

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction. On PostgreSQL a serialization failure or deadlock
   * rolls back and runs `fn` again, a bounded number of times.
   */
  tx<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Round trips to the database since it was opened, in and out of transactions (a pipelined batch counts once). */
  readonly roundTrips: number;
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
  return /Connection terminated|connection.*(closed|ended)|ECONNREFUSED|ECONNRESET|EPIPE|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    msg,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const DML = new Set(['insert', 'update', 'delete']);
const MAIN = new Set(['select', 'insert', 'update', 'delete', 'merge', 'values', 'table']);
const rowless = new Map<string, boolean>();

/**
 * Whether a statement can never return rows: an INSERT, UPDATE or DELETE without RETURNING, or a
 * WITH whose main statement is one (its CTEs may return rows to each other). Reads the words at
 * parenthesis depth 0, skipping quoted text and comments; anything unusual counts as returning rows.
 */
export function returnsNoRows(sql: string): boolean {
  let known = rowless.get(sql);
  if (known === undefined) {
    known = classify(sql);
    if (rowless.size > 5000) rowless.clear();
    rowless.set(sql, known);
  }
  return known;
}

function classify(sql: string): boolean {
  const words: string[] = [];
  let depth = 0;
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      if (end < 0) return false;
      i = end + 1;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (ch === '$' && !/[0-9]/.test(sql[i + 1] ?? '')) {
      return false; // dollar quoting: not ours to guess
    } else if (ch === ';') {
      return false; // several statements
    } else if (ch === '(') {
      depth++;
      i++;
    } else if (ch === ')') {
      depth--;
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      if (depth === 0) words.push(sql.slice(i, j).toLowerCase());
      i = j;
    } else i++;
  }
  const first = words[0];
  let main: number;
  if (first === 'with') main = words.findIndex((w, k) => k > 0 && MAIN.has(w));
  else main = 0;
  if (main < 0 || !DML.has(words[main]!)) return false;
  return !words.slice(main).includes('returning');
}

/**
 * A transaction on one pooled connection in pipeline mode: statements that return no rows are
 * written at once and not waited for; the next statement that is waited for (a read, a write
 * with RETURNING, COMMIT) waits for them too, in order — one round trip for the batch.
 */
class PipelinedTx implements Tx {
  readonly inTransaction = true as const;
  roundTrips = 0;
  /** The first statement that failed in this transaction (until a ROLLBACK TO SAVEPOINT). */
  failure: unknown = undefined;
  private inFlight: Promise<unknown>[] = [];
  private writeBehind = true;
  private corked: Socket | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly counted: () => void,
  ) {}

  /**
   * Statements sent behind one another are held in the socket's buffer and written together when
   * the transaction next waits (or at the end of this tick): one system call per round trip
   * instead of one per statement, which was the server's largest CPU cost (docs/performance.md).
   */
  private cork(): void {
    if (this.corked) return;
    const stream = (this.client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    if (typeof stream?.cork !== 'function') return;
    stream.cork();
    this.corked = stream;
    process.nextTick(() => this.uncork());
  }

  private uncork(): void {
    const stream = this.corked;
    this.corked = null;
    stream?.uncork();
  }

  /** Writes a statement on the connection without waiting for its answer. */
  send(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult> {
    this.cork();
    const p = this.client.query(sql, params as unknown[] | undefined);
    p.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.inFlight.push(p);
    return p;
  }

  /** Sends a statement and waits for it and every statement sent before it: one round trip. */
  async wait(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult> {
    const last = this.send(sql, params);
    this.uncork();
    const batch = this.inFlight;
    this.inFlight = [];
    this.roundTrips++;
    this.counted();
    try {
      for (const p of batch) await p;
      return await last;
    } catch (err) {
      // A statement after a failed one only says the transaction is aborted: throw the cause.
      throw this.failure ?? err;
    }
  }

  async batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    if (statements.some(([sql]) => /^\s*(savepoint|rollback)\b/i.test(sql))) throw new Error('batch: no savepoints');
    const sent = statements.slice(0, -1).map(([sql, params]) => this.send(sql, params));
    const [sql, params] = statements[statements.length - 1]!;
    const last = await this.wait(sql, params);
    return [...(await Promise.all(sent)).map((r) => r.rows), last.rows];
  }

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (this.writeBehind && returnsNoRows(sql)) {
      this.send(sql, params);
      return [];
    }
    if (/^\s*savepoint\b/i.test(sql)) this.writeBehind = false;
    const res = await this.wait(sql, params);
    if (/^\s*rollback\s+to\b/i.test(sql)) this.failure = undefined;
    return res.rows as R[];
  }
}

class PgDb implements Db {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(
    url: string,
    poolSize: number,
    private readonly log?: Logger,
    /** LISTEN needs a session of its own: a direct URL when `url` goes through a transaction-mode pooler. */
    private readonly listenUrl: string = url,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      // Statements are written without waiting for the previous answer (pg's pipeline mode): the
      // transactions' write-behind (PipelinedTx) sends a batch and waits once.
      pipeline: true,
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

  roundTrips = 0;

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.roundTrips++;
    const res = await this.pool.query(sql, params as unknown[]);
    return res.rows as T[];
  }

  async tx<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    let roundTrips = 0;
    try {
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
        const tx = new PipelinedTx(client, () => this.roundTrips++);
        try {
          // BEGIN is not waited for: it goes out with the first statement that is.
          tx.send('BEGIN');
          const result = await fn(tx);
          await tx.wait('COMMIT');
          return result;
        } catch (e) {
          try {
            await tx.wait('ROLLBACK');
          } catch {
            broken = true;
          }
          // Errors in program order: a write sent before the error thrown failed first.
          const first = tx.failure ?? e;
          if (isUnavailableError(first)) broken = true;
          if (isRetryableTxError(first) && attempt < MAX_TX_ATTEMPTS) {
            await sleep(Math.random() * 10 * attempt);
            continue;
          }
          throw first;
        } finally {
          roundTrips += tx.roundTrips;
          client.removeListener('error', onError);
          client.release(broken);
        }
      }
    } finally {
      opts.onRoundTrips?.(roundTrips);
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
      const c = new pg.Client({ connectionString: this.listenUrl });
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
 * PGlite's transaction with the same write-behind as PipelinedTx: statements that return no rows
 * are queued and run just before the next statement that returns rows (or the commit), so that
 * both engines run statements in the same order and throw a failed write's error at the same
 * place. There is no network, but the round trips PostgreSQL would make are counted alike
 * (BEGIN rides with the first batch; COMMIT is one, added by PgliteDb.tx).
 */
class QueuedTx implements Tx {
  readonly inTransaction = true as const;
  roundTrips = 0;
  failure: unknown = undefined;
  private queued: { sql: string; params: readonly unknown[] }[] = [];
  private writeBehind = true;

  constructor(
    private readonly t: Transaction,
    private readonly counted: () => void,
  ) {}

  /** Runs the queued statements; true if there were any. */
  async flush(): Promise<boolean> {
    const batch = this.queued;
    this.queued = [];
    for (const q of batch) await this.run(q.sql, q.params);
    return batch.length > 0;
  }

  private async run<R>(sql: string, params: readonly unknown[]): Promise<R[]> {
    if (this.failure !== undefined) throw this.failure;
    try {
      return (await this.t.query<R>(sql, params as unknown[])).rows;
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  async batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    if (statements.some(([sql]) => /^\s*(savepoint|rollback)\b/i.test(sql))) throw new Error('batch: no savepoints');
    this.roundTrips++;
    this.counted();
    await this.flush();
    const out: Record<string, unknown>[][] = [];
    for (const [sql, params] of statements) out.push(await this.run(sql, params));
    return out;
  }

  async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (this.writeBehind && returnsNoRows(sql)) {
      this.queued.push({ sql, params });
      return [];
    }
    if (/^\s*savepoint\b/i.test(sql)) this.writeBehind = false;
    this.roundTrips++;
    this.counted();
    await this.flush();
    if (/^\s*rollback\s+to\b/i.test(sql)) {
      this.failure = undefined;
    }
    return this.run<R>(sql, params);
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

  roundTrips = 0;

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.roundTrips++;
    return this.exclusive(async () => (await this.pg.query<T>(sql, params as unknown[])).rows);
  }

  tx<T>(fn: (tx: Tx) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    let handle: QueuedTx | undefined;
    return this.exclusive(() =>
      this.pg.transaction(async (t) => {
        handle = new QueuedTx(t, () => this.roundTrips++);
        try {
          const result = await fn(handle);
          await handle.flush();
          return result;
        } catch (e) {
          // As on PostgreSQL: errors in program order (a write queued before the error thrown ran first).
          await handle.flush().catch(() => undefined);
          throw handle.failure ?? e;
        }
      }),
    ).finally(() => opts.onRoundTrips?.((handle?.roundTrips ?? 0) + 1));
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

export type DbOptions = {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  log?: Logger;
  /** A fresh embedded folder starts as a copy of the migrated template (default; src/db/embedded.ts). */
  fromTemplate?: boolean;
  /** Where LISTEN connects (DATABASE_LISTEN_URL); default databaseUrl. */
  listenUrl?: string;
};

/**
 * PostgreSQL when a URL is given, otherwise embedded PGlite with its files under `<dataDir>/pgdata`.
 * An embedded folder is locked for this process until `close()`: two PGlite instances on one folder
 * each keep their own view and overwrite each other's writes, so a second opener is refused
 * (DataDirLockedError, naming the owner's pid) before PGlite starts.
 */
export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) return new PgDb(opts.databaseUrl, opts.poolSize ?? 10, opts.log, opts.listenUrl);
  const memory = opts.dataDir === 'memory://';
  const lock = memory ? null : lockDataDir(opts.dataDir);
  try {
    const dir = memory ? 'memory://' : `${opts.dataDir}/pgdata`;
    if (!memory) mkdirSync(dir, { recursive: true });
    if (!memory && opts.fromTemplate !== false) await seedFromTemplate(dir, opts.log);
    // Loaded only for the embedded database: a PostgreSQL deployment never pays for it.
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(dir, {
      parsers: { [INT8]: toInt, [NUMERIC]: toInt, [DATE]: (v: string) => v },
      startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS],
    });
    return new PgliteDb(pglite, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}
