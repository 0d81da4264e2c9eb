import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { checkPage } from '../support/a11y.ts';
import { BrowserPeople, ensureWebBuilt, haveChromium, launchChromium, logIn } from '../support/browser.ts';
import { expectLedgerClean, inDays, liveContract, startTestServer, type Client, type TestServer } from '../support/harness.ts';
import { runJobs } from '../support/negotiation-helpers.ts';
import { FakeStripe } from '../support/stripe-server.ts';

// The earnings page with Stripe (issue 14, item 5), in Chromium at 390 px, against a server
// started with TRANCHE_PAYMENTS=stripe and the Stripe-compatible test server: a contractor whose
// release waits for a payout account sees it waiting and "Set up payouts" (no sandbox payout
// button), goes to Stripe's onboarding (the test server's page), comes back unfinished ("Finish
// setting up payouts"), goes again; the test server then enables the account and sends
// account.updated, and back on the page the account is ready and the payment has been transferred.

const PASSWORD = 'earnings-stripe-password-42';

describe.skipIf(!haveChromium)('earnings with Stripe (Chromium)', () => {
  let s: TestServer;
  let stripe: FakeStripe;
  let browser: Browser;
  const people = new BrowserPeople(() => browser);

  beforeAll(async () => {
    ensureWebBuilt();
    stripe = await FakeStripe.start();
    [s, browser] = await Promise.all([startTestServer('pglite', stripe.env()), launchChromium()]);
    stripe.webhookUrl = `${s.url}/v1/providers/stripe/webhooks`;
    await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 300, contractorBps: 500 } });
  });
  afterAll(async () => {
    await people.closeAll();
    await browser?.close().catch(() => undefined);
    await s?.stop();
    await stripe?.stop();
  });

  let n = 0;
  async function person(name: string): Promise<{ id: string; email: string; api: Client }> {
    const email = `${name.split(' ')[0]!.toLowerCase()}-${Date.now().toString(36)}-${n++}@example.com`;
    const r = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
    expect(r.status).toBe(201);
    return { id: r.body.id, email, api: s.admin.actingAs(r.body.id) };
  }

  async function page(width: number, label: string): Promise<Page> {
    const p = await people.newPage({ width });
    onTestFailed(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tranche-earnings-stripe-failed-'));
      await p.screenshot({ path: join(dir, `${label}-${width}.png`), fullPage: true }).catch(() => undefined);
      process.stderr.write(`earnings-stripe e2e failed: ${label} at ${width} px in ${dir}\n`);
    });
    return p;
  }

  it('at 390 px: a release waits for the payout account; Set up payouts → Stripe’s onboarding → back unfinished → Finish → enabled by account.updated → ready, transferred', async () => {
    const client = await person('Cleo Client');
    const contractor = await person('Kai Contractor');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_visa' })).status).toBe(200);
    const c = await liveContract(s, { client, contractor }, 'sequential_escrow', [{ title: 'Landing page', amount: 10000, dueDate: inDays(20) }]);
    const m = c.milestones[0].id as string;
    expect((await client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    // The release (less the 5 % fee) waits for an account that does not exist yet.
    expect((await contractor.api.get('/v1/me/payout-account')).body).toMatchObject({ provider: 'stripe', status: 'none', waiting: [{ currency: 'USD', amount: 9500, count: 1 }] });

    const k = await page(390, 'earnings-stripe');
    await logIn(k, s.url, contractor.email, PASSWORD);
    await k.goto(`${s.url}/earnings`);
    await k.getByRole('heading', { level: 1, name: 'Earnings' }).waitFor();
    const payouts = k.getByRole('region', { name: 'Payouts' });
    await payouts.getByText('Set up your payout account').waitFor();
    await payouts.getByText('Waiting for your payout account: $95.00 (1 payment)').waitFor();
    // With Stripe there is no balance to pay out here (the server would answer 409).
    expect(await k.getByRole('region', { name: 'Your balance' }).count()).toBe(0);
    expect(await k.getByRole('button', { name: /^Pay out/ }).count()).toBe(0);
    await checkPage(k, 'earnings with Stripe, no payout account at 390', 'earnings-stripe-none');

    // To Stripe's onboarding: the account link the server made for the new Express account.
    await payouts.getByRole('button', { name: 'Set up payouts' }).click();
    await k.waitForURL(`${stripe.url}/setup/e/**`);
    const [account] = stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id);
    expect(account).toMatchObject({ type: 'express', capabilities: { transfers: 'inactive' } });
    expect(k.url()).toContain(`/setup/e/${account!.id}/`);
    await k.getByRole('heading', { name: 'Stripe test onboarding' }).waitFor();

    // Back without finishing: the account exists, not complete.
    await k.getByRole('link', { name: 'Return to the platform' }).click();
    await k.waitForURL((u) => u.pathname === '/earnings');
    await payouts.getByText('Your payout account is not finished').waitFor();
    await k.getByRole('status').filter({ hasText: 'Stripe tells us when your payout account is ready' }).first().waitFor();
    expect(new URL(k.url()).searchParams.get('onboarding')).toBeNull();
    await checkPage(k, 'earnings with Stripe, onboarding at 390', 'earnings-stripe-onboarding');

    // Again, and this time Stripe enables the account and says so (account.updated, applied by the worker).
    await payouts.getByRole('button', { name: 'Finish setting up payouts' }).click();
    await k.waitForURL(`${stripe.url}/setup/e/${account!.id}/**`);
    expect(stripe.all('account', (a) => a.metadata.tranche_contractor === contractor.id)).toHaveLength(1);
    const { delivery } = await stripe.enableTransfers(account!.id);
    expect(delivery).toEqual({ status: 200, body: { received: true, duplicate: false } });
    await runJobs(s);
    await k.getByRole('link', { name: 'Return to the platform' }).click();
    await k.waitForURL((u) => u.pathname === '/earnings');
    await payouts.getByText('Your payout account is ready').first().waitFor();
    await payouts.getByText('Stripe pays them out to your bank on its schedule').waitFor();
    expect(await payouts.getByRole('button').count()).toBe(0);
    expect(await payouts.getByText(/Waiting for your payout account/).count()).toBe(0);
    expect(await k.getByRole('button', { name: /^Pay out/ }).count()).toBe(0);
    await checkPage(k, 'earnings with Stripe, account ready at 390', 'earnings-stripe-ready');

    // The waiting release went to the account as a Transfer.
    expect(stripe.all('transfer', (t) => t.destination === account!.id)).toEqual([expect.objectContaining({ amount: 9500, currency: 'usd', transfer_group: c.id })]);
    await expectLedgerClean(s);
  });
});
