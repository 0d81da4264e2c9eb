import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { ensureWebBuilt, launchChromium, logIn, STEP } from './browser.ts';
import { startTestServer, type TestServer } from './harness.ts';

/**
 * What the contract-page browser tests share (test/e2e/contract-*.test.ts): the real server on
 * PGlite, Debian's Chromium, people signed in in browser contexts of their own, at a desktop
 * width or a phone's (390 px), and a few ways to read the page.
 */
export const PASSWORD = 'contract-web-password-42';
export const PHONE = 390;

export type Person = { id: string; email: string; page: Page; name: string };

export class ContractWorld {
  s!: TestServer;
  private browser!: Browser;
  private readonly contexts: BrowserContext[] = [];
  private readonly pages: { name: string; page: Page }[] = [];

  async start(): Promise<void> {
    ensureWebBuilt();
    [this.s, this.browser] = await Promise.all([startTestServer('pglite'), launchChromium()]);
  }

  async stop(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.s?.stop();
  }

  /** A user with a password (and, for a client, the test card that pays), signed in at `width`. */
  async person(name: string, opts: { width?: number; card?: boolean } = {}): Promise<Person> {
    const email = `${name.toLowerCase().replace(/\W/g, '')}-${Date.now().toString(36)}-${this.pages.length}@example.com`;
    const r = await this.s.admin.post('/v1/users', { email, name, password: PASSWORD });
    if (r.status !== 201) throw new Error(`create user: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.id as string;
    if (opts.card) {
      const pm = await this.s.admin.actingAs(id).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' });
      if (pm.status !== 200) throw new Error(`payment method: ${pm.status}`);
    }
    const width = opts.width ?? 1280;
    const ctx = await this.browser.newContext({ viewport: { width, height: width < 600 ? 844 : 900 }, locale: 'en-US', timezoneId: 'UTC' });
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    page.setDefaultTimeout(STEP);
    this.pages.push({ name, page });
    await logIn(page, this.s.url, email, PASSWORD);
    return { id, email, page, name };
  }

  /** Acts through the API as `userId` (test set-up only: what is under test is done in the browser). */
  as(userId: string) {
    return this.s.admin.actingAs(userId);
  }

  /** Screenshots of every page, for whoever reads a failure. */
  async screenshots(tag: string): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), `tranche-${tag}-`));
    for (const [i, p] of this.pages.entries()) await p.page.screenshot({ path: join(dir, `${i}-${p.name.replace(/\W/g, '')}.png`), fullPage: true }).catch(() => undefined);
    return dir;
  }
}

/** Waits until the locator's text contains `text` (playwright-core has no auto-retrying expect). */
export const seeText = (loc: Locator, text: string | RegExp) => loc.filter({ hasText: text }).first().waitFor();

export const statusRegion = (page: Page) => page.getByRole('status');
export const milestoneCard = (page: Page, title: string) => page.getByRole('article', { name: title, exact: true });

/** Opens the contract from the contracts list. */
export async function openContract(page: Page, title: string): Promise<void> {
  await page.getByRole('link', { name: title }).first().click();
  await page.getByRole('heading', { name: title, level: 1 }).waitFor();
}

/** The confirmation dialog: checks it says `expect` (each piece), then presses `button`. */
export async function confirmIn(page: Page, button: string | RegExp, expect: (string | RegExp)[] = []): Promise<void> {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  for (const e of expect) await seeText(dialog, e);
  await dialog.getByRole('button', { name: button }).click();
  await dialog.waitFor({ state: 'hidden' });
}
