import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db, Queryable, Tx } from '../db/client.ts';
import { AppError } from '../domain/errors.ts';
import type { Deps, Principal, UseCaseCtx } from '../usecases/context.ts';
import type { OperationRow } from '../usecases/payments/operations.ts';
import { awaitOperations, DEFAULT_PROVIDER_WAIT_MS } from '../usecases/payments/perform-operation.ts';
import { sendProblem, toProblem, type Problem } from './problem.ts';

export type Answer = {
  status: number;
  body: unknown;
  /**
   * For a command that answers with the provider's outcome: after commit, once the command's
   * provider operations were made (or the wait budget ran out), the final answer. `status` and
   * `body` are then the provisional answer (202), replayed if the process dies before the final one.
   */
  afterCommit?: (q: Queryable, operations: OperationRow[]) => Promise<Answer>;
  /** The final answer tells the provider's outcome (fund, pay): the bookings then notify nobody of it. */
  tellsOutcome?: boolean;
};
export type Handler<R extends FastifyRequest> = (ctx: UseCaseCtx, req: R) => Promise<Answer>;

const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** A provisional answer is replayed this long after the provider wait ended without a final one. */
const STALE_AFTER_WAIT_MS = 10_000;

/** A statement after commit that must not be lost to a connection cut: a few quick retries. */
async function retrying<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The claim's insert found the key taken (by an earlier request, or a concurrent twin that committed). */
const isKeyTaken = (e: unknown) =>
  typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505' && /idempotency_keys_pkey/.test(`${(e as { constraint?: string }).constraint ?? ''} ${(e as Error).message}`);

type Phases = { committed: () => void; answering: (r: FastifyReply) => FastifyReply };
const UNCOUNTED: Phases = { committed: () => undefined, answering: (r) => r };

/**
 * A Db that counts the round trips made through it (Db.roundTrips, TxOptions.onRoundTrips): those
 * of the request's command or read, and those after its commit (provider calls booked, final answer).
 */
function countRoundTrips(db: Db) {
  const counts = { command: 0, afterCommit: 0, committed: () => void (after = true) };
  let after = false;
  const add = (n: number) => {
    if (after) counts.afterCommit += n;
    else counts.command += n;
  };
  const counting: Db = {
    engine: db.engine,
    get roundTrips() {
      return db.roundTrips;
    },
    query: (sql, params) => {
      add(1);
      return db.query(sql, params);
    },
    tx: (fn, opts) => db.tx(fn, { onRoundTrips: (n) => (add(n), opts?.onRoundTrips?.(n)) }),
    ping: () => db.ping(),
    listen: (...a) => db.listen(...a),
    close: () => db.close(),
  };
  return Object.assign(counts, { db: counting });
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** JSON with object keys sorted, so that the same body always hashes the same. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * What the same Idempotency-Key must be sent with again: method, path and the body, canonically.
 * No body is the empty object: our commands read both alike, so a retry may send either.
 */
const requestHash = (req: FastifyRequest) =>
  createHash('sha256').update(`${req.method} ${req.routeOptions.url ?? ''} ${req.url}\n${canonicalJson(req.body ?? {})}`).digest('hex');

/**
 * Whose keys these are: the acting user's, whichever credential they come through (another of
 * their tokens, their session, the admin acting for them), so that a retry through another
 * credential does not run the command twice; the admin acting as itself is one scope per platform.
 */
const scopeOf = (p: Principal) => p.userId ?? 'platform-admin';

type StoredAnswer = { request_hash: string; status_code: number; response_body: unknown };

/**
 * Runs handlers in one transaction each. A POST with `Idempotency-Key` records its answer in
 * the same transaction as the command, so an acknowledged command is never lost or run twice:
 * the same key and body replays the first answer (`Idempotent-Replayed: true`), the same key
 * with another body is refused, and a concurrent twin waits on the key's row and then replays.
 */
export function createRunner(db: Db, deps: Deps) {
  // TRANCHE_DEBUG_ROUND_TRIPS=1 (the benchmark, the round-trip test): every answer of run() tells in
  // a header how many round trips to the database the request's work took (see countRoundTrips).
  const debugRoundTrips = process.env.TRANCHE_DEBUG_ROUND_TRIPS === '1';
  const principalOf = (req: FastifyRequest) => {
    if (!req.principal) throw new AppError('unauthenticated', 'authentication required');
    return req.principal;
  };

  async function run<R extends FastifyRequest>(req: R, reply: FastifyReply, fn: Handler<R>) {
    if (!debugRoundTrips) return runWith(db, req, reply, fn, UNCOUNTED);
    const counted = countRoundTrips(db);
    return runWith(counted.db, req, reply, fn, {
      committed: () => counted.committed(),
      answering: (r) => {
        r.header('tranche-round-trips', String(counted.command));
        if (counted.afterCommit) r.header('tranche-round-trips-after-commit', String(counted.afterCommit));
        return r;
      },
    });
  }

  /** run() on `db`; every answer goes out through `answering(reply)` (the round-trip headers, when asked for). */
  async function runWith<R extends FastifyRequest>(db: Db, req: R, reply: FastifyReply, fn: Handler<R>, phases: Phases) {
    const answering = phases.answering;
    const key = req.headers['idempotency-key'];
    const readOnly: Tx = {
      inTransaction: true,
      roundTrips: 0,
      query: (sql, params) => db.query(sql, params),
      batch: async (statements) => {
        const out: Record<string, unknown>[][] = [];
        for (const [sql, params] of statements) out.push(await db.query(sql, params));
        return out;
      },
    };
    try {
      const principal = principalOf(req);
      const now = deps.clock.now();
      // Provider operations the command requested; a retried transaction starts the list again.
      const operations: string[] = [];
      const exec = (tx: Tx) => {
        operations.length = 0;
        return fn({ tx, principal, deps, now, operations }, req);
      };
      // After commit: the provider calls, then the final answer of a command that waits for them.
      const finish = async (a: Answer): Promise<Answer> => {
        if (operations.length === 0) return a.afterCommit ? a.afterCommit(db, []) : a;
        const ops = await awaitOperations(db, { ...deps, log: req.log }, [...operations], a.tellsOutcome === true);
        const after = a.afterCommit;
        if (!after) return a;
        // The outcome as an answer (a decline is a problem); a lost connection is read again.
        return retrying(async () => {
          try {
            return await after(db, ops);
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            const problem = toProblem(err, req);
            return { status: problem.status, body: problem };
          }
        });
      };
      // Reads need no transaction: each of their statements is consistent on its own, and the
      // contract page's figures come from single statements. Saves BEGIN/COMMIT round trips.
      if (req.method === 'GET') {
        const a = await exec(readOnly);
        return send(answering(reply), a);
      }
      if (req.method !== 'POST' || key === undefined) {
        const a = await db.tx(exec);
        phases.committed();
        const final = await finish(a);
        return send(answering(reply), final);
      }
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new AppError('validation_failed', 'Idempotency-Key must be 1–255 visible ASCII characters', {}, [{ field: 'Idempotency-Key', message: 'is not valid' }]);
      }
      const hash = requestHash(req);
      const ids = [principal.platformId, scopeOf(principal), key];
      // Runs the command and records its answer under the key, in the command's transaction.
      const execAndRecord = async (tx: Tx) => {
        const a = await exec(tx);
        // A command waiting for the provider keeps the key "in progress" (status 0) until its
        // final answer; its provisional one is what start-up replays if the process dies first.
        const provisional = a.tellsOutcome === true && operations.length > 0;
        await tx.query('UPDATE idempotency_keys SET status_code = $4, response_body = $5, provisional_status = $6 WHERE platform_id = $1 AND principal = $2 AND key = $3', [
          ...ids, provisional ? 0 : a.status, JSON.stringify(a.body ?? null), provisional ? a.status : null,
        ]);
        return a;
      };
      let replay: StoredAnswer | undefined;
      let answer: Answer | null;
      try {
        // A new key (nearly always): claimed by a plain insert, which goes out with the command's
        // first statement (write-behind, db/client.ts); the answer's update goes with COMMIT. A
        // concurrent twin's insert waits for this transaction, then fails on the key.
        answer = await db.tx(async (tx) => {
          await tx.query('INSERT INTO idempotency_keys (platform_id, principal, key, request_hash, status_code, created_at) VALUES ($1,$2,$3,$4,0,$5)', [...ids, hash, now]);
          return execAndRecord(tx);
        });
      } catch (err) {
        if (!isKeyTaken(err)) throw err;
        // The key exists: replay its answer, or take it over if it is older than the window.
        answer = await db.tx(async (tx) => {
          const inserted = await tx.query(
            `INSERT INTO idempotency_keys (platform_id, principal, key, request_hash, status_code, created_at)
             VALUES ($1,$2,$3,$4,0,$5)
             ON CONFLICT (platform_id, principal, key) DO UPDATE
               SET request_hash = EXCLUDED.request_hash, status_code = 0, response_body = NULL, provisional_status = NULL, created_at = EXCLUDED.created_at
               WHERE idempotency_keys.created_at < $6
             RETURNING 1`,
            [...ids, hash, now, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS)],
          );
          if (inserted.length === 0) {
            // A request that waited for the provider and could not store its final answer (its
            // connection died) leaves its provisional one, replayed once the wait is long over.
            await tx.query(
              `UPDATE idempotency_keys SET status_code = provisional_status, provisional_status = NULL
               WHERE platform_id = $1 AND principal = $2 AND key = $3 AND status_code = 0 AND provisional_status IS NOT NULL AND created_at < $4`,
              [...ids, new Date(now.getTime() - (deps.providerWaitMs ?? DEFAULT_PROVIDER_WAIT_MS) - STALE_AFTER_WAIT_MS)],
            );
            [replay] = await tx.query<StoredAnswer>('SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE platform_id = $1 AND principal = $2 AND key = $3', ids);
            return null;
          }
          return execAndRecord(tx);
        });
      }
      phases.committed();
      if (replay) return sendReplay(answering(reply), replay, hash);
      if (!answer) throw new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still running; retry shortly');
      // The command is committed: whatever happens now, the caller gets an answer of it (at worst
      // the provisional one; the outcome then follows by notification).
      const final = await finish(answer).catch((err: unknown) => {
        req.log.warn({ err }, 'the provider outcome could not be read after commit; answering the provisional answer');
        return { status: answer.status, body: answer.body };
      });
      if (answer.tellsOutcome && operations.length > 0) {
        const body = final.status >= 400 ? { ...(final.body as object), instance: req.url, requestId: req.id } : final.body;
        await retrying(() =>
          db.query('UPDATE idempotency_keys SET status_code = $4, response_body = $5, provisional_status = NULL WHERE platform_id = $1 AND principal = $2 AND key = $3', [
            ...ids, final.status, JSON.stringify(body ?? null),
          ]),
        ).catch((err: unknown) => req.log.warn({ err }, 'final answer not stored; a retry replays the provisional one'));
      }
      return send(answering(reply), final);
    } catch (err) {
      const problem = toProblem(err, req);
      if (req.method === 'POST' && typeof key === 'string' && KEY_PATTERN.test(key) && req.principal && shouldRemember(problem)) {
        await rememberProblem(db, req.principal, key, req, problem, deps.clock.now()).catch(() => undefined);
      }
      return sendProblem(answering(reply), problem);
    }
  }

  async function rememberProblem(db: Db, p: Principal, key: string, req: FastifyRequest, problem: Problem, now: Date) {
    const hash = requestHash(req);
    await db.query(
      `INSERT INTO idempotency_keys (platform_id, principal, key, request_hash, status_code, response_body, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING`,
      [p.platformId, scopeOf(p), key, hash, problem.status, JSON.stringify({ ...problem, instance: req.url, requestId: req.id }), now],
    );
  }

  /** For routes that answer something other than JSON: the same context, the caller sends the reply. */
  async function within<T>(req: FastifyRequest, fn: (ctx: UseCaseCtx) => Promise<T>): Promise<T> {
    const principal = principalOf(req);
    const now = deps.clock.now();
    return db.tx((tx) => fn({ tx, principal, deps, now }));
  }

  return { run, within };
}

/**
 * Stripe's rule: a 4xx the command answered is its outcome and is replayed. Not stored: 5xx,
 * 401 and 429 (retrying later may succeed), a lost race (`conflict`) and the key's own errors.
 */
const shouldRemember = (p: Problem) =>
  p.status >= 400 && p.status < 500 && p.status !== 401 && p.status !== 429 && !['idempotency_key_reused', 'idempotency_in_progress', 'conflict'].includes(p.code);

function send(reply: FastifyReply, a: Answer) {
  if (a.status === 204) return reply.code(204).send();
  if (a.status >= 400) {
    const body = { ...(a.body as object), instance: reply.request.url, requestId: reply.request.id };
    return reply.code(a.status).type('application/problem+json').serializer(JSON.stringify).send(body);
  }
  return reply.code(a.status).send(a.body);
}

function sendReplay(reply: FastifyReply, stored: StoredAnswer, hash: string) {
  if (stored.request_hash !== hash) {
    return sendProblem(reply, toProblem(new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different request'), reply.request));
  }
  // The first request is still waiting for the provider's answer.
  if (stored.status_code === 0) {
    return sendProblem(reply, toProblem(new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still waiting for the payment provider; retry shortly'), reply.request));
  }
  reply.header('idempotent-replayed', 'true');
  const body = stored.response_body as Record<string, unknown> | null;
  if (stored.status_code >= 400) return reply.code(stored.status_code).type('application/problem+json').serializer(JSON.stringify).send(body);
  // Bypass the response schema: the body was validated when it was first sent.
  return reply.code(stored.status_code).type('application/json').serializer(JSON.stringify).send(body);
}
