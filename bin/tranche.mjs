#!/usr/bin/env node
// Runs the compiled CLI (dist/, `npm run build`) when it is there and no source file is newer
// than it; otherwise the TypeScript source through tsx, so that `npx tranche …` works without a
// build step and a stale build is never run by mistake. Either runs in this process (signals
// reach the server; `serve --processes N` forks this same script).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');
const built = join(root, 'dist', '.tsbuildinfo');

/** The newest modification time under a folder (a few hundred files: a few milliseconds). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const useCompiled = existsSync(compiled) && existsSync(built) && (!existsSync(join(root, 'src')) || statSync(built).mtimeMs >= newest(join(root, 'src')));
if (useCompiled) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
