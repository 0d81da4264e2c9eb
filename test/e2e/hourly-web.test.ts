import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { BrowserPeople, ensureWebBuilt, haveChromium, launchChromium, logIn } from '../support/browser.ts';
import { expectLedgerClean, startTestServer, type TestServer } from '../support/harness.ts';

// Hourly contracts in a real browser (Debian's Chromium) on PGlite: the contractor logs, edits
// and deletes time in the weekly timesheet and requests a milestone payment; the client sees
// the hours and accepts the request in the Milestone Requests section, which funds it.

const PASSWORD = 'hourly-web-password-42';

describe.skipIf(!haveChromium)('hourly contracts in the web app (Chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  const people = new BrowserPeople(() => browser);

  beforeAll(async () => {
    ensureWebBuilt();
    [s, browser] = await Promise.all([startTestServer('pglite'), launchChromium()]);
  });
  afterAll(async () => {
    await people.closeAll();
    await browser?.close().catch(() => undefined);
    await s?.stop();
  });

  const newPage = () => people.newPage({ height: 1000, timezoneId: 'UTC' });
  const login = (page: Page, email: string) => logIn(page, s.url, email, PASSWORD);
  const seeText = (loc: Locator, text: string | RegExp) => loc.filter({ hasText: text }).first().waitFor();

  it('timesheet and milestone request flow', async () => {
    const tag = Date.now().toString(36);
    const mk = async (email: string, name: string) => {
      const r = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const clientEmail = `hc-${tag}@example.com`;
    const contractorEmail = `hw-${tag}@example.com`;
    const clientId = await mk(clientEmail, 'Casey Client');
    const contractorId = await mk(contractorEmail, 'Dana Contractor');
    expect((await s.admin.actingAs(clientId).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await s.admin.actingAs(clientId).post('/v1/contracts', { title: 'Support retainer', clientId, contractorId, type: 'hourly', currency: 'USD', hourlyRate: 6000, weeklyLimitHours: 2 });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect((await s.admin.actingAs(contractorId).post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);

    const contractor = await newPage();
    const client = await newPage();
    onTestFailed(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tranche-hourly-e2e-'));
      await contractor.screenshot({ path: join(dir, 'contractor.png'), fullPage: true }).catch(() => undefined);
      await client.screenshot({ path: join(dir, 'client.png'), fullPage: true }).catch(() => undefined);
      process.stderr.write(`hourly e2e failed: screenshots in ${dir}\n`);
    });

    // The contractor logs 1:30 and 1:00 today: 2:30 against a 2 h limit, 0:30 not billed.
    await login(contractor, contractorEmail);
    await contractor.getByRole('link', { name: 'Support retainer' }).click();
    const sheet = contractor.getByRole('region', { name: 'Timesheet' });
    await sheet.waitFor();
    const log = sheet.getByRole('form', { name: 'Log time' });
    await log.getByLabel('Time').fill('1:30');
    await log.getByLabel('Memo').fill('Triage of open tickets');
    await log.getByRole('button', { name: 'Log time' }).click();
    await seeText(contractor.getByRole('status'), 'Time logged.');
    await log.getByLabel('Time').fill('60m');
    await log.getByLabel('Memo').fill('Release notes');
    await log.getByRole('button', { name: 'Log time' }).click();
    await seeText(sheet.getByTestId('timesheet-total'), /2:30 h.*logged of a 2 h weekly limit/);
    await seeText(sheet, '0:30 h past the limit, not billed');

    // Edit the first entry to 0:45, delete the second: 0:45 logged.
    await sheet.getByRole('button', { name: /Edit entry/ }).first().click();
    const edit = sheet.getByRole('form', { name: 'Edit time entry' });
    await edit.getByLabel('Time').fill('0:45');
    await edit.getByRole('button', { name: 'Save' }).click();
    await seeText(contractor.getByRole('status'), 'Time entry saved.');
    await sheet.getByRole('row').filter({ hasText: 'Release notes' }).getByRole('button', { name: /Delete entry/ }).click();
    await seeText(contractor.getByRole('status'), 'Time entry deleted.');
    await seeText(sheet.getByTestId('timesheet-total'), /0:45 h.*logged/);

    // The contractor requests a milestone payment.
    const requests = contractor.getByRole('region', { name: /Milestone Requests/ });
    await requests.getByLabel('Amount (USD)').fill('250.00');
    await requests.getByLabel('Description').fill('Advance for next week');
    await requests.getByRole('button', { name: 'Request Milestone' }).click();
    await seeText(contractor.getByRole('status'), 'Milestone requested.');
    await seeText(requests, /\$250\.00.*Advance for next week.*Open/);

    // The client sees the hours and accepts the request: a funded milestone payment.
    await login(client, clientEmail);
    await client.getByRole('link', { name: 'Support retainer' }).click();
    await seeText(client.getByRole('region', { name: 'Timesheet' }), 'Triage of open tickets');
    expect(await client.getByRole('region', { name: 'Timesheet' }).getByRole('form', { name: 'Log time' }).count()).toBe(0);
    const clientRequests = client.getByRole('region', { name: /Milestone Requests/ });
    await clientRequests.getByRole('button', { name: 'Accept' }).click();
    await seeText(client.getByRole('status'), 'Request accepted: the milestone payment is funded.');
    await seeText(client.getByRole('article', { name: 'Advance for next week' }), /funded/i);
    await seeText(client.getByRole('region', { name: 'Hours and invoices' }), /In escrow\s*\$250\.00/);

    const reqs = await s.admin.get(`/v1/contracts/${c.body.id}/milestone-requests`);
    expect(reqs.body.data[0]).toMatchObject({ status: 'accepted', amount: 25000 });
    await expectLedgerClean(s);
  });
});
