import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, newUser, startTestServer, type TestServer } from '../support/harness.ts';
import { tinyPdf, tinyPng } from '../support/negotiation-helpers.ts';

async function upload(s: TestServer, token: string, bytes: Buffer, name: string, key: string) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const res = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'idempotency-key': key }, body: form });
  return { status: res.status, body: await res.json(), replayed: res.headers.get('idempotent-replayed') };
}

describe.each(engines())('upload with Idempotency-Key on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('replays the same file and refuses another file under the same key', async () => {
    const u = await newUser(s, 'uploader');
    const first = await upload(s, u.token, tinyPdf(), 'a.pdf', 'up-1');
    expect(first.status).toBe(201);
    const again = await upload(s, u.token, tinyPdf(), 'a.pdf', 'up-1');
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.replayed).toBe('true');
    const other = await upload(s, u.token, tinyPng(), 'b.png', 'up-1');
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const [n] = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM files WHERE owner_id = $1', [u.id]);
    expect(n!.n).toBe(1);
  });
});
