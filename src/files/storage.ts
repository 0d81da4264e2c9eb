import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Where file bytes live. Content-addressed by SHA-256 so the same bytes are stored once; an object store can implement the same port. */
export interface FileStorage {
  put(bytes: Buffer): Promise<{ sha256: string; size: number }>;
  get(sha256: string): Promise<Buffer>;
}

export class LocalFileStorage implements FileStorage {
  constructor(private readonly root: string) {}

  private pathOf(sha: string) {
    return join(this.root, sha.slice(0, 2), sha.slice(2));
  }

  async put(bytes: Buffer) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = this.pathOf(sha256);
    const exists = await stat(path).then(() => true, () => false);
    if (!exists) {
      await mkdir(dirname(path), { recursive: true });
      // Write then rename: a crash never leaves a half-written file under its final name.
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    }
    return { sha256, size: bytes.length };
  }

  async get(sha256: string) {
    return readFile(this.pathOf(sha256));
  }
}
