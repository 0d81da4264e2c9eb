import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export type CliServer = { url: string; pid: number; child: ChildProcess; output: () => string; stop: () => Promise<number | null> };

/**
 * `node <args…>` (e.g. a compiled cli.js, or `--import tsx src/cli.ts`) as a child process with
 * the given environment; resolves once it prints the address it listens on.
 */
export async function spawnCli(args: string[], env: Record<string, string>): Promise<CliServer> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TRANCHE_TEST_CLOCK: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /Tranche \S+ on (http:\/\/\S+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`the server exited with ${code} before listening:\n${out}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
