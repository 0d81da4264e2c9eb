/**
 * The OpenAPI document the server serves at /openapi.json, from a throw-away server on an
 * embedded database: the linter and the client generator read the same document users do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';

export async function openApiDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'tranche-openapi-'));
  const rt = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', TRANCHE_DATA_DIR: dir, LOG_LEVEL: 'silent', TRANCHE_WORKER: '0' }));
  try {
    return rt.app.swagger();
  } finally {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

