import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { BrowserPeople, CHROMIUM, ensureWebBuilt, haveChromium, launchChromium, logIn } from '../support/browser.ts';
import { expectLedgerClean, inDays, startTestServer, type TestServer } from '../support/harness.ts';

// The web app in a real browser (Debian's Chromium) against the real server on PGlite:
// a client and a contractor, each in their own browser context, take one milestone from
// proposal to paid, through a rejection with a reason and a resubmission.

if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing; CI installs it in .ci/run`);
  process.stderr.write(`\n⚠  ${CHROMIUM} is not installed: the browser test is SKIPPED (apt-get install chromium).\n\n`);
}

const PASSWORD = 'web-test-password-42';

describe.skipIf(!haveChromium)('web app (Chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  const people = new BrowserPeople(() => browser);

  beforeAll(async () => {
    // `npm test` builds the app first; a lone run of this file builds it if needed. The server
    // serves web/dist only when it exists at start, so this comes before the server.
    ensureWebBuilt();
    [s, browser] = await Promise.all([startTestServer('pglite'), launchChromium()]);
  });
  afterAll(async () => {
    await people.closeAll();
    await browser?.close().catch(() => undefined);
    await s?.stop();
  });

  const newPage = () => people.newPage();
  const login = (page: Page, email: string) => logIn(page, s.url, email, PASSWORD);

  /** Waits until the locator's text contains `text` (playwright-core has no auto-retrying expect). */
  async function seeText(loc: Locator, text: string | RegExp) {
    await loc.filter({ hasText: text }).first().waitFor();
  }

  const status = (page: Page) => page.getByRole('status');
  const milestone = (page: Page, title: string) => page.getByRole('article', { name: title });
  const figure = (page: Page, label: string) =>
    page.getByRole('region', { name: 'Payment overview' }).locator('div').filter({ has: page.getByText(label, { exact: true }) });

  it('takes a milestone from proposal to paid, with a rejection and its reason', async () => {
    const mk = async (email: string, name: string) => {
      const r = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const tag = Date.now().toString(36);
    const clientEmail = `client-${tag}@example.com`;
    const contractorEmail = `contractor-${tag}@example.com`;
    const clientId = await mk(clientEmail, 'Casey Client');
    const contractorId = await mk(contractorEmail, 'Dana Contractor');
    const asClient = s.admin.actingAs(clientId);
    expect((await asClient.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    // The contractor proposes the contract; the client accepts it in the app.
    const created = await s.admin.actingAs(contractorId).post('/v1/contracts', { title: 'Website relaunch', clientId, contractorId, type: 'fixed', currency: 'USD', policy: 'client_creates' });
    expect(created.status).toBe(201);

    const client = await newPage();
    const contractor = await newPage();
    onTestFailed(async () => {
      // Leave the two screens behind for whoever reads the failure.
      const dir = mkdtempSync(join(tmpdir(), 'tranche-e2e-failed-'));
      await client.screenshot({ path: join(dir, 'client.png'), fullPage: true }).catch(() => undefined);
      await contractor.screenshot({ path: join(dir, 'contractor.png'), fullPage: true }).catch(() => undefined);
      process.stderr.write(`web e2e failed: screenshots in ${dir}\n`);
    });

    // A wrong password shows the problem's detail in the alert region.
    await client.goto(s.url);
    await client.getByLabel('Email').fill(clientEmail);
    await client.getByLabel('Password').fill('not-the-password');
    await client.getByRole('button', { name: 'Log in' }).click();
    await seeText(client.getByRole('alert'), 'email or password is wrong');

    // The client logs in, sees the proposal with their role, opens it and accepts it.
    await login(client, clientEmail);
    const row = client.getByRole('row').filter({ hasText: 'Website relaunch' });
    await seeText(row, /USD.*Client.*Offer/);
    await client.getByRole('link', { name: 'Website relaunch' }).click();
    await client.getByRole('heading', { name: 'Website relaunch', level: 1 }).waitFor();
    await client.getByRole('button', { name: 'Accept the offer' }).click();
    await seeText(status(client), 'The contract is active.');

    // The client adds a milestone: under client_creates it waits for the contractor.
    const add = client.getByRole('region', { name: 'Add a milestone' });
    await add.getByLabel('Title').fill('Landing page');
    await add.getByLabel('Amount (USD)').fill('1,500.00');
    await add.getByLabel('Due date').fill(inDays(14));
    await add.getByLabel('Description (optional)').fill('Hero, pricing and signup sections');
    await add.getByRole('button', { name: 'Add milestone' }).click();
    await seeText(status(client), 'the contractor must accept it');
    await seeText(milestone(client, 'Landing page'), /Proposed.*\$1,500\.00/s);
    await seeText(figure(client, 'Agreed total'), '$0.00'); // the total counts agreed milestones only

    // The contractor logs in (second context) and accepts it.
    await login(contractor, contractorEmail);
    await seeText(contractor.getByRole('row').filter({ hasText: 'Website relaunch' }), /Contractor.*Active/);
    await contractor.getByRole('link', { name: 'Website relaunch' }).click();
    await milestone(contractor, 'Landing page').getByRole('button', { name: 'Accept' }).click();
    await seeText(status(contractor), '“Landing page” was accepted.');

    // The client funds it: the amount is held in escrow.
    // (the client's page shows it live, without a reload)
    await milestone(client, 'Landing page').getByRole('button', { name: 'Fund $1,500.00' }).click();
    await client.getByRole('dialog').getByRole('button', { name: 'Fund $1,500.00' }).click();
    await seeText(status(client), 'is held in escrow');
    await seeText(figure(client, 'In escrow'), '$1,500.00');
    await seeText(figure(client, 'Agreed total'), '$1,500.00');

    // The contractor submits with a note.
    // (the contractor's page shows it live, without a reload)
    const cm = milestone(contractor, 'Landing page');
    await cm.getByRole('button', { name: 'Submit work' }).click();
    await cm.getByLabel('Note for the client').fill('First version is on the staging site.');
    await cm.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(status(contractor), 'was submitted for review');

    // The client sees the note and sends the work back with a reason.
    // (the client's page shows it live, without a reload)
    const km = milestone(client, 'Landing page');
    await seeText(km, 'First version is on the staging site.');
    await km.getByRole('button', { name: 'Reject' }).click();
    await km.getByLabel('Reason for sending it back').fill('The signup form is missing on mobile.');
    await km.getByRole('button', { name: 'Send back' }).click();
    await seeText(status(client), 'was sent back to the contractor');

    // The contractor sees the reason in the activity and on the milestone, and resubmits.
    // (the contractor's page shows it live, without a reload)
    await seeText(contractor.getByRole('region', { name: 'Activity' }).getByRole('listitem'), 'The client sent back “Landing page”: The signup form is missing on mobile.');
    await seeText(cm, 'Sent back: The signup form is missing on mobile.');
    await cm.getByRole('button', { name: 'Submit work' }).click();
    await cm.getByLabel('Note for the client').fill('Mobile signup added.');
    await cm.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(status(contractor), 'was submitted for review');

    // The client approves: escrow is released, the milestone moves to Approved, the overview shows it paid.
    // (the client's page shows it live, without a reload)
    await seeText(km, 'Mobile signup added.');
    await km.getByRole('button', { name: 'Approve' }).click();
    await client.getByRole('dialog').getByRole('button', { name: 'Approve and release $1,500.00' }).click();
    await seeText(status(client), '“Landing page” was approved.');
    await seeText(client.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Landing page' }), 'Paid');
    await seeText(figure(client, 'Paid'), '$1,500.00');
    await seeText(figure(client, 'In escrow'), '$0.00');
    await seeText(figure(client, 'Still to fund'), '$0.00');
    await client.getByRole('region', { name: /^Pending/ }).getByText('No pending milestones.').waitFor();

    // The payments page shows the payment paid, to both parties.
    await client.getByRole('link', { name: 'Payments' }).click();
    await client.getByRole('heading', { name: 'Payments', level: 1 }).waitFor();
    await seeText(client.getByRole('row').filter({ hasText: 'Website relaunch' }), /You pay.*\$1,500\.00.*Paid/);
    await contractor.getByRole('link', { name: 'Payments' }).click();
    await seeText(contractor.getByRole('row').filter({ hasText: 'Website relaunch' }), /You receive.*\$1,500\.00.*Paid/);

    // The contractor was notified of the rejection with its reason.
    await contractor.getByRole('link', { name: 'Notifications' }).click();
    await seeText(contractor.getByRole('listitem'), 'was rejected: The signup form is missing on mobile.');

    const dir = mkdtempSync(join(tmpdir(), 'tranche-e2e-'));
    const shot = join(dir, 'client-payments.png');
    await client.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);

    await expectLedgerClean(s);
  });
});
