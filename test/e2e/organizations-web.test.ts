import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage } from '../support/a11y.ts';
import { BrowserPeople, ensureWebBuilt, haveChromium, launchChromium, logIn } from '../support/browser.ts';
import { inDays, startTestServer, type TestServer } from '../support/harness.ts';
import { startMailbox, type Mail } from '../support/mailbox.ts';
import { runJobs } from '../support/negotiation-helpers.ts';

const PASSWORD = 'organisations-web-password';

/** The invitation token of the newest mail to `email` (quoted-printable soft breaks may split the link). */
function tokenFor(mails: Mail[], email: string): string {
  const mail = [...mails].reverse().find((m) => m.to.includes(email));
  if (!mail) throw new Error(`no mail to ${email}`);
  const m = /\/invitations\/([A-Za-z0-9_-]{20,100})/.exec(mail.raw.replace(/=\r?\n/g, ''));
  if (!m) throw new Error('no invitation link in the mail');
  return m[1]!;
}

const seeText = (page: Page, text: string | RegExp) => page.getByText(text).first().waitFor();

// Issue 11's web part: an owner founds an organisation and invites a manager through the pages,
// the invitee joins from the email's link with a new account, and the manager/finance split
// shows: the manager sees no settings, invitations or Pay button; the owner pays the contractor.
describe.skipIf(!haveChromium)('organisation pages in the browser', () => {
  let s: TestServer;
  let smtp: Awaited<ReturnType<typeof startMailbox>>;
  let browser: Browser;
  const people = new BrowserPeople(() => browser);
  beforeAll(async () => {
    ensureWebBuilt();
    smtp = await startMailbox();
    [s, browser] = await Promise.all([startTestServer('pglite', { SMTP_URL: smtp.url }), launchChromium()]);
  }, 180_000);
  afterAll(async () => {
    await people.closeAll();
    await browser?.close().catch(() => undefined);
    await s?.stop();
    await smtp?.close();
  });

  it('found, invite, join from the link; a manager and a finance member see what their roles allow', async () => {
    const email = `olive-${Date.now().toString(36)}@example.com`;
    const owner = await s.admin.post('/v1/users', { email, name: 'Olive Owner', password: PASSWORD });
    expect(owner.status).toBe(201);
    const op = await people.newPage();
    await logIn(op, s.url, email, PASSWORD);

    // Found the organisation.
    await op.getByRole('link', { name: 'Organisations' }).first().click();
    await op.getByRole('heading', { name: 'Organisations', level: 1 }).waitFor();
    await op.getByLabel('Name').fill('Globex');
    await op.getByRole('button', { name: 'Found it' }).click();
    await op.getByRole('heading', { name: 'Globex', level: 1 }).waitFor();
    await seeText(op, 'Your roles: owner');
    const orgId = /\/organizations\/(org_[^/?#]+)/.exec(op.url())![1]!;

    // Invite a manager: the email carries the link.
    const invitee = `max-${Date.now().toString(36)}@example.com`;
    const invite = op.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('Email').fill(invitee);
    await invite.getByLabel(/^Viewer/).uncheck();
    await invite.getByLabel(/^Manager/).check();
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await seeText(op, `Invitation sent to ${invitee}`);
    await op.getByRole('cell', { name: invitee }).waitFor();
    await checkPage(op, 'organisation page (owner)');
    await runJobs(s);
    const token = tokenFor(smtp.mails, invitee);

    // The invitee opens the link signed out, on a phone, creates an account and joins.
    const mp = await people.newPage({ width: 390 });
    await mp.goto(`${s.url}/invitations/${token}`);
    await mp.getByRole('heading', { name: 'Join an organisation', level: 1 }).waitFor();
    await checkPage(mp, 'invitation page');
    await mp.getByLabel('Your name').fill('Max Manager');
    await mp.getByLabel('Choose a password').fill(PASSWORD);
    await mp.getByRole('button', { name: 'Create my account and join' }).click();
    await mp.getByRole('heading', { name: 'Globex', level: 1 }).waitFor();
    await seeText(mp, 'Your roles: manager');
    // The manager sees members with roles, but no invitations, settings or role changes.
    await mp.getByRole('heading', { name: 'Members' }).waitFor();
    await seeText(mp, 'Olive Owner');
    expect(await mp.getByRole('heading', { name: 'Invitations' }).count()).toBe(0);
    expect(await mp.getByRole('heading', { name: 'Settings' }).count()).toBe(0);
    expect(await mp.getByRole('button', { name: 'Change roles' }).count()).toBe(0);
    await checkPage(mp, 'organisation page (manager)');
    // The link was used: a second use is refused with the sentence for it.
    const again = await s.api.as(null).post(`/v1/invitations/${token}/accept`, { name: 'Again', password: PASSWORD });
    expect(again.status).toBe(410);

    // Work on a no-escrow contract: the contractor's approved milestone is a draft to pay.
    const contractor = await s.admin.post('/v1/users', { email: `cora-${Date.now().toString(36)}@example.com`, name: 'Cora Contractor', password: PASSWORD });
    const ownerApi = s.admin.actingAs(owner.body.id);
    expect((await ownerApi.put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await ownerApi.post('/v1/contracts', {
      title: 'Brochure', clientId: orgId, contractorId: contractor.body.id, type: 'fixed', currency: 'USD', policy: 'company_managed',
      milestones: [{ title: 'Layout', amount: 30000, dueDate: inDays(20) }],
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const asContractor = s.admin.actingAs(contractor.body.id);
    const activated = await asContractor.post(`/v1/contracts/${c.body.id}/activate`);
    expect(activated.status).toBe(200);
    const mid = activated.body.milestones[0].id as string;
    expect((await asContractor.post(`/v1/milestones/${mid}/submit`, {})).status).toBe(200);
    expect((await ownerApi.post(`/v1/milestones/${mid}/approve`)).status).toBe(200);

    // The manager opens the contractor's profile: the approved milestone, and no Pay button.
    await mp.reload();
    await mp.getByRole('link', { name: 'Cora Contractor' }).click();
    await mp.getByRole('heading', { name: 'Cora Contractor', level: 1 }).waitFor();
    await mp.getByRole('tab', { name: 'Approved' }).click();
    await mp.getByRole('link', { name: 'Layout' }).waitFor();
    await mp.getByRole('tab', { name: 'Pay contractor' }).click();
    await seeText(mp, 'Paying is for members with the finance role.');
    expect(await mp.getByRole('button', { name: 'Pay selected' }).count()).toBe(0);
    await checkPage(mp, 'contractor page (manager)');

    // The owner (every role) pays it from the same tab.
    await op.goto(`${s.url}/organizations/${orgId}/contractors/${contractor.body.id}`);
    await op.getByRole('heading', { name: 'Cora Contractor', level: 1 }).waitFor();
    await op.getByRole('tab', { name: 'Pay contractor' }).click();
    await op.getByRole('checkbox', { name: 'Select $300.00' }).check();
    await op.getByRole('button', { name: 'Pay selected' }).click();
    await seeText(op, '1 paid.');
    const paid = await ownerApi.get(`/v1/payments?contractId=${c.body.id}`);
    expect(paid.body.data.map((p: { status: string }) => p.status)).toEqual(['paid']);
  }, 240_000);
});
