import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** What every browser test shares: Debian's Chromium driven by playwright-core, the built web app, logged-in pages. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
/** The longest single wait for something to appear, on a loaded 2-core machine. */
export const STEP = 20_000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Builds the web app once if `npm test` has not (a test file run on its own). */
export function ensureWebBuilt(): void {
  if (!existsSync(join(ROOT, 'web/dist/index.html'))) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  }
}

/** Headless, sandbox-free (root in CI), and quiet: no background connections to a closed network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Pages in contexts of their own (one person each), all closed together. */
export class BrowserPeople {
  private readonly contexts: BrowserContext[] = [];
  constructor(private readonly browser: () => Browser) {}

  /** `width: 390` is a phone (touch, mobile viewport); the default is a 1280 px desktop. */
  async newPage(opts: { height?: number; width?: number; timezoneId?: string } = {}): Promise<Page> {
    const phone = (opts.width ?? 1280) <= 480;
    const ctx = await this.browser().newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? (phone ? 844 : 900) }, ...(phone && { isMobile: true, hasTouch: true, deviceScaleFactor: 2 }), locale: 'en-US', ...(opts.timezoneId && { timezoneId: opts.timezoneId }) });
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    page.setDefaultTimeout(STEP);
    return page;
  }

  async closeAll(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
  }
}

/** Logs in through the app's form and waits for the contracts page. */
export async function logIn(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Contracts', level: 1 }).waitFor();
}
