import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The page's own Content-Security-Policy: Scalar styles itself inline, and the page starts it
 * with one inline script, allowed by its hash rather than by 'unsafe-inline'.
 */
function docsPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

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
    await f.register(scalar, { routePrefix: '/docs', configuration: {
        url: '/openapi.json',
        title: 'Tranche API',
        // Nothing leaves the page: no external fonts, no telemetry, no buttons to third-party
        // clients or services, no AI agent, no developer tools.
        withDefaultFonts: false,
        telemetry: false,
        hideClientButton: true,
        showDeveloperTools: 'never',
        agent: { disabled: true },
      }, logLevel: 'silent' });
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
    if (String(res.headers['content-type']).startsWith('text/html')) reply.header('content-security-policy', docsPolicy(res.payload));
    return reply.code(res.statusCode).send(res.rawPayload);
  };
  app.get('/docs', { schema: { hide: true } }, handler);
  app.get('/docs/*', { schema: { hide: true } }, handler);
}
