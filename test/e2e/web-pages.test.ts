import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { checkPage, expectNoHorizontalScroll } from '../support/a11y.ts';
import { BrowserPeople, ensureWebBuilt, haveChromium, launchChromium, logIn } from '../support/browser.ts';
import { expectLedgerClean, inDays, startTestServer, type Client, type TestServer } from '../support/harness.ts';

// The web app's shell and its pages other than the contract page, in Debian's Chromium, at a
// desktop width (1280 px) and a phone width (390 px), each party in a browser context of its
// own: the shell (skip link, titles, focus, menu, not found), the contracts list (filters,
// search, sort, empty state), paying a draft with its confirmation, earnings, the card, the
// platform admin resolving a dispute. Every page passes axe-core (no serious or critical
// violation) and, at 390 px, does not scroll sideways.

const PASSWORD = 'pages-test-password-42';
const WIDTHS = [1280, 390] as const;

describe.skipIf(!haveChromium)('web app pages (Chromium)', () => {
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

  let n = 0;
  /** A person who can log in to the app; `api` acts as them through the admin token. */
  async function person(name: string, card = true): Promise<{ id: string; email: string; name: string; api: Client }> {
    const email = `${name.split(' ')[0]!.toLowerCase()}-${Date.now().toString(36)}-${n++}@example.com`;
    const r = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
    expect(r.status).toBe(201);
    const api = s.admin.actingAs(r.body.id);
    if (card) expect((await api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    return { id: r.body.id, email, name, api };
  }

  async function contract(client: { id: string; api: Client }, contractorId: string, title: string, policy: string, milestones: { title: string; amount: number }[], activate?: Client) {
    const c = await client.api.post('/v1/contracts', {
      title, clientId: client.id, contractorId, type: 'fixed', currency: 'USD', policy,
      milestones: milestones.map((m) => ({ ...m, dueDate: inDays(20) })),
    });
    expect(c.status).toBe(201);
    if (activate) expect((await activate.post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);
    return c.body as { id: string; milestones: { id: string; status: string }[] };
  }

  async function page(width: number, label: string): Promise<Page> {
    const p = await people.newPage({ width });
    onTestFailed(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tranche-pages-failed-'));
      await p.screenshot({ path: join(dir, `${label}-${width}.png`), fullPage: true }).catch(() => undefined);
      process.stderr.write(`pages e2e failed: ${label} at ${width} px in ${dir}\n`);
    });
    return p;
  }

  const seeText = (loc: Locator, text: string | RegExp) => loc.filter({ hasText: text }).first().waitFor();
  const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name });
  /** Opens a page from the header: at 390 px through the Menu button. */
  async function go(p: Page, link: string) {
    const menu = p.getByRole('button', { name: 'Menu' });
    if (await menu.isVisible()) {
      await menu.click();
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
    }
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${link}`) }).click();
  }
  const focusedText = (p: Page) => p.evaluate(() => document.activeElement?.textContent ?? '');

  for (const width of WIDTHS) {
    it(`shell at ${width} px: login focus, skip link, a title per page, focus on the heading, menu, not found`, async () => {
      const me = await person('Sam Shell');
      const p = await page(width, 'shell');
      await p.goto(s.url);
      // The login field has focus; the page has a title of its own.
      await heading(p, 'Log in to Tranche').waitFor();
      expect(await p.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('email');
      expect(await p.title()).toBe('Log in · Tranche');
      await checkPage(p, `login at ${width}`, 'login');
      // A wrong password: the sentence, not the server's text.
      await p.getByLabel('Email').fill(me.email);
      await p.getByLabel('Password').fill('wrong-password-000');
      await p.getByRole('button', { name: 'Log in' }).click();
      await seeText(p.getByRole('alert'), 'The email or password is wrong');
      await logIn(p, s.url, me.email, PASSWORD);
      expect(await p.title()).toBe('Contracts · Tranche');

      // The skip link is the first stop of the keyboard and leads to the main content.
      await p.keyboard.press('Tab');
      expect(await focusedText(p)).toBe('Skip to content');
      await p.keyboard.press('Enter');
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('main');

      // At 390 px the navigation hides behind Menu; each page has its title and gets focus on its heading.
      const nav = p.getByRole('navigation', { name: 'Main' });
      if (width === 390) expect(await nav.isVisible()).toBe(false);
      else expect(await p.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
      for (const [link, title] of [['Payments', 'Payments'], ['Earnings', 'Earnings'], ['Notifications', 'Notifications'], ['Account', 'Account'], ['Contracts', 'Contracts']] as const) {
        await go(p, link);
        await heading(p, title).waitFor();
        expect(await p.title()).toBe(`${title} · Tranche`);
        await p.waitForFunction((t) => document.activeElement?.tagName === 'H1' && document.activeElement.textContent === t, title);
        if (width === 390) expect(await nav.isVisible()).toBe(false); // the menu closed on navigation
        await checkPage(p, `${title} at ${width}`);
      }

      // Escape folds the open menu and gives focus back to its button.
      if (width === 390) {
        await p.getByRole('button', { name: 'Menu' }).click();
        await nav.waitFor();
        await p.keyboard.press('Escape');
        await nav.waitFor({ state: 'hidden' });
        expect(await focusedText(p)).toBe('Menu');
      }

      // An unknown address: a not-found page with a way back.
      await p.goto(`${s.url}/no/such/page`);
      await heading(p, 'Page not found').waitFor();
      expect(await p.title()).toBe('Page not found · Tranche');
      await checkPage(p, `not found at ${width}`, 'not-found');
      await p.getByRole('link', { name: 'Go to your contracts' }).click();
      await heading(p, 'Contracts').waitFor();

      // Visible focus: a link reached with the keyboard draws an outline.
      await p.getByRole('link', { name: 'New contract' }).focus();
      await p.keyboard.press('Shift+Tab');
      await p.keyboard.press('Tab');
      expect(await focusedText(p)).toBe('New contract');
      const outline = await p.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline).not.toBe('none');
    });
  }

  it('contracts list: the other party, escrow and paid, status and next action; filter, search, sort; both parties at 1280 and 390 px', async () => {
    const client = await person('Casey Client');
    const contractor = await person('Dana Contractor');
    const newcomer = await person('Nia Newcomer', false);
    // An offer the contractor must answer, an active escrow contract with a funded milestone, a second active one.
    await contract(client, contractor.id, 'Logo design', 'client_creates', [{ title: 'Sketches', amount: 30000 }]);
    const site = await contract(client, contractor.id, 'Website relaunch', 'sequential_escrow', [{ title: 'Landing page', amount: 150000 }, { title: 'Blog', amount: 50000 }], contractor.api);
    expect((await client.api.post(`/v1/milestones/${site.milestones[0]!.id}/fund`)).status).toBe(200);
    const report = await contract(client, contractor.id, 'Annual report', 'company_managed', [{ title: 'Draft', amount: 20000 }], contractor.api);

    const c = await page(1280, 'list-client');
    const k = await page(390, 'list-contractor');
    await logIn(c, s.url, client.email, PASSWORD);
    await logIn(k, s.url, contractor.email, PASSWORD);

    // The client: escrow and next action per contract.
    const row = (p: Page, title: string) => p.getByRole('row').filter({ hasText: title });
    await seeText(row(c, 'Website relaunch'), /Dana Contractor.*Client.*Active.*\$1,500\.00.*\$0\.00.*Waiting for Dana Contractor’s work/);
    await seeText(row(c, 'Logo design'), /Offer.*Waiting for Dana Contractor to accept the offer/);
    // The contractor (phone: cards): the offer to answer and the work to do.
    await seeText(row(k, 'Logo design'), /Casey Client.*Contractor.*Offer.*Accept or decline the offer/);
    await seeText(row(k, 'Website relaunch'), /Do the work and submit it/);
    // Live: the contractor submits (through the API); the client's list says so without a reload.
    expect((await contractor.api.post(`/v1/milestones/${report.milestones[0]!.id}/submit`, { note: 'First draft' })).status).toBe(200);
    await seeText(row(c, 'Annual report'), 'Review submitted work');
    await checkPage(c, 'contracts list at 1280', 'contracts');
    await checkPage(k, 'contracts list at 390', 'contracts');

    // Filters live in the address: status, then search by title.
    await c.getByLabel('Status').selectOption('proposal');
    await row(c, 'Website relaunch').waitFor({ state: 'detached' });
    await seeText(row(c, 'Logo design'), 'Offer');
    expect(c.url()).toContain('status=proposal');
    await c.getByLabel('Status').selectOption('');
    // Typed key by key: the field keeps focus while the address follows.
    await c.getByLabel('Search').pressSequentially('annual');
    expect(await c.getByLabel('Search').inputValue()).toBe('annual');
    await row(c, 'Website relaunch').waitFor({ state: 'detached' });
    await seeText(row(c, 'Annual report'), 'Active');
    // The search also finds the other party by name.
    await c.getByLabel('Search').fill('dana');
    await seeText(row(c, 'Logo design'), 'Dana Contractor');
    await c.getByLabel('Search').fill('nothing like this');
    await c.getByRole('heading', { name: 'No contracts match' }).waitFor();
    await checkPage(c, 'no match at 1280');
    await c.getByRole('button', { name: 'Clear the filters' }).click();
    await row(c, 'Annual report').waitFor();
    // Sorted by title: A to Z.
    await c.getByLabel('Sort').selectOption('title');
    await c.waitForFunction(() => {
      const titles = [...document.querySelectorAll('tbody tr td:first-child a')].map((a) => a.textContent);
      return titles.join('|') === 'Annual report|Logo design|Website relaunch';
    });
    // By role: the contractor sees nothing as a client.
    await k.getByLabel('My role').selectOption('client');
    await k.getByRole('heading', { name: 'No contracts match' }).waitFor();
    await k.getByLabel('My role').selectOption('contractor');
    await row(k, 'Logo design').waitFor();

    // A newcomer: an empty state that says what to do, with a button.
    const nw = await page(390, 'list-empty');
    await logIn(nw, s.url, newcomer.email, PASSWORD);
    await nw.getByRole('heading', { name: 'No contracts yet' }).waitFor();
    await checkPage(nw, 'empty list at 390', 'contracts-empty');
    await nw.getByRole('link', { name: 'Start a contract' }).click();
    await heading(nw, 'New contract').waitFor();
    expect(await nw.title()).toBe('New contract · Tranche');
    await checkPage(nw, 'new contract at 390', 'new-contract');
  });

  it('contracts list: fifty at a time, then "Show more contracts" loads the next page', async () => {
    const client = await person('Pia Pages');
    const contractor = await person('Otto Other');
    for (let i = 0; i < 55; i++) await contract(client, contractor.id, `Paged ${String(i).padStart(2, '0')}`, 'client_creates', [{ title: 'One', amount: 1000 }]);
    const c = await page(1280, 'list-pages');
    await logIn(c, s.url, client.email, PASSWORD);
    const rows = c.locator('tbody tr');
    await c.getByRole('row').filter({ hasText: 'Paged 54' }).waitFor();
    expect(await rows.count()).toBe(50);
    await c.getByRole('button', { name: 'Show more contracts' }).click();
    await c.getByRole('row').filter({ hasText: 'Paged 00' }).waitFor();
    expect(await rows.count()).toBe(55);
    expect(await c.getByRole('button', { name: 'Show more contracts' }).count()).toBe(0);
  });

  it('new contract: the client (1280 px) makes an offer by email with the way of working in words; the contractor (390 px) sees it and accepts it', async () => {
    const client = await person('Casey Client');
    const contractor = await person('Dana Contractor');
    const c = await page(1280, 'new-client');
    const k = await page(390, 'new-contractor');
    await logIn(c, s.url, client.email, PASSWORD);
    await c.getByRole('link', { name: 'New contract' }).click();
    await heading(c, 'New contract').waitFor();
    // The presets in plain words, each with its line; never an identifier.
    const ways = c.getByRole('radiogroup', { name: 'How you work together' });
    await seeText(ways, 'Escrow, one milestone at a time');
    await seeText(ways, 'Company approves and pays');
    expect(await ways.textContent()).not.toMatch(/_/);
    await c.getByRole('group', { name: 'The work' }).getByLabel('Title').fill('Brand refresh');
    await c.getByLabel('The contractor’s email').fill(contractor.email);
    await ways.getByLabel(/Escrow, one milestone at a time/).check();
    const first = c.getByRole('listitem', { name: 'Milestone 1' });
    await first.getByLabel('Title').fill('Moodboard');
    await first.getByLabel('Amount (USD)').fill('1,200.50');
    await c.getByRole('button', { name: 'Add a milestone' }).click();
    const second = c.getByRole('listitem', { name: 'Milestone 2' });
    await second.getByLabel('Title').fill('Logo');
    await second.getByLabel('Amount (USD)').fill('12.345');
    // Checked in the browser first, in words.
    await c.getByRole('button', { name: 'Send offer' }).click();
    await seeText(c.getByRole('alert'), 'Milestone 2: enter an amount in USD');
    await second.getByLabel('Amount (USD)').fill('800');
    // Someone who is not on the platform: said in words, nothing is created.
    await c.getByLabel('The contractor’s email').fill('nobody-here@example.com');
    await c.getByRole('button', { name: 'Send offer' }).click();
    await seeText(c.getByRole('alert'), 'the other party’s email belongs to nobody on Tranche yet');
    await c.getByLabel('The contractor’s email').fill(contractor.email);
    await c.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
    await checkPage(c, 'new contract at 1280', 'new-contract');
    await c.getByRole('button', { name: 'Send offer' }).click();
    await heading(c, 'Brand refresh').waitFor();
    await seeText(c.getByRole('status'), `Your offer was sent to ${contractor.email}.`);

    // The contractor, on a phone: the offer is in the list with what to do, then accepted.
    await logIn(k, s.url, contractor.email, PASSWORD);
    const row = k.getByRole('row').filter({ hasText: 'Brand refresh' });
    await seeText(row, /Casey Client.*Contractor.*Offer.*Accept or decline the offer/);
    await row.getByRole('link', { name: 'Brand refresh' }).click();
    await heading(k, 'Brand refresh').waitFor();
    await seeText(k.getByRole('region', { name: /Offer from/ }), 'Escrow, one milestone at a time');
    await k.getByRole('button', { name: 'Accept the offer' }).click();
    await seeText(k.getByRole('status'), 'The contract is active.');
    const made = (await client.api.get('/v1/contracts?limit=100')).body.data.find((x: { title: string }) => x.title === 'Brand refresh');
    expect(made).toMatchObject({ status: 'active', clientId: client.id, contractorId: contractor.id, currency: 'USD' });
    expect(made.policy.preset).toBe('sequential_escrow');
    const ms = (await client.api.get(`/v1/contracts/${made.id}/milestones`)).body.data;
    expect(ms.map((m: { title: string; amount: number }) => [m.title, m.amount])).toEqual([['Moodboard', 120050], ['Logo', 80000]]);
    // The client's list: active, with the next step.
    await go(c, 'Contracts');
    await seeText(c.getByRole('row').filter({ hasText: 'Brand refresh' }), /Dana Contractor.*Client.*Active.*Fund the next milestone/);
  });

  it('new contract: the contractor (390 px) offers hourly work with a rate and a weekly limit; the client (1280 px) declines it after a confirmation', async () => {
    const client = await person('Casey Client');
    const contractor = await person('Dana Contractor');
    const k = await page(390, 'hourly-contractor');
    const c = await page(1280, 'hourly-client');
    await logIn(k, s.url, contractor.email, PASSWORD);
    await k.goto(`${s.url}/contracts/new`);
    await heading(k, 'New contract').waitFor();
    await k.getByRole('group', { name: 'The work' }).getByLabel('Title').fill('Support retainer');
    await k.getByLabel(/I am the contractor/).check();
    await k.getByLabel('The client’s email').fill(client.email);
    await k.getByLabel(/^Hourly/).check();
    // Hourly work has one way of working, said in words; no milestones to enter.
    await seeText(k.getByRole('radiogroup', { name: 'How you work together' }), 'Hourly, with payment requests');
    expect(await k.getByRole('group', { name: /Milestones/ }).count()).toBe(0);
    await k.getByLabel('Currency').selectOption('EUR');
    await k.getByLabel('Hourly rate (EUR)').fill('60');
    await k.getByLabel('Weekly limit (hours, optional)').fill('20');
    await checkPage(k, 'hourly offer at 390');
    await k.getByRole('button', { name: 'Send offer' }).click();
    await heading(k, 'Support retainer').waitFor();
    await seeText(k.getByRole('status'), `Your offer was sent to ${client.email}.`);

    await logIn(c, s.url, client.email, PASSWORD);
    const row = c.getByRole('row').filter({ hasText: 'Support retainer' });
    await seeText(row, /Hourly, EUR.*Dana Contractor.*Client.*Offer.*Accept or decline the offer/);
    await row.getByRole('link', { name: 'Support retainer' }).click();
    await heading(c, 'Support retainer').waitFor();
    await c.getByRole('button', { name: 'Decline the offer' }).click();
    await c.getByRole('dialog').getByRole('button', { name: 'Decline the offer' }).click();
    await seeText(c.getByRole('status'), 'The offer was declined.');
    const made = (await contractor.api.get('/v1/contracts?limit=100')).body.data.find((x: { title: string }) => x.title === 'Support retainer');
    expect(made).toMatchObject({ status: 'declined', type: 'hourly', currency: 'EUR', hourlyRate: 6000, weeklyLimitHours: 20, clientId: client.id, contractorId: contractor.id, createdBy: contractor.id });
    expect(made.policy.preset).toBe('hourly_requests');
  });

  for (const width of WIDTHS) {
    it(`payments and earnings at ${width} px: the client pays one draft, then two selected, each after a confirmation naming amount, fee and card; the contractor sees them paid and charted`, async () => {
      const client = await person('Casey Client');
      const contractor = await person('Dana Contractor');
      const k = await contract(client, contractor.id, 'Monthly reporting', 'company_managed', [{ title: 'October report', amount: 42000 }], contractor.api);
      const mid = k.milestones[0]!.id;
      expect((await contractor.api.post(`/v1/milestones/${mid}/submit`, { note: 'done' })).status).toBe(200);
      expect((await client.api.post(`/v1/milestones/${mid}/approve`)).status).toBe(200);
      // Two more drafts on another contract, to pay together.
      const k2 = await contract(client, contractor.id, 'Design retainer', 'company_managed', [{ title: 'Icons', amount: 8000 }, { title: 'Logo files', amount: 5000 }], contractor.api);
      for (const m of k2.milestones) {
        expect((await contractor.api.post(`/v1/milestones/${m.id}/submit`, { note: 'done' })).status).toBe(200);
        expect((await client.api.post(`/v1/milestones/${m.id}/approve`)).status).toBe(200);
      }

      const c = await page(width, 'payments-client');
      const t = await page(width, 'payments-contractor');
      await logIn(c, s.url, client.email, PASSWORD);
      await logIn(t, s.url, contractor.email, PASSWORD);
      await go(c, 'Payments');
      await heading(c, 'Payments').waitFor();
      const row = (p: Page) => p.getByRole('row').filter({ hasText: 'Monthly reporting' });
      // Named by contract and milestone, in words.
      await seeText(row(c), /Monthly reporting.*October report.*Milestone payment.*You pay.*\$420\.00.*To pay/);
      await checkPage(c, `payments at ${width}`, 'payments');

      // Pay asks first: amount, fee, card, what happens next. Cancel changes nothing.
      await row(c).getByRole('button', { name: 'Pay $420.00' }).click();
      const dialog = c.getByRole('dialog', { name: 'Pay October report?' });
      await dialog.waitFor();
      await seeText(dialog, /Amount\s*\$420\.00/);
      await seeText(dialog, /Card\s*Test card that always pays/);
      await seeText(dialog, 'What happens next');
      await checkPage(c, `payment confirmation at ${width}`, 'confirm-payment');
      // A modal: focus starts on Cancel (a stray Enter moves no money), Escape cancels, focus returns to Pay.
      expect(await focusedText(c)).toBe('Cancel');
      await c.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await c.waitForFunction(() => document.activeElement?.textContent === 'Pay $420.00');
      await row(c).getByRole('button', { name: 'Pay $420.00' }).click();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      expect((await client.api.get(`/v1/payments?contractId=${k.id}`)).body.data[0].status).toBe('draft');
      await row(c).getByRole('button', { name: 'Pay $420.00' }).click();
      await dialog.getByRole('button', { name: 'Pay $420.00' }).click();
      await seeText(c.getByRole('status'), '$420.00 paid.');
      // Pay selected: the two others at once, one confirmation with their total.
      await c.getByLabel('Select all to pay').check();
      await c.getByRole('button', { name: 'Pay selected (2)' }).click();
      const both = c.getByRole('dialog', { name: 'Pay 2 payments?' });
      await seeText(both, /Amount\s*\$130\.00/);
      await seeText(both, /Contracts\s*Design retainer/);
      await both.getByRole('button', { name: 'Pay $130.00' }).click();
      await seeText(c.getByRole('status'), '2 payments paid.');
      // The card charges settle in the worker's next run (no worker in tests: run it).
      await expect.poll(async () => {
        await s.admin.post('/v1/admin/jobs/run', {});
        const all = (await client.api.get('/v1/payments?limit=100')).body.data as { status: string }[];
        return all.map((p) => p.status).join();
      }, { timeout: 20_000 }).toBe('paid,paid,paid');

      // The contractor's payments and earnings show it (live, and after navigation).
      await go(t, 'Payments');
      await seeText(row(t), /You receive.*\$420\.00.*Paid/);
      await checkPage(t, `contractor payments at ${width}`);
      await go(t, 'Earnings');
      await heading(t, 'Earnings').waitFor();
      await seeText(t.locator('dl.overview'), /Received\s*\$550\.00/);
      await t.getByRole('img', { name: /Payments received per month in USD/ }).waitFor();
      await checkPage(t, `earnings at ${width}`, 'earnings');
      await expectLedgerClean(s);
    });
  }

  it('earnings at 390 px: the contractor pays out the available balance after a confirmation; the balance is then on its way', async () => {
    const client = await person('Bea Buyer');
    const contractor = await person('Cole Coder');
    const c = await contract(client, contractor.id, 'Data import', 'sequential_escrow', [{ title: 'Importer', amount: 40000 }], contractor.api);
    const m = c.milestones[0]!.id;
    expect((await client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    expect((await contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'done' })).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    const [usd] = (await contractor.api.get('/v1/me/balance')).body.data as { currency: string; available: number }[];
    expect(usd!.available).toBeGreaterThan(0);
    const shown = `$${(usd!.available / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;

    const k = await page(390, 'earnings-payout');
    await logIn(k, s.url, contractor.email, PASSWORD);
    await go(k, 'Earnings');
    const balance = k.getByRole('region', { name: 'Your balance' });
    await seeText(balance, shown);
    await balance.getByRole('button', { name: `Pay out ${shown}` }).click();
    const dialog = k.getByRole('dialog');
    await seeText(dialog, 'reaches your bank account');
    await dialog.getByRole('button', { name: 'Pay out' }).click();
    await seeText(k.getByRole('status'), `${shown} is on its way to your bank.`);
    await seeText(balance.getByRole('list', { name: 'Latest payouts' }), shown);
    await balance.getByRole('button', { name: 'Pay out $0.00' }).waitFor();
    expect(await balance.getByRole('button', { name: 'Pay out $0.00' }).isDisabled()).toBe(true);
    expect(((await contractor.api.get('/v1/me/balance')).body.data as { available: number }[])[0]!.available).toBe(0);
    await checkPage(k, 'earnings with a payout at 390');
    await expectLedgerClean(s);
  });

  it('account at 390 px: the card chosen by name, email per kind of event, the password changed (then used at 1280 px)', async () => {
    const me = await person('Avery Account', false);
    const p = await page(390, 'account');
    await logIn(p, s.url, me.email, PASSWORD);
    await go(p, 'Account');
    await heading(p, 'Account').waitFor();
    await seeText(p.getByRole('form', { name: 'Payment method' }), 'No card yet');
    await checkPage(p, 'account at 390', 'account');
    await p.getByLabel(/Test card that is declined/).check();
    await p.getByRole('button', { name: 'Save card' }).click();
    await seeText(p.getByRole('status'), 'Saved: Test card that is declined pays from now on.');
    expect((await me.api.get('/v1/me')).body.user.defaultPaymentMethod).toBe('pm_card_declined');
    await expectNoHorizontalScroll(p, 'account after saving');

    // Email per kind of event, in words: messages stay in the app only.
    const prefs = p.getByRole('form', { name: 'Email notifications' });
    await prefs.getByRole('group', { name: 'Messages' }).getByLabel('A message is written to you').uncheck();
    await prefs.getByRole('button', { name: 'Save email preferences' }).click();
    await seeText(p.getByRole('status'), 'Your email preferences are saved.');
    const saved = (await me.api.get('/v1/me/notification-preferences')).body.email;
    expect(saved['message.created']).toBe(false);
    expect(saved['milestone.funded']).toBe(true);

    // The password: a wrong current one is said in words; then the new one logs in.
    const pw = p.getByRole('form', { name: 'Password' });
    await pw.getByLabel('Current password').fill('not-my-password');
    await pw.getByLabel('New password', { exact: true }).fill('a-brand-new-password');
    await pw.getByLabel('New password again').fill('a-brand-new-password');
    await pw.getByRole('button', { name: 'Change password' }).click();
    await seeText(p.getByRole('alert'), 'Your current password is not correct.');
    await pw.getByLabel('Current password').fill(PASSWORD);
    await pw.getByRole('button', { name: 'Change password' }).click();
    await seeText(p.getByRole('status'), 'Your password is changed.');
    const again = await page(1280, 'account-new-password');
    await logIn(again, s.url, me.email, 'a-brand-new-password');
    await checkPage(p, 'account at 390 after changes');
  });

  it('platform admin (1280 px, and its pages at 390 px) resolves a dispute with a split that must add up to the escrow; both parties see the outcome', async () => {
    const client = await person('Casey Client');
    const contractor = await person('Dana Contractor');
    const k = await contract(client, contractor.id, 'Mobile app', 'sequential_escrow', [{ title: 'Prototype', amount: 100000 }], contractor.api);
    const mid = k.milestones[0]!.id;
    expect((await client.api.post(`/v1/milestones/${mid}/fund`)).status).toBe(200);
    expect((await client.api.post(`/v1/milestones/${mid}/dispute`, { reason: 'Half of the screens are missing' })).status).toBe(201);

    const admin = await page(1280, 'admin');
    await admin.goto(`${s.url}/admin`);
    await heading(admin, 'Platform admin').waitFor();
    await checkPage(admin, 'admin sign-in at 1280', 'admin-sign-in');
    await admin.getByLabel('Admin token').fill('not-a-token');
    await admin.getByRole('button', { name: 'Sign in as admin' }).click();
    await seeText(admin.getByRole('alert'), 'This is not the platform’s admin token.');
    await admin.getByLabel('Admin token').fill(s.admin.token!);
    await admin.getByRole('button', { name: 'Sign in as admin' }).click();
    await heading(admin, 'Disputes to resolve').waitFor();
    expect(await admin.title()).toBe('Disputes to resolve · Tranche');
    const card = admin.getByRole('article', { name: 'Mobile app' });
    await seeText(card, /Milestone “Prototype”.*\$1,000\.00.*Half of the screens are missing/s);
    // A split that does not add up cannot be sent.
    await card.getByLabel('Release to the contractor (USD)').fill('600');
    await card.getByLabel('Refund to the client (USD)').fill('300');
    await seeText(card, 'Release and refund must add up to $1,000.00; now $900.00.');
    expect(await card.getByRole('button', { name: 'Resolve dispute' }).isDisabled()).toBe(true);
    await checkPage(admin, 'admin disputes at 1280', 'admin-disputes');
    // The same pages on a phone (another tab: the token is kept per tab, so it signs in again).
    const phone = await page(390, 'admin-phone');
    await phone.goto(`${s.url}/admin`);
    await heading(phone, 'Platform admin').waitFor();
    await checkPage(phone, 'admin sign-in at 390');
    await phone.getByLabel('Admin token').fill(s.admin.token!);
    await phone.getByRole('button', { name: 'Sign in as admin' }).click();
    await seeText(phone.getByRole('article', { name: 'Mobile app' }), 'Half of the screens are missing');
    await checkPage(phone, 'admin disputes at 390', 'admin-disputes');
    await card.getByLabel('Refund to the client (USD)').fill('400');
    await seeText(card, 'Adds up to the $1,000.00 held.');
    await card.getByRole('button', { name: 'Resolve dispute' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Resolve the dispute on Mobile app?' });
    await seeText(dialog, /Released to the contractor\s*\$600\.00/);
    await dialog.getByRole('button', { name: 'Resolve dispute' }).click();
    await seeText(admin.getByRole('status'), 'The dispute on Mobile app is resolved: $600.00 released, $400.00 refunded.');
    await admin.getByRole('heading', { name: 'No open disputes' }).waitFor();
    // The token lives in this tab only.
    expect(await admin.evaluate(() => sessionStorage.getItem('tranche.adminToken'))).toBe(s.admin.token);
    expect(await admin.evaluate(() => localStorage.length + document.cookie.length)).toBe(0);

    // The parties, each in their own context: the contractor received the release, the client sees the list.
    const t = await page(390, 'admin-contractor');
    await logIn(t, s.url, contractor.email, PASSWORD);
    await go(t, 'Payments');
    await seeText(t.getByRole('row').filter({ hasText: 'Mobile app' }), /Dispute settlement.*You receive.*\$600\.00/);
    const m = (await client.api.get(`/v1/milestones/${mid}`)).body;
    expect(m).toMatchObject({ releasedAmount: 60000, refundedAmount: 40000, inEscrow: 0 });
    await expectLedgerClean(s);
  });
});
