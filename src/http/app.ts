import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import sjson from 'secure-json-parse';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { AppError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { FileStorage } from '../files/storage.ts';
import type { Deps } from '../usecases/context.ts';
import type { AdjustableClock } from '../domain/clock.ts';
import type { WorkerDeps } from '../jobs/worker.ts';
import { authenticate } from './auth.ts';
import { forgetAfterChange } from './credential-cache.ts';
import { assertSameOrigin } from './csrf.ts';
import { scanText, textProblem } from './input-text.ts';
import { problemFrom, sendProblem, toProblem } from './problem.ts';
import { describeCommonFields, markOptionalBodies, operationIdFor, pruneUnusedSchemas, withRawResponses } from './openapi.ts';
import { documentPath, documentProblems, problemCodesFor } from './problems.ts';
import type { ErrorCode } from '../domain/errors.ts';
import { createRunner } from './runner.ts';
import { registerDocs } from './docs.ts';
import { ProblemSchema } from './schemas.ts';
import { registerWeb } from './web.ts';
import { adminRoutes } from './routes/admin.ts';
import { adminTokenRoutes } from './routes/admin-tokens.ts';
import { contractRoutes } from './routes/contracts.ts';
import { hourlyRoutes } from './routes/hourly.ts';
import { disputeRoutes } from './routes/disputes.ts';
import { eventRoutes } from './routes/events.ts';
import { fileRoutes } from './routes/files.ts';
import { identityRoutes } from './routes/identity.ts';
import { messageRoutes } from './routes/messages.ts';
import { milestoneRoutes } from './routes/milestones.ts';
import { negotiationRoutes } from './routes/change-requests.ts';
import { paymentRoutes } from './routes/payments.ts';
import { payoutRoutes } from './routes/payouts.ts';
import { reconciliationRoutes } from './routes/reconciliation.ts';
import { providerRoutes } from './routes/providers.ts';
import { operatorRoutes } from './routes/operator.ts';
import { platformRoutes } from './routes/platform.ts';
import { organizationRoutes } from './routes/organizations.ts';
import { refundRequestRoutes } from './routes/refund-requests.ts';
import { peopleRoutes } from './routes/people.ts';
import { accountRoutes } from './routes/account.ts';
import { timelineRoutes } from './routes/timeline.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export const BODY_LIMIT = 256 * 1024;
export const FILE_LIMIT = 10 * 1024 * 1024;

export type AppOptions = {
  db: Db;
  deps: Deps;
  log: Logger;
  storage: FileStorage;
  /** Present only with TRANCHE_TEST_CLOCK=1: enables PUT /v1/admin/clock and POST /v1/admin/jobs/run. */
  testClock?: AdjustableClock;
  workerDeps: WorkerDeps;
  version: string;
  checkResponses?: boolean;
  /** Proxy trust, timeouts, the public URL and per-user limits, from the configuration. */
  http: HttpSettings;
};

export type HttpSettings = Pick<Config, 'trustProxy' | 'timeouts' | 'publicUrl' | 'loginLimits' | 'uploadQuota' | 'live'> & Partial<Pick<Config, 'payments'>>;

// The policy for the web app and every API answer: nothing inline, nothing from elsewhere.
// (/docs sets its own, src/http/docs.ts.)
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
};

export type App = FastifyInstance;

/**
 * One log line per request, when it is answered, with the request in it — instead of Fastify's
 * two ("incoming request", then "request completed"): at the default level the two lines were
 * 15 % of a command's server CPU and 23 % of a read's (docs/performance.md). Errors are logged
 * as Fastify logs them.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Builds the HTTP application: plugins, auth, the error mapper and every route. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { timeouts } = opts.http;
  const app = Fastify({
    loggerInstance: opts.log as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    trustProxy: opts.http.trustProxy,
    // A client that trickles its request in holds a connection: the whole request (body
    // included) must arrive within requestTimeout and its headers within headersTimeout; Node
    // checks every connectionsCheckingInterval and answers 408.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: Math.min(1000, Math.ceil(timeouts.headersMs / 4)) },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w\-.:]{1,100}$/.test(given) ? given : newId('job').replace('job_', 'req_');
    },
    requestIdHeader: false,
    logController: new OneLinePerRequest(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    // Router-level errors (a malformed percent-encoding, an over-long path parameter) are
    // problems too, not Fastify's default JSON.
    frameworkErrors: (err, req, reply) => {
      sendProblem(reply, toProblem(err, req));
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Responses are checked against their schemas in tests (TRANCHE_CHECK_RESPONSES=1); in
  // production the presenters' output is serialized as is, which is several times cheaper.
  app.setSerializerCompiler(opts.checkResponses ? serializerCompiler : () => (data) => JSON.stringify(data));

  // JSON bodies: an empty body is "no body" (commands like /approve need none); prototype
  // poisoning is refused by secure-json-parse.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      return done(new AppError('malformed_request', 'the body is not valid JSON'), undefined);
    }
    // Text PostgreSQL cannot store is refused here, naming the field, rather than failing later;
    // so is nesting no schema of ours has (this runs before authentication).
    const problem = textProblem(scanText(parsed));
    if (problem) return done(problem, undefined);
    done(null, parsed);
  });
  // The same for query strings and path parameters, which also reach SQL.
  app.addHook('preValidation', async (req) => {
    for (const part of [req.params, req.query]) {
      const problem = textProblem(scanText(part));
      if (problem) throw problem;
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    return payload;
  });

  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(cookie);
  await app.register(multipart, { limits: { fileSize: FILE_LIMIT, files: 1, fields: 5, parts: 6 } });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tranche API',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        version: opts.version,
        description:
          'Milestones and escrow for talent marketplaces. Amounts are integers in the currency’s minor unit. ' +
          'Errors are RFC 9457 problems with a stable `code`. Every POST accepts `Idempotency-Key`.',
      },
      // Relative: the document describes the server that serves it, wherever it is deployed.
      servers: [{ url: '/', description: 'The Tranche server that serves this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'tranche_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: withRawResponses(jsonSchemaTransform as never) as unknown as typeof jsonSchemaTransform,
    transformObject: (doc) =>
      documentProblems(describeCommonFields(markOptionalBodies(pruneUnusedSchemas(jsonSchemaTransformObject(doc) as object))), (path, method) => problemCodes.get(`${method} ${path}`)) as ReturnType<
        typeof jsonSchemaTransformObject
      >,
  });

  // Every API route documents its problem answers with the one Problem schema, and the codes
  // it can answer (src/http/problems.ts), by method and document path.
  const problemCodes = new Map<string, ErrorCode[]>();
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/') || !route.schema) return;
    const schema = route.schema as { operationId?: string };
    const method = Array.isArray(route.method) ? route.method[0]! : route.method;
    if (method !== 'HEAD') {
      schema.operationId ??= operationIdFor(method, route.url);
      const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
      problemCodes.set(`${method} ${documentPath(route.url)}`, problemCodesFor({ method, url: route.url, operationId: schema.operationId, isPublic }));
    }
    const response = (route.schema.response ?? {}) as Record<string, unknown>;
    route.schema.response = { ...response, '4XX': ProblemSchema, '5XX': ProblemSchema };
  });

  app.setErrorHandler((err, req, reply) => sendProblem(reply, toProblem(err, req)));
  // Tests (TRANCHE_CHECK_RESPONSES) keep that list true: a problem whose code the route does not
  // list is recorded, and the test harness fails the file that caused it.
  const undocumentedProblems: string[] = [];
  app.decorate('undocumentedProblems', undocumentedProblems);
  if (opts.checkResponses) {
    app.addHook('onSend', async (req, reply, payload) => {
      const url = req.routeOptions.url;
      if (reply.statusCode < 400 || reply.statusCode >= 500 || !url?.startsWith('/v1/') || typeof payload !== 'string') return payload;
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const listed = problemCodes.get(`${method} ${documentPath(url)}`);
      let code: unknown;
      try {
        code = (JSON.parse(payload) as { code?: unknown }).code;
      } catch {
        return payload;
      }
      if (listed && typeof code === 'string' && !listed.includes(code as ErrorCode)) undocumentedProblems.push(`${method} ${url} answered ${reply.statusCode} ${code}`);
      return payload;
    });
  }
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problemFrom('not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));

  // Cross-site requests riding the session cookie are refused before their body is read.
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/v1/')) assertSameOrigin(req, opts.http.publicUrl);
  });

  // Authentication for every /v1 route except those marked public.
  app.addHook('preHandler', async (req) => {
    if (!req.url.startsWith('/v1/') || (req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    req.principal = await authenticate(opts.db, req, opts.deps.clock.now());
  });
  // A change to this process's credentials is forgotten here before the answer leaves (other
  // processes hear of it by NOTIFY), so the caller's next request sees it.
  app.addHook('onSend', async (req, reply, payload) => {
    forgetAfterChange(opts.db, req.method, req.url, reply.statusCode);
    return payload;
  });

  const runner = createRunner(opts.db, opts.deps);
  const ctx = { ...opts, runner };
  await app.register(async (v1) => {
    identityRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    contractRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    hourlyRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    milestoneRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    negotiationRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    disputeRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    paymentRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    payoutRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    reconciliationRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    // Stripe's webhooks (their body read raw) and the contractor's payout account.
    providerRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    timelineRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    messageRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    eventRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    fileRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    adminRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    webhookRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    adminTokenRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    platformRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    operatorRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    refundRequestRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    organizationRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    peopleRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
    accountRoutes(v1.withTypeProvider<ZodTypeProvider>(), ctx);
  }, { prefix: '/v1' });

  // The pid tells which of `serve --processes N` answered (they share the port).
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', pid: process.pid }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ok = await opts.db.ping();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'database unavailable', database: opts.db.engine });
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerDocs(app as unknown as FastifyInstance);
  await registerWeb(app); // the web app (web/dist), when it has been built

  return app as unknown as FastifyInstance;
}

export type RouteContext = AppOptions & { runner: ReturnType<typeof createRunner> };
