import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

/**
 * The embedded database's PostgreSQL settings: PGlite's own start parameters plus a smaller buffer
 * pool. The buffer pool lives in the WebAssembly memory, which never shrinks, so PostgreSQL's
 * default 128 MB becomes resident once the data outgrows it; the files are in the operating
 * system's page cache anyway, so a buffer miss costs a read() from memory, not a disk access.
 */
export const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=32MB', '-c', 'temp_buffers=4MB', '-c', 'max_connections=8'];

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Where migrated templates are kept: `$XDG_CACHE_HOME/tranche` or `~/.cache/tranche`. */
const cacheRoot = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tranche');

/** A template is good for one PGlite version and one set of migrations. */
function templateKey(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'), 'utf8')) as { version: string };
  const h = createHash('sha256').update(`pglite ${pkg.version}\n`);
  for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) h.update(`${f}\n`).update(readFileSync(join(MIGRATIONS_DIR, f)));
  return h.digest('hex').slice(0, 20);
}

/**
 * A fresh embedded data folder starts as a copy of a migrated template instead of running initdb
 * and every migration (initdb alone is about 10 s of CPU in WebAssembly, and its second PGlite
 * instance stays in memory for the life of the process: +450 MB). The template is made once per
 * PGlite version and set of migrations, in a child process (so none of that memory is ours):
 * a PGlite data folder, migrated, shut down cleanly; a cleanly shut down PostgreSQL data folder
 * can be copied. Returns false (the caller initdbs as before) when no template can be made, e.g.
 * the cache folder is not writable.
 */
export async function seedFromTemplate(pgdata: string, log?: Logger): Promise<boolean> {
  if (existsSync(join(pgdata, 'PG_VERSION'))) return false; // not fresh
  try {
    const template = join(cacheRoot(), `pglite-${templateKey()}`);
    if (!existsSync(join(template, 'PG_VERSION'))) await buildTemplate(template, log);
    cpSync(template, pgdata, { recursive: true });
    return true;
  } catch (err) {
    log?.warn({ err: (err as Error).message }, 'no embedded database template; creating the database from scratch');
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { recursive: true });
    return false;
  }
}

async function buildTemplate(template: string, log?: Logger): Promise<void> {
  const work = `${template}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  log?.info({ template }, 'making the embedded database template (once per version)');
  const self = fileURLToPath(import.meta.url);
  const loader = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const script = join(dirname(self), `embedded-template${self.endsWith('.ts') ? '.ts' : '.js'}`);
  try {
    await promisify(execFile)(process.execPath, [...loader, script, work], { timeout: 300_000, maxBuffer: 10 * 1024 * 1024 });
    try {
      renameSync(join(work, 'pgdata'), template);
    } catch (e) {
      // Another process made it meanwhile: theirs is as good as ours.
      if (!existsSync(join(template, 'PG_VERSION'))) throw e;
    }
    // Templates of other versions are a cache (about 40 MB each): made again if ever needed.
    const root = dirname(template);
    for (const f of readdirSync(root)) if (f.startsWith('pglite-') && !f.includes('.tmp-') && join(root, f) !== template) rmSync(join(root, f), { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
