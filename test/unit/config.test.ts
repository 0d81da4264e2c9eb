import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults: embedded database in ./.tranche on port 3000', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\.tranche$/);
    expect(c.runWorker).toBe(true);
    expect(c.testClock).toBe(false);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TRANCHE_ADMIN_TOKEN: 'short' }, 'TRANCHE_ADMIN_TOKEN'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ TRUST_PROXY: 'yes please' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '2' }, 'TRUST_PROXY'],
    [{ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '10000' }, 'HEADERS_TIMEOUT_MS'],
    [{ UPLOAD_FILES_PER_DAY: '0' }, 'UPLOAD_FILES_PER_DAY'],
    [{ TRANCHE_PAYMENTS: 'paypal' }, 'TRANCHE_PAYMENTS'],
    [{ TRANCHE_PAYMENTS: 'stripe' }, 'STRIPE_SECRET_KEY'],
    [{ TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: 'sk_test_abc' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ TRANCHE_PAYMENTS: 'stripe', STRIPE_WEBHOOK_SECRET: 'whsec_abc' }, 'STRIPE_SECRET_KEY'],
    [{ TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: 'pk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' }, 'STRIPE_SECRET_KEY'],
    [{ TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'secret' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ STRIPE_API_BASE: 'ftp://127.0.0.1:9' }, 'STRIPE_API_BASE'],
    [{ TRANCHE_PROVIDER_WAIT_MS: '-1' }, 'TRANCHE_PROVIDER_WAIT_MS'],
  ])('refuses %o with a message naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });

  it('reads TRUST_PROXY as Fastify takes it: a flag or addresses', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toBe('10.0.0.0/8, 127.0.0.1');
  });

  it('payments: the sandbox by default; Stripe with both keys and an optional API base', () => {
    expect(loadConfig({}).payments).toEqual({ provider: 'sandbox' });
    expect(loadConfig({}).providerWaitMs).toBe(8000);
    expect(loadConfig({ TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: 'sk_test_abc123', STRIPE_WEBHOOK_SECRET: 'whsec_xyz', STRIPE_API_BASE: 'http://127.0.0.1:12111' }).payments).toEqual({
      provider: 'stripe',
      secretKey: 'sk_test_abc123',
      webhookSecrets: ['whsec_xyz'],
      apiBase: 'http://127.0.0.1:12111',
    });
    // Two endpoints (the platform's events and Connect's) may sign with secrets of their own.
    expect(loadConfig({ TRANCHE_PAYMENTS: 'stripe', STRIPE_SECRET_KEY: 'sk_test_abc123', STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_b' }).payments).toMatchObject({ webhookSecrets: ['whsec_a', 'whsec_b'] });
    // A missing key is named, both when both are missing.
    expect(() => loadConfig({ TRANCHE_PAYMENTS: 'stripe' })).toThrow(/STRIPE_SECRET_KEY[^]*STRIPE_WEBHOOK_SECRET/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).port).toBe(3000);
  });
});
