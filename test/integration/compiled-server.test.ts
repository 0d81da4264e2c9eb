import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, freshDatabase } from '../support/harness.ts';
import { ROOT, spawnCli } from '../support/cli-server.ts';

/**
 * Production runs compiled JavaScript: `npm run build` (scripts/build-server.mjs) emits the server
 * into a folder beside src/ — here a throw-away one, so that a build under way never meets a
 * bin/tranche.mjs run by another test — and plain `node <out>/cli.js serve` (no TypeScript
 * loader: Node 20 cannot load a .ts file, so any left-over .ts import would fail the start)
 * finds its migrations and answers /readyz.
 */
const outName = `.tranche-build-${process.pid}`;
const out = join(ROOT, outName);
const dirs: string[] = [];

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build-server.mjs'), outName], { cwd: ROOT, timeout: 180_000 });
}, 200_000);
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(engines())('compiled server on %s', (engine) => {
  it('serve starts from the build, migrates, answers /readyz and stops cleanly', async () => {
    expect(existsSync(join(out, 'cli.js'))).toBe(true);
    expect(existsSync(join(out, 'db', 'migrations', '0001_identity.sql'))).toBe(true);
    const dataDir = mkdtempSync(join(tmpdir(), 'tranche-compiled-'));
    dirs.push(dataDir);
    const db = engine === 'postgres' ? await freshDatabase() : null;
    try {
      const server = await spawnCli([join(out, 'cli.js'), 'serve'], { TRANCHE_DATA_DIR: dataDir, TRANCHE_WORKER: '0', ...(db ? { DATABASE_URL: db.url } : {}) });
      try {
        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: 'ready', database: engine === 'postgres' ? 'postgres' : 'pglite' });
        // The migrations ran from the build's copy: an authenticated route reads migrated tables.
        expect((await fetch(`${server.url}/v1/me`)).status).toBe(401);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      await db?.drop();
    }
  }, 120_000);
});
