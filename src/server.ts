import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ensureAdminToken, ensureDefaultPlatform } from './bootstrap.ts';
import type { Config } from './config.ts';
import { openDb, type Db } from './db/client.ts';
import { removeServerInfo, writeServerInfo } from './db/data-dir-lock.ts';
import { migrate } from './db/migrate.ts';
import { AdjustableClock, systemClock, type Clock } from './domain/clock.ts';
import { LocalFileStorage } from './files/storage.ts';
import { buildApp, type App } from './http/app.ts';
import { watchCredentials, type CredentialCache } from './http/credential-cache.ts';
import { WebhookLane } from './jobs/webhook-lane.ts';
import { startWorker, type WorkerDeps } from './jobs/worker.ts';
import { createMailer } from './notify/email.ts';
import { finishDueOperations } from './usecases/payments/perform-operation.ts';
import type { Deps } from './usecases/context.ts';
import { SandboxProvider } from './payments/sandbox.ts';
import { StripeProvider } from './payments/stripe.ts';
import { customerOf } from './usecases/payments/customers.ts';
import { SandboxStore } from './payments/reporting.ts';
import type { PaymentProvider } from './payments/provider.ts';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export type Runtime = {
  app: App;
  db: Db;
  url: string;
  /** The admin token this process knows (null: it knows none, e.g. a second process with an empty data folder). */
  adminToken: string | null;
  platformId: string;
  clock: Clock;
  log: Logger;
  /** This process's cached credentials (kept true by LISTEN; src/http/credential-cache.ts). */
  credentials: CredentialCache;
  stop(): Promise<void>;
};

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] });
}

/**
 * Starts the product: database (migrated), default platform, admin token, HTTP API on a port,
 * and (unless TRANCHE_WORKER=0) the background worker. `stop()` shuts down gracefully:
 * stop accepting, finish in-flight requests, stop the worker, close the database.
 */
export async function startServer(
  config: Config,
  opts: {
    log?: Logger;
    provider?: PaymentProvider;
    onAdminToken?: (t: string, file: string | null) => void;
    /** The primary of `serve --processes N` migrated and recovered already (prepareDeployment): skip both. */
    prepared?: boolean;
  } = {},
): Promise<Runtime> {
  const log = opts.log ?? createLogger(config);
  // Before anything is opened: a provider this version cannot run refuses the start.
  const provider = opts.provider ?? paymentProvider(config);
  const db = await openDb({ databaseUrl: config.databaseUrl, listenUrl: config.databaseListenUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, log });
  if (!opts.prepared) await migrateLogged(db, log);
  const testClock = config.testClock ? new AdjustableClock() : undefined;
  const clock: Clock = testClock ?? systemClock;
  const platformId = await ensureDefaultPlatform(db, clock.now());
  const admin = await ensureAdminToken(db, config, platformId, clock.now());
  if (admin.generated && admin.token) opts.onAdminToken?.(admin.token, admin.file);
  if (admin.envRevoked) log.warn('TRANCHE_ADMIN_TOKEN names a revoked admin token; it stays revoked: set it to a live one');

  const deps: Deps = { clock, provider, providerWaitMs: config.providerWaitMs };
  connectProvider(provider, db, clock);
  if (!opts.prepared) await recoverProviderOperations(db, deps, log);
  const workerLog = log.child({ component: 'worker' });
  const webhooks = new WebhookLane(db, { clock, log: workerLog, allowPrivate: config.webhookAllowPrivate });
  const workerDeps: WorkerDeps = { ...deps, mailer: createMailer(config.smtpUrl, config.mailFrom), log: workerLog, webhooks };
  const storage = new LocalFileStorage(join(config.dataDir, 'files'));
  const credentials = await watchCredentials(db, log);
  const app = await buildApp({ db, deps, log, storage, testClock, workerDeps, version: VERSION, checkResponses: config.checkResponses, http: config });
  const address = await app.listen({ port: config.port, host: config.host });
  const worker = config.runWorker ? startWorker(db, workerDeps) : null;
  const url = address.replace('[::1]', 'localhost');
  // The owner of an embedded data folder says where it listens, so that CLI commands write through
  // its API instead of opening the folder beside it.
  const ownsDataDir = db.engine === 'pglite';
  if (ownsDataDir) writeServerInfo(config.dataDir, { pid: process.pid, url });
  log.info({ url, database: db.engine, worker: Boolean(worker) }, 'tranche is listening');

  let stopping: Promise<void> | null = null;
  return {
    app,
    db,
    url,
    adminToken: admin.token,
    platformId,
    clock,
    log,
    credentials: credentials.cache,
    stop: () =>
      (stopping ??= (async () => {
        await app.close();
        await worker?.stop();
        await webhooks.stop();
        await credentials.stop();
        if (ownsDataDir) removeServerInfo(config.dataDir);
        await db.close();
      })()),
  };
}

async function migrateLogged(db: Db, log: Logger): Promise<void> {
  const migrated = await migrate(db);
  if (migrated.applied.length) log.info({ applied: migrated.applied }, 'migrations applied');
}

/**
 * What must happen once before the processes of `serve --processes N` start serving, done by
 * their primary: migrations, the default platform and admin token (printed when generated), and
 * the provider calls a crash cut off — the last must not run while another process serves, since
 * it turns the answers of requests still waiting into provisional ones. `then` runs on the
 * prepared database before it is closed (demo data).
 */
export async function prepareDeployment(
  config: Config,
  opts: { log: Logger; onAdminToken?: (t: string, file: string | null) => void; then?: (db: Db, platformId: string, clock: Clock) => Promise<void> },
): Promise<void> {
  const provider = paymentProvider(config);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, log: opts.log });
  try {
    await migrateLogged(db, opts.log);
    const clock = systemClock;
    const platformId = await ensureDefaultPlatform(db, clock.now());
    const admin = await ensureAdminToken(db, config, platformId, clock.now());
    if (admin.generated && admin.token) opts.onAdminToken?.(admin.token, admin.file);
    connectProvider(provider, db, clock);
    await recoverProviderOperations(db, { clock, provider, providerWaitMs: config.providerWaitMs }, opts.log);
    await opts.then?.(db, platformId, clock);
  } finally {
    await db.close();
  }
}

/**
 * Start-up: the provider calls a crash cut off between commit and call are made now (same
 * idempotency keys, so never twice), before any request is served; then the answers of
 * requests that died waiting for them become their provisional ones (202) for a retry to replay.
 */
async function recoverProviderOperations(db: Db, deps: Deps, log: Logger): Promise<void> {
  const finished = await finishDueOperations(db, deps, { pendingOnly: true });
  const [{ n } = { n: 0 }] = await db.query<{ n: number }>(
    `WITH answered AS (
       UPDATE idempotency_keys SET status_code = provisional_status, provisional_status = NULL
       WHERE status_code = 0 AND provisional_status IS NOT NULL RETURNING 1)
     SELECT count(*)::int AS n FROM answered`,
  );
  if (finished || n) log.info({ operations: finished, answers: n }, 'provider operations left by a crash finished');
}

/** The payment provider TRANCHE_PAYMENTS names (the sandbox by default; Stripe Connect with its keys). */
export function paymentProvider(config: Config): PaymentProvider {
  const p = config.payments;
  if (p.provider === 'sandbox') return new SandboxProvider();
  return new StripeProvider({ secretKey: p.secretKey, apiBase: p.apiBase });
}

/** What a provider needs of the open database: the sandbox keeps its own books, Stripe finds clients' customers. */
export function connectProvider(provider: PaymentProvider, db: Db, clock: Clock): void {
  // The sandbox keeps its own books from now on (reconciliation lists them).
  if (provider instanceof SandboxProvider) provider.keepRecords(new SandboxStore(db, clock));
  if (provider instanceof StripeProvider) provider.findCustomersWith((clientId) => customerOf(db, provider.name, clientId));
}
