/**
 * What the embedded database keeps when its process is killed: a child commits rows one by one on
 * PGlite (through src/db/client.ts, as the server does) and acknowledges each commit on stdout;
 * the parent kills it with SIGKILL at once after a random number of acknowledgements, reopens the
 * folder and counts the acknowledged rows that survived.
 *
 *   npx tsx bench/pglite-durability.ts [trials=10]
 *
 * This measures a process crash only. PGlite runs PostgreSQL with fsync off (`-F` in its start
 * parameters) and its Node file system has no fsync either: a commit is written to the operating
 * system's page cache, never forced to the disk. A power loss or kernel crash can lose the last
 * seconds of commits or leave the files inconsistent; no test on a running machine can show that.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/db/client.ts';

async function child(dir: string) {
  const db = await openDb({ dataDir: dir });
  await db.query('CREATE TABLE IF NOT EXISTS acked (n integer PRIMARY KEY, pad text NOT NULL)');
  for (let n = 1; ; n++) {
    await db.tx((tx) => tx.query('INSERT INTO acked (n, pad) VALUES ($1, $2)', [n, 'x'.repeat(200)]));
    // Writes to a pipe are synchronous on Linux: the parent never hears of a commit that did not return.
    process.stdout.write(`${n}\n`);
  }
}

async function trial(killAfter: number): Promise<{ acked: number; survived: number; lost: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tranche-durability-'));
  try {
    const proc = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    let buf = '';
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    proc.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) acked = Math.max(acked, Number(l));
      if (acked >= killAfter) proc.kill('SIGKILL');
    });
    await exited;
    const db = await openDb({ dataDir: dir }); // the dead child's lock is gone with it
    const [row] = await db.query<{ n: number }>('SELECT count(*) AS n FROM acked WHERE n <= $1', [acked]);
    await db.close();
    return { acked, survived: row!.n, lost: acked - row!.n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv[3]!);
} else {
  const trials = Number(process.argv[2] ?? 10);
  let acked = 0;
  let lost = 0;
  for (let i = 1; i <= trials; i++) {
    const r = await trial(100 + Math.floor(Math.random() * 900));
    acked += r.acked;
    lost += r.lost;
    console.log(`trial ${i}: ${r.acked} commits acknowledged before SIGKILL, ${r.survived} found after reopening, ${r.lost} lost`);
  }
  console.log(`total: ${acked} acknowledged, ${acked - lost} survived, ${lost} lost (${((100 * (acked - lost)) / Math.max(acked, 1)).toFixed(2)} % kept)`);
}
