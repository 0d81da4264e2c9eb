import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.ts';
import { openDb } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { ensureAdminToken, ensureDefaultPlatform } from './bootstrap.ts';
import { DEMO_CLIENT, DEMO_CONTRACTOR, DEMO_PASSWORD, seedDemo } from './demo.ts';
import { systemClock } from './domain/clock.ts';
import { AppError } from './domain/errors.ts';
import { WebhookLane } from './jobs/webhook-lane.ts';
import { startWorker } from './jobs/worker.ts';
import { createMailer } from './notify/email.ts';
import { SandboxProvider } from './payments/sandbox.ts';
import { createLogger, startServer, VERSION } from './server.ts';
import { createToken, createUser } from './usecases/create-user.ts';

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

/** Opens the configured database, migrated, with the default platform. */
async function openMigrated() {
  const cfg = config();
  const db = await openDb({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2 });
  await migrate(db);
  const platformId = await ensureDefaultPlatform(db, systemClock.now());
  return { cfg, db, platformId };
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
  .action(async (opts: { demo?: boolean }) => {
    const cfg = config();
    const rt = await startServer(cfg, { onAdminToken: printAdminToken });
    if (opts.demo) {
      const seeded = await seedDemo(rt.db, rt.platformId, rt.clock, new SandboxProvider());
      if (seeded.created) {
        out('  Demo data: three contracts between');
        out(`    client      ${DEMO_CLIENT}  token ${seeded.clientToken}`);
        out(`    contractor  ${DEMO_CONTRACTOR}  token ${seeded.contractorToken}`);
        out(`    password for both: ${DEMO_PASSWORD}`);
        out('');
      }
    }
    out(`  Tranche ${VERSION} on ${rt.url}  (database: ${rt.db.engine})`);
    if (existsSync(new URL('../web/dist/index.html', import.meta.url))) out(`    Web app        ${rt.url}/`);
    out(`    API reference  ${rt.url}/docs`);
    out(`    OpenAPI        ${rt.url}/openapi.json`);
    out('    Try:  curl -H "Authorization: Bearer <token>" ' + rt.url + '/v1/me');
    out('');
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      rt.log.info({ signal }, 'shutting down');
      rt.stop().then(
        () => process.exit(0),
        (err) => {
          rt.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

program
  .command('worker')
  .description('run only the background worker (outbox, timers)')
  .action(async () => {
    const { cfg, db } = await openMigrated();
    const log = createLogger(cfg);
    const webhooks = new WebhookLane(db, { clock: systemClock, log, allowPrivate: cfg.webhookAllowPrivate });
    const w = startWorker(db, { clock: systemClock, provider: new SandboxProvider(), mailer: createMailer(cfg.smtpUrl, cfg.mailFrom), log, webhooks });
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
    const { db, platformId } = await openMigrated();
    const u = await db.tx((tx) => createUser(tx, platformId, o, systemClock.now()));
    out(JSON.stringify({ id: u.id, email: u.email, name: u.name }));
    await db.close();
  });

const tokens = program.command('tokens').description('manage API tokens');
tokens
  .command('create')
  .requiredOption('--user <userId>')
  .option('--name <name>')
  .action(async (o: { user: string; name?: string }) => {
    const { db, platformId } = await openMigrated();
    const t = await db.tx((tx) => createToken(tx, platformId, o.user, o.name ?? null, systemClock.now()));
    out(JSON.stringify(t));
    await db.close();
  });
tokens
  .command('admin')
  .description('print where the admin token is (generating it if needed)')
  .action(async () => {
    const { cfg, db, platformId } = await openMigrated();
    const a = await ensureAdminToken(db, cfg, platformId, systemClock.now());
    out(a.file ? `admin token file: ${a.file}` : 'admin token comes from TRANCHE_ADMIN_TOKEN');
    await db.close();
  });

program
  .command('seed-demo')
  .description('create demo users and contracts')
  .action(async () => {
    const { db, platformId } = await openMigrated();
    const r = await seedDemo(db, platformId, systemClock, new SandboxProvider());
    out(r.created ? JSON.stringify({ client: DEMO_CLIENT, contractor: DEMO_CONTRACTOR, password: DEMO_PASSWORD, clientToken: r.clientToken, contractorToken: r.contractorToken }) : 'demo data already present');
    await db.close();
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof AppError) process.stderr.write(`${err.code}: ${err.message}\n`);
  else process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
