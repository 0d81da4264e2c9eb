import { describe, expect, it } from 'vitest';
import { CredentialCache, forgetAfterChange, watchCredentials, type CachedCredential } from '../../src/http/credential-cache.ts';

const token = (id: string, userId: string): CachedCredential => ({ kind: 'user-token', id, platformId: 'plt_1', userId, orgs: {} });

function listening(max?: number, ttlMs?: number, clock?: () => number) {
  const c = new CredentialCache(max, ttlMs, clock);
  c.setListening(true);
  return c;
}

describe('CredentialCache', () => {
  it('keeps at most `max` entries, dropping the least recently used', () => {
    const c = listening(2);
    c.store('a', token('tok_a', 'usr_1'), c.begin());
    c.store('b', token('tok_b', 'usr_2'), c.begin());
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.store('c', token('tok_c', 'usr_3'), c.begin());
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
  });

  it('ages entries out after ttlMs', () => {
    let now = 0;
    const c = listening(10, 1000, () => now);
    c.store('a', token('tok_a', 'usr_1'), c.begin());
    now = 1000;
    expect(c.get('a')).toBeDefined();
    now = 1001;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('does not store an answer read before a notification arrived', () => {
    const c = listening();
    const epoch = c.begin();
    c.forget('token:tok_other');
    c.store('a', token('tok_a', 'usr_1'), epoch);
    expect(c.get('a')).toBeUndefined();
  });

  it('forgets a token, a session or every credential of a user; an unknown payload clears all', () => {
    const c = listening();
    c.store('t1', token('tok_1', 'usr_1'), c.begin());
    c.store('t2', token('tok_2', 'usr_1'), c.begin());
    c.store('t3', token('tok_3', 'usr_2'), c.begin());
    c.store('s1', { kind: 'session', id: 'ses_1', platformId: 'plt_1', userId: 'usr_2', expiresAt: 0, orgs: {} }, c.begin());
    c.store('x', { kind: 'acting', platformId: 'plt_1', userId: 'usr_1', orgs: {} }, c.begin());
    c.forget('token:tok_3');
    expect(c.get('t3')).toBeUndefined();
    c.forget('session:ses_1');
    expect(c.get('s1')).toBeUndefined();
    expect(c.size).toBe(3);
    c.forget('user:usr_1');
    expect(c.size).toBe(0);
    c.store('t3', token('tok_3', 'usr_2'), c.begin());
    c.forget('something else');
    expect(c.size).toBe(0);
  });

  it('serves and stores nothing unless listening; (re)starting to listen clears it', () => {
    const c = new CredentialCache();
    c.store('a', token('tok_a', 'usr_1'), c.begin());
    expect(c.size).toBe(0);
    c.setListening(true);
    c.store('a', token('tok_a', 'usr_1'), c.begin());
    expect(c.get('a')).toBeDefined();
    c.setListening(true); // a reconnection
    expect(c.get('a')).toBeUndefined();
  });

  it('a successful change under the credential routes clears this process’s cache; reads and refusals do not', async () => {
    const db = { listen: async (_c: string, _n: (p: string) => void, ready: () => void) => (ready(), async () => undefined) };
    const { cache } = await watchCredentials(db as never, { debug: () => undefined } as never);
    const fill = () => cache.store('a', token('tok_a', 'usr_1'), cache.begin());
    fill();
    forgetAfterChange(db, 'GET', '/v1/organizations/org_1', 200);
    forgetAfterChange(db, 'POST', '/v1/contracts', 201);
    forgetAfterChange(db, 'DELETE', '/v1/tokens/tok_a', 404);
    expect(cache.size).toBe(1);
    for (const [method, url] of [['DELETE', '/v1/tokens/tok_a'], ['POST', '/v1/auth/logout'], ['POST', '/v1/organizations'], ['DELETE', '/v1/organizations/org_1/members/usr_2'], ['POST', '/v1/invitations/abc/accept'], ['POST', '/v1/me/password'], ['POST', '/v1/admin/tokens/tok_1/rotate']] as const) {
      fill();
      forgetAfterChange(db, method, url, 200);
      expect(cache.size, `${method} ${url}`).toBe(0);
    }
  });
});
