import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { PaymentProvider } from '../../src/payments/provider.ts';
import { startServer, type Runtime } from '../../src/server.ts';
import pino from 'pino';

export type Engine = 'pglite' | 'postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
  }
}

/** The engines this run covers: always PGlite; PostgreSQL when reachable (always under CI). */
export function engines(): Engine[] {
  return inject('postgresUrl') ? ['pglite', 'postgres'] : ['pglite'];
}

/** A fresh PostgreSQL database for one server; dropped when the server stops. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('PostgreSQL is not available');
  const name = `tranche_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
  };
}

export type TestServer = Runtime & { engine: Engine; api: Api; admin: Client; dataDir: string; databaseUrl: string | null };

/** Starts the real server on a free port, on a fresh database of the given engine. */
export async function startTestServer(engine: Engine, env: Record<string, string> = {}, opts: { provider?: PaymentProvider } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tranche-test-'));
  const db = engine === 'postgres' ? await freshDatabase() : null;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    TRANCHE_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TRANCHE_TEST_CLOCK: '1',
    TRANCHE_WORKER: '0',
    DB_POOL_SIZE: '20',
    TRANCHE_CHECK_RESPONSES: '1',
    ...(db ? { DATABASE_URL: db.url } : {}),
    ...env,
  });
  const rt = await startServer(config, { log: pino({ level: config.logLevel }), provider: opts.provider });
  const api = new Api(rt.url);
  return {
    ...rt,
    engine,
    api,
    dataDir,
    databaseUrl: db?.url ?? null,
    admin: api.as(rt.adminToken),
    stop: async () => {
      await rt.stop();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      // The OpenAPI document lists the problem codes of every operation (src/http/problems.ts).
      const undocumented = [...new Set(rt.app.undocumentedProblems)];
      if (undocumented.length) {
        throw new Error(`problem codes the OpenAPI document does not list for their route (add them to DOMAIN_PROBLEMS in src/http/problems.ts):\n${undocumented.join('\n')}`);
      }
    },
  };
}

export type Res<T = any> = { status: number; body: T; headers: Headers };

/** Real HTTP over the port. */
export class Api {
  constructor(readonly baseUrl: string) {}
  as(token: string | null, headers: Record<string, string> = {}): Client {
    return new Client(this.baseUrl, token, headers);
  }
}

export class Client {
  constructor(readonly baseUrl: string, readonly token: string | null, readonly headers: Record<string, string> = {}) {}

  actingAs(userId: string): Client {
    return new Client(this.baseUrl, this.token, { ...this.headers, 'acting-user': userId });
  }

  async req<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
    const h: Record<string, string> = { ...this.headers, ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.req<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.req<T>('POST', path, body, headers);
  }
  patch<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.req<T>('PATCH', path, body, headers);
  }
  put<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.req<T>('PUT', path, body, headers);
  }
  del<T = any>(path: string, headers?: Record<string, string>) {
    return this.req<T>('DELETE', path, undefined, headers);
  }
}

let counter = 0;
/** A new user with a token; returns an API client acting as them. */
export async function newUser(s: TestServer, name = 'user'): Promise<{ id: string; token: string; api: Client; email: string }> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${Date.now().toString(36)}-${counter++}@example.com`;
  const u = await s.admin.post('/v1/users', { email, name });
  if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.body)}`);
  const t = await s.admin.post(`/v1/users/${u.body.id}/tokens`, {});
  if (t.status !== 201) throw new Error(`create token: ${t.status} ${JSON.stringify(t.body)}`);
  return { id: u.body.id, token: t.body.token, api: s.api.as(t.body.token), email };
}

/** A client (with pm_card_ok saved) and a contractor. */
export async function newParties(s: TestServer) {
  const client = await newUser(s, 'client');
  const contractor = await newUser(s, 'contractor');
  const pm = await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' });
  if (pm.status !== 200) throw new Error(`payment method: ${pm.status}`);
  return { client, contractor };
}

/** A date `days` from the server's clock, as YYYY-MM-DD. */
export const inDays = (days: number, from = new Date()) => new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);

/** Creates a contract (by the client unless `by`) and has the other party activate it; returns its body. */
export async function liveContract(
  _s: TestServer,
  parties: { client: { id: string; api: Client }; contractor: { id: string; api: Client } },
  policy: unknown,
  milestones: { title: string; amount: number; dueDate?: string }[] = [],
  opts: { currency?: string; by?: 'client' | 'contractor' } = {},
) {
  const creator = opts.by === 'contractor' ? parties.contractor.api : parties.client.api;
  const c = await creator.post('/v1/contracts', {
    title: 'Test contract',
    clientId: parties.client.id,
    contractorId: parties.contractor.id,
    type: 'fixed',
    currency: opts.currency ?? 'USD',
    policy,
    milestones: milestones.map((m) => ({ dueDate: inDays(30), ...m })),
  });
  if (c.status !== 201) throw new Error(`create contract: ${c.status} ${JSON.stringify(c.body)}`);
  const accepter = opts.by === 'contractor' ? parties.client.api : parties.contractor.api;
  const a = await accepter.post(`/v1/contracts/${c.body.id}/activate`);
  if (a.status !== 200) throw new Error(`activate: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body;
}

/** Sets the platform's fees (admin); they apply to contracts proposed afterwards. */
export async function setPlatformFees(s: TestServer, fees: { clientBps?: number; contractorBps?: number }) {
  const r = await s.admin.patch('/v1/admin/platform', { fees });
  if (r.status !== 200) throw new Error(`platform fees: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Asserts the ledger check is clean; returns the report. */
export async function expectLedgerClean(s: TestServer) {
  const r = await s.admin.get('/v1/admin/ledger/check');
  if (r.status !== 200 || !r.body.ok) throw new Error(`ledger check failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
