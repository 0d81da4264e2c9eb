import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { checkPage } from '../support/a11y.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Seed 000 from the web app alone ("Company approves and pays", no escrow): the company adds,
// edits and deletes milestones alone; the contractor (on a phone) submits work with a file
// (a file of a refused type is stopped before upload); the company sees the file, rejects one
// with a reason, approves — each approval drafts a payment shown as "to pay" with a Pay button —
// and pays two drafts at once after a confirmation with the amount, the fee and the card.

describe.skipIf(!haveChromium)('contract page: company approves and pays (seed 000)', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('adds, edits, deletes; pending and approved; pays the contractor', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-company failed: screenshots in ${await w.screenshots('contract-company')}\n`);
    });
    await w.s.admin.patch('/v1/admin/platform', { fees: { clientBps: 200, contractorBps: 0 } });
    const company = await w.person('Acme Payroll', { card: true });
    const contractor = await w.person('Dana Contractor', { width: PHONE });
    const created = await w.as(company.id).post('/v1/contracts', {
      title: 'Support desk', clientId: company.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'company_managed',
      milestones: [{ title: 'Extra', amount: 10000, dueDate: inDays(5) }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await w.as(contractor.id).post(`/v1/contracts/${created.body.id}/activate`)).status).toBe(200);

    // The company adds two milestones: they apply at once.
    const kp = company.page;
    await openContract(kp, 'Support desk');
    const add = kp.getByRole('region', { name: 'Add a milestone' });
    for (const [title, amount] of [['Onboarding', '800'], ['Audit', '1,200.00']] as const) {
      await add.getByLabel('Title').fill(title);
      await add.getByLabel('Amount (USD)').fill(amount);
      await add.getByLabel('Due date').fill(inDays(14));
      await add.getByRole('button', { name: 'Add milestone' }).click();
      await seeText(statusRegion(kp), `Milestone “${title}” added.`);
    }

    // It renames Audit, deletes Extra and adds Training in one go; no one else has to agree.
    await kp.getByRole('button', { name: 'Manage milestones' }).click();
    const plan = kp.getByRole('region', { name: 'Manage milestones' });
    await seeText(plan, 'Your changes apply as soon as you save them.');
    await plan.getByRole('button', { name: 'Edit “Audit”' }).click();
    await plan.getByLabel('Title').fill('Security audit');
    await plan.getByRole('button', { name: 'Remove “Extra”' }).click();
    await plan.getByRole('button', { name: 'Add a milestone to the plan' }).click();
    await plan.getByLabel('Title').fill('Training');
    await plan.getByLabel('Amount (USD)').fill('300');
    await plan.getByLabel('Due date').fill(inDays(21));
    await seeText(plan, '3 changes planned.');
    await plan.getByRole('button', { name: 'Show changes' }).click();
    await seeText(plan.getByRole('region', { name: 'Preview of your changes' }), 'Saving applies these changes at once.');
    await seeText(plan.getByRole('region', { name: 'Preview of your changes' }), /Added\s*Title\s*Training/);
    await plan.getByRole('button', { name: 'Save changes' }).click();
    await seeText(statusRegion(kp), 'The milestones were saved.');
    await milestoneCard(kp, 'Security audit').waitFor();
    await seeText(kp.getByRole('region', { name: /^Refunded or cancelled/ }).getByRole('article', { name: 'Extra' }), 'Cancelled');
    expect(await kp.getByRole('region', { name: /^Pending/ }).getByRole('article', { name: 'Extra' }).count()).toBe(0);
    await milestoneCard(kp, 'Training').waitFor();
    await seeText(kp.getByRole('region', { name: 'Payment overview' }), /Agreed total\s*\$2,300\.00/);

    // The contractor submits Onboarding with a file; a file of a refused type never leaves the phone.
    const cp = contractor.page;
    await openContract(cp, 'Support desk');
    const dir = mkdtempSync(join(tmpdir(), 'tranche-files-'));
    writeFileSync(join(dir, 'report.txt'), 'Onboarding done: 12 agents trained.\n');
    writeFileSync(join(dir, 'tool.exe'), 'MZ not really a program');
    const onboarding = milestoneCard(cp, 'Onboarding');
    await onboarding.getByRole('button', { name: 'Submit work' }).click();
    await onboarding.getByLabel('Note for the client').fill('All agents are trained.');
    await onboarding.getByLabel('Deliverables').setInputFiles(join(dir, 'tool.exe'));
    await seeText(onboarding.getByRole('alert'), 'tool.exe is not a file type Tranche accepts');
    await onboarding.getByRole('button', { name: 'Remove tool.exe' }).click();
    await onboarding.getByLabel('Deliverables').setInputFiles(join(dir, 'report.txt'));
    await seeText(onboarding.getByRole('list', { name: 'Deliverables: chosen files' }), /report\.txt.*uploaded/);
    await onboarding.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(statusRegion(cp), '“Onboarding” was submitted for review.');
    await checkPage(cp, 'contract page, contractor at 390 px (no escrow)', 'contract-company-contractor');

    // The company sees the note and the file, and approves: a payment is drafted, to pay.
    const ko = milestoneCard(kp, 'Onboarding');
    await seeText(ko, 'All agents are trained.');
    const link = ko.getByRole('link', { name: 'report.txt' });
    await link.waitFor();
    const download = await kp.request.get(new URL((await link.getAttribute('href'))!, w.s.url).toString());
    expect(await download.text()).toBe('Onboarding done: 12 agents trained.\n');
    await ko.getByRole('button', { name: 'Approve' }).click();
    await confirmIn(kp, 'Approve', ['a payment of $800.00 is drafted']);
    await seeText(kp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Onboarding' }), 'Approved');
    const drafts = kp.getByRole('region', { name: 'Approved, to pay' });
    await drafts.getByRole('button', { name: 'Pay $800.00 for “Onboarding”' }).waitFor();
    await seeText(cp.getByRole('region', { name: 'Approved, waiting for payment' }), 'Onboarding');

    // Security audit: sent back with a reason, resubmitted, approved.
    const audit = milestoneCard(cp, 'Security audit');
    await audit.getByRole('button', { name: 'Submit work' }).click();
    await audit.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(statusRegion(cp), 'was submitted for review');
    const ka = milestoneCard(kp, 'Security audit');
    await ka.getByRole('button', { name: 'Reject' }).click();
    await ka.getByLabel('Reason for sending it back').fill('The VPN review is missing.');
    await ka.getByRole('button', { name: 'Send back' }).click();
    await seeText(audit, 'Sent back: The VPN review is missing.');
    await audit.getByRole('button', { name: 'Submit work' }).click();
    await audit.getByLabel('Note for the client').fill('VPN reviewed.');
    await audit.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(ka, 'VPN reviewed.');
    await ka.getByRole('button', { name: 'Approve' }).click();
    await confirmIn(kp, 'Approve');

    // Both drafts paid at once: the confirmation names the total, the 2 % fee and the card.
    await drafts.getByRole('checkbox', { name: /Onboarding/ }).check();
    await drafts.getByRole('checkbox', { name: /Security audit/ }).check();
    await drafts.getByRole('button', { name: /Pay selected \(2\)/ }).click();
    await confirmIn(kp, 'Pay $2,000.00', ['$2,000.00', '$40.00', 'Test card that always pays', '$2,040.00']);
    await seeText(statusRegion(kp), '2 payments of $2,000.00 in all were paid.');
    await drafts.waitFor({ state: 'detached' });
    await seeText(cp.getByRole('region', { name: 'Payment overview' }), /Paid\s*\$2,000\.00/);
    await seeText(kp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Security audit' }), 'Paid');
    await checkPage(kp, 'contract page, company at 1280 px', 'contract-company-client');

    await expectLedgerClean(w.s);
  }, 240_000);
});
