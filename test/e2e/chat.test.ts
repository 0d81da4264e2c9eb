import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { BrowserPeople, ensureWebBuilt, haveChromium, launchChromium, logIn, STEP } from '../support/browser.ts';
import { inDays, startTestServer, type TestServer } from '../support/harness.ts';

// Two parties chat in two browser contexts: messages, an attachment, the unread counters and
// the other party's page (thread, milestones, notifications) change without a reload.

const PASSWORD = 'chat-test-password-42';

describe.skipIf(!haveChromium)('chat in the web app (Chromium)', () => {
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

  const newPage = () => people.newPage();
  const login = (page: Page, email: string) => logIn(page, s.url, email, PASSWORD);

  const seeText = (loc: Locator, text: string | RegExp) => loc.filter({ hasText: text }).first().waitFor();
  const thread = (page: Page) => page.getByRole('list', { name: 'Conversation thread' });

  it('two parties chat; the other side updates live', async () => {
    const tag = Date.now().toString(36);
    const mk = async (email: string, name: string) => {
      const r = await s.admin.post('/v1/users', { email, name, password: PASSWORD });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const clientEmail = `chat-client-${tag}@example.com`;
    const contractorEmail = `chat-contractor-${tag}@example.com`;
    const clientId = await mk(clientEmail, 'Casey Client');
    const contractorId = await mk(contractorEmail, 'Dana Contractor');
    expect((await s.admin.actingAs(clientId).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const created = await s.admin.actingAs(clientId).post('/v1/contracts', {
      title: 'Chatty project', clientId, contractorId, type: 'fixed', currency: 'USD', policy: 'client_creates',
      milestones: [{ title: 'Kick-off', amount: 20000, dueDate: inDays(10) }],
    });
    expect(created.status).toBe(201);
    expect((await s.admin.actingAs(contractorId).post(`/v1/contracts/${created.body.id}/activate`)).status).toBe(200);

    const client = await newPage();
    const contractor = await newPage();
    onTestFailed(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tranche-chat-failed-'));
      await client.screenshot({ path: join(dir, 'client.png'), fullPage: true }).catch(() => undefined);
      await contractor.screenshot({ path: join(dir, 'contractor.png'), fullPage: true }).catch(() => undefined);
      process.stderr.write(`chat e2e failed: screenshots in ${dir}\n`);
    });

    await login(client, clientEmail);
    await login(contractor, contractorEmail);
    // The contractor stays on the contract list; the client opens the contract.
    await client.getByRole('link', { name: 'Chatty project' }).click();
    await client.getByRole('heading', { name: 'Chatty project', level: 1 }).waitFor();
    await client.getByRole('region', { name: 'Conversation' }).getByText('No messages yet.').waitFor();

    // The client writes, with a file attached.
    const notes = join(mkdtempSync(join(tmpdir(), 'tranche-chat-')), 'brief.txt');
    writeFileSync(notes, 'The brief, in plain text.\n');
    await client.getByLabel('Message').fill('Hello Dana, the brief is attached.');
    await client.getByLabel('Attach files').setInputFiles(notes);
    await client.getByRole('button', { name: 'Send' }).click();
    await seeText(thread(client).getByRole('listitem'), 'Hello Dana, the brief is attached.');

    // Without a reload, the contractor's list shows one unread message, and so does the header.
    const row = contractor.getByRole('row').filter({ hasText: 'Chatty project' });
    await row.getByLabel('1 unread messages').waitFor();
    await contractor.getByRole('navigation', { name: 'Main' }).getByLabel('1 unread messages').waitFor();
    await contractor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Notifications.*unread/ }).waitFor();

    // The contractor opens it: the message and its attachment are there; reading clears the counters.
    await contractor.getByRole('link', { name: 'Chatty project' }).click();
    await seeText(thread(contractor).getByRole('listitem'), 'Hello Dana, the brief is attached.');
    await thread(contractor).getByRole('link', { name: 'brief.txt' }).waitFor();
    await contractor.getByRole('navigation', { name: 'Main' }).getByLabel('1 unread messages').waitFor({ state: 'detached' });

    // The contractor answers; the client's open page shows it at once.
    await contractor.getByLabel('Message').fill('Thanks Casey, starting today.');
    await contractor.getByRole('button', { name: 'Send' }).click();
    await seeText(thread(client).getByRole('listitem'), 'Thanks Casey, starting today.');
    await seeText(thread(client).getByRole('listitem'), /Contractor/);

    // Contract changes travel live as well: the client adds a milestone, it appears on the
    // contractor's page, who accepts it, and the client's page shows it accepted.
    const add = client.getByRole('region', { name: 'Add a milestone' });
    await add.getByLabel('Title').fill('Design');
    await add.getByLabel('Amount (USD)').fill('300.00');
    await add.getByLabel('Due date').fill(inDays(20));
    await add.getByRole('button', { name: 'Add milestone' }).click();
    await contractor.getByRole('article', { name: 'Design' }).getByRole('button', { name: 'Accept' }).click();
    await seeText(client.getByRole('article', { name: 'Design' }), /accepted/i);
    await seeText(client.getByRole('region', { name: 'Activity' }).getByRole('listitem'), 'started the conversation');

    // Notifications can be read one by one and all at once.
    await contractor.getByRole('link', { name: /^Notifications/ }).click();
    await contractor.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await client.getByLabel('Message').fill('One more thing.');
    await client.getByRole('button', { name: 'Send' }).click();
    const unreadItem = contractor.getByRole('listitem', { name: /^Unread: New message/ });
    await unreadItem.first().waitFor();
    const before = await contractor.getByRole('listitem', { name: /^Unread:/ }).count();
    expect(before).toBeGreaterThan(0);
    await contractor.getByRole('listitem', { name: /^Unread:/ }).first().getByRole('button', { name: 'Mark as read' }).click();
    await expect.poll(() => contractor.getByRole('listitem', { name: /^Unread:/ }).count(), { timeout: STEP }).toBe(before - 1);
    if (before > 1) {
      await contractor.getByRole('button', { name: 'Mark all as read' }).click();
      await expect.poll(() => contractor.getByRole('listitem', { name: /^Unread:/ }).count(), { timeout: STEP }).toBe(0);
    }
    await contractor.getByRole('link', { name: /^Notifications/ }).getByLabel(/unread/).waitFor({ state: 'detached' });
  });
});
