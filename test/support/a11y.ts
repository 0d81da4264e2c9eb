import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/**
 * Checks every page of the web app shares: axe-core finds no serious or critical violation,
 * and at phone width nothing scrolls sideways. Screenshots of the main pages go to
 * test-output/screenshots/ (gitignored); the best are copied to docs/screenshots/ by hand.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AXE = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] };

/** Runs axe-core in the page (evaluated, so the app's Content-Security-Policy does not block it); throws listing serious/critical violations. */
export async function expectNoSeriousA11yViolations(page: Page, where: string): Promise<void> {
  // page.evaluate runs outside the page's CSP, unlike an injected <script>.
  await page.evaluate(`if (!window.axe) { ${AXE}\n }`);
  const violations = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Violation[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  })) as Violation[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const text = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `   at ${n.target.join(' ')} — ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
    throw new Error(`axe on ${where}: ${bad.length} serious/critical violation(s)\n${text}`);
  }
}

/** The page is no wider than the viewport: no sideways scrolling (checked at 390 px). */
export async function expectNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const m = await page.evaluate(() => {
    const d = document.documentElement;
    // The widest elements, to say what overflows.
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > d.clientWidth + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}`);
    return { scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, wide };
  });
  if (m.scrollWidth > m.clientWidth) throw new Error(`${where} scrolls sideways: ${m.scrollWidth} > ${m.clientWidth} px (${m.wide.join(', ')})`);
}

/** Both checks, and a full-page screenshot `name-<width>.png` when a name is given. */
export async function checkPage(page: Page, where: string, screenshot?: string): Promise<void> {
  await expectNoSeriousA11yViolations(page, where);
  const width = page.viewportSize()?.width ?? 1280;
  if (width <= 480) await expectNoHorizontalScroll(page, where);
  if (screenshot) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}-${width}.png`), fullPage: true });
  }
}
