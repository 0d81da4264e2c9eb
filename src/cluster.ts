import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';

/**
 * How many processes `serve` runs: `--processes`, else TRANCHE_PROCESSES, else one per core on
 * PostgreSQL and one on the embedded database, which only one process may open.
 */
export function processCount(config: Config, flag: string | undefined): number {
  const given = flag === undefined ? config.processes : Number(flag);
  if (given !== undefined && (!Number.isInteger(given) || given < 1 || given > 256)) {
    throw new ConfigError(`Invalid option:\n  --processes: must be a whole number from 1 to 256 (got ${flag})`);
  }
  if (!config.databaseUrl) {
    if (given !== undefined && given > 1) {
      throw new ConfigError(
        `Invalid option:\n  --processes: the embedded database is opened by one process only; ${given} processes need PostgreSQL (set DATABASE_URL)`,
      );
    }
    return 1;
  }
  return given ?? availableParallelism();
}

type FromWorker = { listening: string };

/**
 * The primary of `serve --processes N`: after `prepare` (migrations, admin token, crash
 * recovery: once, before anyone serves) it forks N copies of this command, which share the port
 * (node:cluster hands connections to them in turn) and each run the worker lanes — jobs are
 * claimed with SKIP LOCKED, so N processes divide them. Resolves with the address once all N
 * listen. SIGTERM/SIGINT stop every process gracefully (each finishes its requests and jobs),
 * then this one; a process that dies after it started serving is replaced, one that dies
 * starting stops them all (exit 1).
 */
export async function runPrimary(n: number, log: Logger, prepare: () => Promise<void>): Promise<{ url: string; pids: number[] }> {
  await prepare();
  let stopping = false;
  const listening = new Set<Worker>();
  let started!: (v: { url: string; pids: number[] }) => void;
  let failed!: (e: Error) => void;
  const ready = new Promise<{ url: string; pids: number[] }>((res, rej) => ((started = res), (failed = rej)));

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(code);
    let left = workers.length;
    let worst = code;
    for (const w of workers) {
      w.once('exit', (exitCode) => {
        if (exitCode) worst = worst || 1;
        if (--left === 0) process.exit(worst);
      });
      w.process.kill('SIGTERM');
    }
  };

  const fork = () => {
    if (stopping) return;
    const w = cluster.fork();
    w.on('message', (m: FromWorker) => {
      if (!m?.listening) return;
      listening.add(w);
      if (listening.size === n) started({ url: m.listening, pids: [...listening].map((x) => x.process.pid!) });
    });
    w.on('exit', (code, signal) => {
      const served = listening.delete(w);
      if (stopping) return;
      if (!served) {
        log.error({ pid: w.process.pid, code, signal }, 'a server process exited while starting; stopping all');
        failed(new Error(`a server process exited while starting (code ${code}, signal ${signal})`));
        return stopAll(1);
      }
      log.warn({ pid: w.process.pid, code, signal }, 'a server process exited; starting another in a second');
      setTimeout(fork, 1000);
    });
  };
  for (let i = 0; i < n; i++) fork();
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  return ready;
}

/** In a forked process: tells the primary where it listens; stops gracefully when the primary goes away. */
export function reportToPrimary(url: string, stop: () => void): void {
  process.send?.({ listening: url } satisfies FromWorker);
  process.on('disconnect', stop);
}

export const isForkedServer = () => cluster.isWorker;
