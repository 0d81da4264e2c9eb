import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The API reference page at /docs (Scalar, served from its npm package: no CDN). Its 4 MB
 * bundle costs about 35 MB of memory once loaded, so it is loaded on the first visit, in a
 * small inner Fastify app that answers through `inject`, instead of at start.
 */
export function registerDocs(app: FastifyInstance): void {
  let inner: Promise<FastifyInstance> | null = null;
  const load = async () => {
    const { default: scalar } = await import('@scalar/fastify-api-reference');
    const f = Fastify({ logger: false });
    await f.register(scalar, { routePrefix: '/docs', configuration: { url: '/openapi.json', title: 'Tranche API' }, logLevel: 'silent' });
    await f.ready();
    return f;
  };
  const handler = async (req: { url: string; headers: Record<string, string | string[] | undefined> }, reply: import('fastify').FastifyReply) => {
    const docs = await (inner ??= load().catch((e) => {
      inner = null;
      throw e;
    }));
    const res = await docs.inject({ method: 'GET', url: req.url, headers: { accept: String(req.headers.accept ?? '*/*') } });
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined && !['content-length', 'connection', 'transfer-encoding', 'date'].includes(k)) reply.header(k, v);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  app.get('/docs', { schema: { hide: true } }, handler);
  app.get('/docs/*', { schema: { hide: true } }, handler);
}
