import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` (vite build) writes the web app. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Paths that belong to the server, never to the web app's fallback. */
const SERVER_PATHS = /^\/(?:v1|docs|openapi\.json|healthz|readyz)(?:[/?#]|$)/;

/**
 * Serves the built web app at `/`: its files as they are, and index.html for any other GET of
 * an app path (the app routes in the browser). Does nothing without a build, so the API works
 * on its own; API, docs and health paths keep their own answers (a problem for an unknown route).
 */
export async function registerWeb(app: FastifyInstance, dir = WEB_DIST): Promise<void> {
  if (!existsSync(`${dir}/index.html`)) return;
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false, // one route per built file (the build is fixed at start); the fallback below takes the rest
    index: ['index.html'],
    setHeaders: (reply, path) => {
      // Vite names assets by content hash: cache them for good; always revalidate the page itself.
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', { schema: { hide: true } }, (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    // API and server paths, and missing files (a name with an extension), stay 404 problems.
    if (SERVER_PATHS.test(path) || /\.[a-z0-9]+$/i.test(path)) return reply.callNotFound();
    return reply.sendFile('index.html');
  });
}
