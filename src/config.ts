import { resolve } from 'node:path';
import { z } from 'zod';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_LISTEN_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  TRANCHE_DATA_DIR: z.string().min(1).default('./.tranche'),
  TRANCHE_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  LOG_LEVEL: LogLevel.default('info'),
  TRANCHE_TEST_CLOCK: z.enum(['0', '1']).default('0'),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  MAIL_FROM: z.string().min(3).default('Tranche <no-reply@tranche.local>'),
  TRANCHE_WORKER: z.enum(['0', '1']).default('1'),
  TRANCHE_PUBLIC_URL: z.string().url().optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  TRANCHE_PROCESSES: z.coerce.number().int().min(1).max(256).optional(),
  TRANCHE_CHECK_RESPONSES: z.enum(['0', '1']).default('0'),
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, 'must be true, false or a comma-separated list of addresses/CIDRs')
    // A hop count trusts whoever connects directly as a proxy: anyone reaching the port could
    // forge X-Forwarded-For (Fastify refuses hop counts for this reason).
    .refine((v) => !/^\d+$/.test(v), 'a hop count is not accepted: name the proxies (addresses or CIDRs)')
    .default('false'),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  UPLOAD_FILES_PER_DAY: z.coerce.number().int().min(1).default(200),
  UPLOAD_BYTES_PER_DAY: z.coerce.number().int().min(1).default(500 * 1024 * 1024),
  TRANCHE_WEBHOOK_ALLOW_PRIVATE: z.enum(['0', '1']).default('0'),
  LIVE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  LIVE_STREAMS_PER_USER: z.coerce.number().int().min(1).max(100).default(5),
  TRANCHE_PROVIDER_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(8000),
  TRANCHE_PAYMENTS: z.enum(['sandbox', 'stripe']).default('sandbox'),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)').optional(),
  // Comma-separated when two endpoints deliver to the same URL (the platform's and Connect's events).
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]+(,whsec_[A-Za-z0-9+/=]+)*$/, 'must be a webhook signing secret (whsec_…), or several separated by commas').optional(),
  STRIPE_API_BASE: z.string().regex(/^https?:\/\/[^/\s]+(:\d+)?\/?$/, 'must be an http(s) base URL such as https://api.stripe.com').optional(),
});

/** Which payment provider: the built-in sandbox, or Stripe Connect with its keys. */
export type PaymentsConfig =
  | { provider: 'sandbox' }
  | { provider: 'stripe'; secretKey: string; webhookSecrets: string[]; apiBase: string | undefined };

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** A direct connection for LISTEN when DATABASE_URL goes through a transaction-mode pooler (PgBouncer). */
  databaseListenUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  logLevel: z.infer<typeof LogLevel>;
  testClock: boolean;
  smtpUrl: string | undefined;
  mailFrom: string;
  runWorker: boolean;
  publicUrl: string | undefined;
  dbPoolSize: number;
  /** `serve`'s processes sharing the port (`--processes` wins); unset: one per core on PostgreSQL, one embedded. */
  processes: number | undefined;
  /** Validate every response body against its schema (the test suite does; costs CPU per request). */
  checkResponses: boolean;
  /** Fastify's trustProxy: whose X-Forwarded-Proto/For/Host to believe (false: nobody's). */
  trustProxy: boolean | string;
  /** Slow clients: whole request, headers, idle keep-alive connection, idle socket. */
  timeouts: { requestMs: number; headersMs: number; keepAliveMs: number; idleMs: number };
  /** Failed logins allowed per account and per client address within a window, counted in the database. */
  loginLimits: { perAccount: number; perAddress: number; windowSeconds: number };
  /** Uploads per user over the last 24 hours. */
  uploadQuota: { files: number; bytes: number };
  /** Let webhooks go to loopback, private and other non-public addresses (development only). */
  webhookAllowPrivate: boolean;
  /** GET /v1/events: a comment line this often keeps proxies from closing idle streams; open streams per user and process. */
  live: { heartbeatMs: number; streamsPerUser: number };
  /** How long a command (fund, pay) waits for the payment provider's answer after commit before answering 202. */
  providerWaitMs: number;
  payments: PaymentsConfig;
};

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value stops start-up with a message naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) throw new ConfigError('Invalid configuration:\n  HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS');
  // Stripe needs both keys: without the webhook secret no event could be verified.
  const missing = e.TRANCHE_PAYMENTS === 'stripe' ? (['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const).filter((k) => !e[k]) : [];
  if (missing.length) throw new ConfigError(`Invalid configuration:\n${missing.map((k) => `  ${k}: is required when TRANCHE_PAYMENTS=stripe`).join('\n')}`);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseListenUrl: e.DATABASE_LISTEN_URL,
    dataDir: resolve(e.TRANCHE_DATA_DIR),
    adminToken: e.TRANCHE_ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    testClock: e.TRANCHE_TEST_CLOCK === '1',
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    runWorker: e.TRANCHE_WORKER === '1',
    publicUrl: e.TRANCHE_PUBLIC_URL,
    dbPoolSize: e.DB_POOL_SIZE,
    processes: e.TRANCHE_PROCESSES,
    checkResponses: e.TRANCHE_CHECK_RESPONSES === '1',
    trustProxy: e.TRUST_PROXY === 'true' ? true : e.TRUST_PROXY === 'false' ? false : e.TRUST_PROXY,
    timeouts: { requestMs: e.REQUEST_TIMEOUT_MS, headersMs: e.HEADERS_TIMEOUT_MS, keepAliveMs: e.KEEP_ALIVE_TIMEOUT_MS, idleMs: e.IDLE_TIMEOUT_MS },
    loginLimits: { perAccount: e.LOGIN_FAILURES_PER_ACCOUNT, perAddress: e.LOGIN_FAILURES_PER_ADDRESS, windowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS },
    uploadQuota: { files: e.UPLOAD_FILES_PER_DAY, bytes: e.UPLOAD_BYTES_PER_DAY },
    webhookAllowPrivate: e.TRANCHE_WEBHOOK_ALLOW_PRIVATE === '1',
    live: { heartbeatMs: e.LIVE_HEARTBEAT_MS, streamsPerUser: e.LIVE_STREAMS_PER_USER },
    providerWaitMs: e.TRANCHE_PROVIDER_WAIT_MS,
    payments:
      e.TRANCHE_PAYMENTS === 'stripe'
        ? { provider: 'stripe', secretKey: e.STRIPE_SECRET_KEY!, webhookSecrets: e.STRIPE_WEBHOOK_SECRET!.split(','), apiBase: e.STRIPE_API_BASE }
        : { provider: 'sandbox' },
  };
}
