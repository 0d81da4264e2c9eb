import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` (vite build) writes the web app. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Paths that belong to the server, never to the web app's fallback. */
const SERVER_PATHS = /^\/(?:v1|docs|openapi\.json|healthz|readyz)(?:\/|$)/;

/**
 * Serves the built web app at `/`: its files as they are, and index.html for any other GET of
 * an app path (the app routes in the browser). Does nothing without a build, so the API works
 * on its own; API, docs and health paths keep their own answers (a problem for an unknown
 * route), and so does a missing file. Files are looked up per request, so a rebuild while the
 * server runs is picked up.
 */
export async function registerWeb(app: FastifyInstance, dir = WEB_DIST): Promise<void> {
  if (!existsSync(`${dir}/index.html`)) return;
  await app.register(fastifyStatic, {
    root: dir,
    serve: false, // only reply.sendFile; the one route below decides what to send
    setHeaders: (reply, path) => {
      // Vite names assets by content hash: cache them for good; always revalidate the page itself.
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', { schema: { hide: true } }, (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (SERVER_PATHS.test(path)) return reply.callNotFound();
    // A file name (with an extension) is a file of the build or a 404; `send` refuses `..` and dotfiles.
    if (/\.[a-z0-9]+$/i.test(path)) {
      let file: string;
      try {
        file = decodeURIComponent(path.slice(1));
      } catch {
        return reply.callNotFound();
      }
      return reply.sendFile(file);
    }
    return reply.sendFile('index.html');
  });
}
