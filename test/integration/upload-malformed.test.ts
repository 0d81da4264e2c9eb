import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, newUser, startTestServer, type TestServer } from '../support/harness.ts';

// Found by the fuzzer: a multipart request that cannot be read is a 4xx, never a 500.
describe.each(engines())('malformed uploads on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it.each([
    ['multipart without a boundary and no body', { 'content-type': 'multipart/form-data' }, undefined],
    ['multipart without a boundary', { 'content-type': 'multipart/form-data' }, 'garbage'],
    ['truncated multipart', { 'content-type': 'multipart/form-data; boundary=XYZ' }, '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'],
  ])('%s', async (_name, headers, body) => {
    const u = await newUser(s, 'uploader');
    const res = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, ...headers }, body });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});
