import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// fs-native-extensions takes an open-file-description lock (fcntl F_OFD_SETLK) on Linux, flock on
// macOS and LockFileEx on Windows. The kernel drops such a lock when its process dies, however it
// dies (kill -9 included), so a stale lock is recovered by simply taking it, and a live owner's
// lock can never be taken: no pid liveness guess, no pid reuse hazard, no mtime heartbeat.
const { tryLock } = createRequire(import.meta.url)('fs-native-extensions') as { tryLock(fd: number): boolean };

const LOCK_FILE = 'lock';
const SERVER_FILE = 'server.json';

export type Owner = { pid: number; command: string; startedAt: string };

/** Another live process owns the embedded data folder. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | null,
    readonly command: string | null,
  ) {
    super(
      `The data folder ${dataDir} is in use by another Tranche process (${pid ? `pid ${pid}` : 'pid unknown'}${command ? `, "${command}"` : ''}). ` +
        'The embedded database has exactly one owner: stop that process first, or run data-changing CLI commands while it serves (they go through its API).',
    );
    this.name = 'DataDirLockedError';
  }
}

export type DataDirLock = { release(): void };

/**
 * Takes the exclusive lock of an embedded data folder for the life of this process, or throws
 * DataDirLockedError naming the owner at once. The lock file keeps the owner's pid for that message.
 */
export function lockDataDir(dataDir: string, command = processCommand()): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  // Opened without O_TRUNC: a contender must not wipe the owner's pid before learning it lost.
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  let locked = false;
  try {
    locked = tryLock(fd);
  } finally {
    if (!locked) closeSync(fd);
  }
  if (!locked) {
    const owner = readOwner(path);
    throw new DataDirLockedError(dataDir, owner?.pid ?? null, owner?.command ?? null);
  }
  const owner: Owner = { pid: process.pid, command, startedAt: new Date().toISOString() };
  ftruncateSync(fd, 0);
  writeSync(fd, JSON.stringify(owner) + '\n', 0);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(fd); // closing the descriptor drops the lock
    },
  };
}

function readOwner(path: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return Number.isInteger(o.pid) ? o : null;
  } catch {
    return null; // the owner is between taking the lock and writing its pid
  }
}

const processCommand = () => ['tranche', ...process.argv.slice(2)].join(' ');

/** Where the server owning an embedded data folder listens; read by CLI commands that write through it. */
export type ServerInfo = { pid: number; url: string };

export function writeServerInfo(dataDir: string, info: ServerInfo): void {
  writeFileSync(join(dataDir, SERVER_FILE), JSON.stringify(info) + '\n', { mode: 0o600 });
}

export function removeServerInfo(dataDir: string): void {
  rmSync(join(dataDir, SERVER_FILE), { force: true });
}

/** The running server's address, if the folder's current owner (`ownerPid`) is a server that wrote it. */
export function readServerInfo(dataDir: string, ownerPid: number | null): ServerInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8')) as ServerInfo;
    // A file left by a killed server names a dead pid, never the current owner's.
    return ownerPid !== null && info.pid === ownerPid && typeof info.url === 'string' ? info : null;
  } catch {
    return null;
  }
}
