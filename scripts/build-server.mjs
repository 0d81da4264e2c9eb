#!/usr/bin/env node
// `npm run build`: the server as JavaScript in dist/ (tsconfig.build.json), with the migrations
// beside the compiled migrate.js. Types are checked by `npm run typecheck` (and `npm test`); the
// build only emits (--noCheck), which takes seconds instead of half a minute.
// Usage: node scripts/build-server.mjs [outDir]   (default dist; one level below the root, like src)
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');
if (dirname(outDir) !== root) throw new Error(`the output folder must be directly in ${root} (paths are found relative to it)`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', outDir, '--tsBuildInfoFile', join(outDir, '.tsbuildinfo')], {
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
const migrations = join(outDir, 'db', 'migrations');
rmSync(migrations, { recursive: true, force: true });
cpSync(join(root, 'src', 'db', 'migrations'), migrations, { recursive: true });
