import { existsSync, rmSync } from 'node:fs';
import { Command } from 'commander';
import { adminTokenFile, writeAdminTokenFile } from './bootstrap.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDb } from './db/client.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { migrate } from './db/migrate.ts';
import { DEMO_CLIENT, DEMO_CONTRACTOR, DEMO_PASSWORD, seedDemo } from './demo.ts';
import { systemClock } from './domain/clock.ts';
import { AppError } from './domain/errors.ts';
import { WebhookLane } from './jobs/webhook-lane.ts';
import { startWorker } from './jobs/worker.ts';
import { createMailer } from './notify/email.ts';
import { cliAdminToken, openMigrated, openOperator, type Operator } from './operator.ts';
import { SandboxProvider } from './payments/sandbox.ts';
import { connectProvider, createLogger, paymentProvider, prepareDeployment, startServer, VERSION } from './server.ts';
import { isForkedServer, processCount, reportToPrimary, runPrimary } from './cluster.ts';
import type { Db } from './db/client.ts';
import type { Clock } from './domain/clock.ts';
import type { Logger } from 'pino';

const out = (s: string) => process.stdout.write(s + '\n');

function config() {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      process.exit(2);
    }
    throw e;
  }
}

/**
 * Runs a data-changing command: directly on the database, or through the API of the server that
 * owns the embedded data folder (src/operator.ts). Says which, on stderr.
 */
async function operate(fn: (op: Operator) => Promise<unknown>) {
  const op = await openOperator(config());
  if (op.via === 'api') process.stderr.write('(through the running server\'s API)\n');
  try {
    await fn(op);
  } finally {
    await op.close();
  }
}

function printAdminToken(token: string, file: string | null) {
  out('');
  out('  Admin token (shown once' + (file ? `; kept in ${file}` : '') + '):');
  out(`    ${token}`);
  out('');
}

const program = new Command().name('tranche').description('Milestones and escrow for talent marketplaces').version(VERSION);

program
  .command('serve')
  .description('start the API (and the worker unless TRANCHE_WORKER=0)')
  .option('--demo', 'seed demo data on first start')
  .option('--processes <n>', 'processes sharing the port, each with its worker (default: one per core on PostgreSQL, one on the embedded database; TRANCHE_PROCESSES)')
  .action(async (opts: { demo?: boolean; processes?: string }) => {
    const cfg = config();
    if (isForkedServer()) {
      // One of `--processes N`: the primary migrated, recovered and seeded; serve until told to stop.
      const rt = await startServer(cfg, { prepared: true });
      onSignals(rt.log, rt.stop);
      reportToPrimary(rt.url, () => stopThen(rt.log, rt.stop));
      return;
    }
    let n: number;
    try {
      n = processCount(cfg, opts.processes);
    } catch (e) {
      process.stderr.write((e as Error).message + '\n');
      process.exit(2);
    }
    const demo = async (db: Db, platformId: string, clock: Clock) => {
      const seeded = await seedDemo(db, platformId, clock, new SandboxProvider());
      if (seeded.created) {
        out('  Demo data: three contracts between');
        out(`    client      ${DEMO_CLIENT}  token ${seeded.clientToken}`);
        out(`    contractor  ${DEMO_CONTRACTOR}  token ${seeded.contractorToken}`);
        out(`    password for both: ${DEMO_PASSWORD}`);
        out('');
      }
    };
    let url: string;
    let engine: string;
    if (n > 1) {
      const log = createLogger(cfg);
      const started = await runPrimary(n, log, () => prepareDeployment(cfg, { log, onAdminToken: printAdminToken, then: opts.demo ? demo : undefined }));
      url = started.url;
      engine = 'postgres';
      out(`  ${n} processes share the port (pids ${started.pids.join(', ')}; /healthz says which answered)`);
    } else {
      const rt = await startServer(cfg, { onAdminToken: printAdminToken });
      if (opts.demo) await demo(rt.db, rt.platformId, rt.clock);
      onSignals(rt.log, rt.stop);
      url = rt.url;
      engine = rt.db.engine;
    }
    out(`  Tranche ${VERSION} on ${url}  (database: ${engine})`);
    if (existsSync(new URL('../web/dist/index.html', import.meta.url))) out(`    Web app        ${url}/`);
    out(`    API reference  ${url}/docs`);
    out(`    OpenAPI        ${url}/openapi.json`);
    out('    Try:  curl -H "Authorization: Bearer <token>" ' + url + '/v1/me');
    out('');
  });

/** Stops gracefully once (a second signal while stopping changes nothing), then exits. */
function stopThen(log: Logger, stop: () => Promise<void>, signal?: string) {
  log.info({ signal }, 'shutting down');
  stop().then(
    () => process.exit(0),
    (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

function onSignals(log: Logger, stop: () => Promise<void>) {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    stopThen(log, stop, signal);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

program
  .command('worker')
  .description('run only the background worker (outbox, timers)')
  .action(async () => {
    const cfg = config();
    const { db } = await openMigrated(cfg);
    const log = createLogger(cfg);
    const webhooks = new WebhookLane(db, { clock: systemClock, log, allowPrivate: cfg.webhookAllowPrivate });
    // The provider TRANCHE_PAYMENTS names, as the server's (the worker settles its operations and applies its events).
    const provider = paymentProvider(cfg);
    connectProvider(provider, db, systemClock);
    const w = startWorker(db, { clock: systemClock, provider, mailer: createMailer(cfg.smtpUrl, cfg.mailFrom), log, webhooks });
    log.info('worker started');
    const stop = () => w.stop().then(() => db.close()).then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('migrate')
  .description('apply database migrations')
  .action(async () => {
    const cfg = config();
    const db = await openDb({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 1 });
    const r = await migrate(db);
    out(r.applied.length ? `applied: ${r.applied.join(', ')}` : `up to date (${r.current})`);
    await db.close();
  });

const users = program.command('users').description('manage users');
users
  .command('create')
  .requiredOption('--email <email>')
  .requiredOption('--name <name>')
  .option('--password <password>')
  .action(async (o: { email: string; name: string; password?: string }) => {
    await operate(async (op) => out(JSON.stringify(await op.createUser(o))));
  });

const tokens = program.command('tokens').description('manage API tokens');
tokens
  .command('create')
  .requiredOption('--user <userId>')
  .option('--name <name>')
  .action(async (o: { user: string; name?: string }) => {
    await operate(async (op) => out(JSON.stringify(await op.createToken(o.user, o.name ?? null))));
  });

const adminTokens = tokens.command('admin').description('platform admin tokens (stored as hashes; values are shown once)');
adminTokens
  .command('list')
  .description('list admin tokens (never their values); * marks the one this CLI holds')
  .option('--json', 'one JSON array')
  .action(async (o: { json?: boolean }) =>
    operate(async (op) => {
      const list = await op.listAdminTokens();
      if (o.json) return out(JSON.stringify(list));
      for (const t of list) {
        out(`${t.current ? '*' : ' '} ${t.id}  …${t.lastFour}  ${t.origin.padEnd(11)} ${t.revokedAt ? `revoked ${t.revokedAt}` : 'live'.padEnd(32)}  ${t.name ?? ''}`);
      }
    }),
  );
adminTokens
  .command('create')
  .description('create an admin token (printed once)')
  .option('--name <name>')
  .action(async (o: { name?: string }) => operate(async (op) => out(JSON.stringify(await op.createAdminToken(o.name ?? null)))));
adminTokens
  .command('revoke')
  .description('revoke an admin token (not the last live one)')
  .argument('<id>', 'token id (tok_…)')
  .action(async (id: string) =>
    operate(async (op) => {
      const held = await heldTokenId(op);
      await op.revokeAdminToken(id);
      out(JSON.stringify({ revoked: id }));
      // The data folder's copy of a revoked token is of no use to anyone: remove it.
      if (held === id) rmSync(adminTokenFile(config().dataDir), { force: true });
    }),
  );
adminTokens
  .command('rotate')
  .description('replace an admin token by a new one (printed once); the old one stops working at once')
  .argument('<id>', 'token id (tok_…)')
  .action(async (id: string) =>
    operate(async (op) => {
      const held = await heldTokenId(op);
      const t = await op.rotateAdminToken(id);
      // Rotating the token kept in the data folder keeps the folder's copy current.
      if (held === id) writeAdminTokenFile(config().dataDir, t.token);
      out(JSON.stringify(t));
    }),
  );

/** The id of the admin token kept in the data folder, when that is the one this CLI holds. */
async function heldTokenId(op: Operator): Promise<string | null> {
  if (cliAdminToken(config())?.source !== 'file') return null;
  return (await op.listAdminTokens()).find((t) => t.current)?.id ?? null;
}

program
  .command('seed-demo')
  .description('create demo users and contracts')
  .action(async () => {
    await operate(async (op) => {
      const r = await op.seedDemo();
      out(r.created ? JSON.stringify({ client: DEMO_CLIENT, contractor: DEMO_CONTRACTOR, password: DEMO_PASSWORD, clientToken: r.clientToken, contractorToken: r.contractorToken }) : 'demo data already present');
    });
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof DataDirLockedError) process.stderr.write(err.message + '\n');
  else if (err instanceof AppError) process.stderr.write(`${err.code}: ${err.message}\n`);
  else process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
