import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { checkPage } from '../support/a11y.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Seed 004 from the web app alone ("Every change agreed, funded before work"): the specialist
// accepts the initial milestones with the offer and sees the client's details; every later
// change — a new milestone, an edit, a removal, a new order — waits for them: they accept a new
// milestone, answer a change set by modifying it (a counter-proposal the client accepts) and
// decline another with a reason. Then the client funds before work and releases the payment.

describe.skipIf(!haveChromium)('contract page: every change accepted (seed 004)', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('accepts, modifies and declines changes, then funds and releases', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-changes failed: screenshots in ${await w.screenshots('contract-changes')}\n`);
    });
    const client = await w.person('Casey Client', { card: true, width: PHONE });
    const contractor = await w.person('Sam Specialist');
    const created = await w.as(client.id).post('/v1/contracts', {
      title: 'Kitchen plans', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'EUR', policy: 'accept_every_change',
      milestones: [
        { title: 'Survey', amount: 40000, dueDate: inDays(7) },
        { title: 'Drawings', amount: 90000, dueDate: inDays(21) },
        { title: 'Permits', amount: 25000, dueDate: inDays(35) },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // The specialist reads the offer, with the client's name, and accepts it.
    const sp = contractor.page;
    await openContract(sp, 'Kitchen plans');
    await seeText(sp.getByRole('region', { name: 'Your client' }), 'Casey Client');
    const offer = sp.getByRole('region', { name: 'Offer from Casey Client' });
    await seeText(offer, 'Every change agreed, funded before work');
    await seeText(offer, '3, €1,550.00 in all');
    await offer.getByRole('button', { name: 'Accept the offer' }).click();
    await seeText(statusRegion(sp), 'The contract is active.');

    // The client (on a phone) adds a milestone: it waits for the specialist, who accepts it.
    const cp = client.page;
    await openContract(cp, 'Kitchen plans');
    await seeText(cp.getByRole('region', { name: 'Your contractor' }), 'Sam Specialist');
    const add = cp.getByRole('region', { name: 'Add a milestone' });
    await add.getByLabel('Title').fill('Site visit');
    await add.getByLabel('Amount (EUR)').fill('150');
    await add.getByLabel('Due date').fill(inDays(10));
    await add.getByRole('button', { name: 'Add milestone' }).click();
    await seeText(statusRegion(cp), 'the contractor must accept it');
    await seeText(cp.getByRole('region', { name: 'Payment overview' }), /Proposed: €1,700\.00/);
    await milestoneCard(sp, 'Site visit').getByRole('button', { name: 'Accept' }).click();
    await seeText(statusRegion(sp), '“Site visit” was accepted.');
    await seeText(milestoneCard(cp, 'Site visit'), 'Accepted');

    // The client plans changes: Drawings costs more, Permits goes, Site visit moves up (buttons).
    await cp.getByRole('button', { name: 'Manage milestones' }).click();
    const plan = cp.getByRole('region', { name: 'Manage milestones' });
    await plan.getByRole('button', { name: 'Edit “Drawings”' }).click();
    await plan.getByLabel('Amount (EUR)').fill('1,000.00');
    await plan.getByRole('button', { name: 'Remove “Permits”' }).click();
    await plan.getByRole('button', { name: 'Move “Site visit” up' }).click();
    await cp.getByText('“Site visit” moved to place 2 of 3.').waitFor({ state: 'attached' });
    await plan.getByRole('button', { name: 'Show changes' }).click();
    const preview = plan.getByRole('region', { name: 'Preview of your changes' });
    await seeText(preview, /Agreed total €1,700\.00 → proposed €1,550\.00/);
    await seeText(preview, /Removed\s*Title\s*Permits/);
    await plan.getByRole('button', { name: 'Send changes to the contractor' }).click();
    await seeText(statusRegion(cp), 'Your changes were sent to the contractor for approval.');
    await checkPage(cp, 'contract page with the client’s open change request at 390 px', 'contract-changes-client');

    // The specialist sees each change before → after and modifies it: Permits stays.
    const cr = sp.getByRole('article', { name: 'Changes proposed by the client' });
    await seeText(cr, /€900\.00\s*→\s*after:\s*€1,000\.00/);
    await seeText(cr, /Removed\s*Title\s*Permits/);
    await cr.getByRole('button', { name: 'Modify' }).click();
    const counter = sp.getByRole('region', { name: 'Counter-proposal' });
    await counter.getByRole('button', { name: 'Keep “Permits”' }).click();
    await counter.getByLabel('Message to the client (optional)').fill('Permits are needed; Drawings at 1,000 is fine.');
    await counter.getByRole('button', { name: 'Send counter-proposal' }).click();
    await seeText(statusRegion(sp), 'Your counter-proposal was sent to the client.');

    // The client accepts the counter-proposal: the new amount and order apply, Permits stays.
    const back = cp.getByRole('article', { name: 'Changes proposed by the contractor' });
    await seeText(back, 'Permits are needed');
    await back.getByRole('button', { name: 'Accept changes' }).click();
    await seeText(statusRegion(cp), 'The changes were accepted and applied.');
    await seeText(milestoneCard(cp, 'Drawings'), '€1,000.00');
    const order = () => cp.getByRole('region', { name: /^Pending/ }).getByRole('article').evaluateAll((els) => els.map((e) => e.querySelector('h3')?.textContent));
    await expect.poll(order).toEqual(['Survey', 'Site visit', 'Drawings', 'Permits']);

    // Another change is declined with a reason; the client sees why.
    await cp.getByRole('button', { name: 'Manage milestones' }).click();
    await plan.getByRole('button', { name: 'Edit “Permits”' }).click();
    await plan.getByLabel('Due date').fill(inDays(60));
    await plan.getByRole('button', { name: 'Send changes to the contractor' }).click();
    await seeText(statusRegion(cp), 'sent to the contractor');
    const again = sp.getByRole('article', { name: 'Changes proposed by the client' });
    await again.getByRole('button', { name: 'Decline changes' }).click();
    await again.getByLabel('Reason (optional)').fill('The permit office needs it sooner.');
    await again.getByRole('button', { name: 'Decline', exact: true }).click();
    await seeText(statusRegion(sp), 'The changes were declined.');
    await seeText(cp.getByRole('region', { name: 'Activity' }).getByRole('listitem'), 'The permit office needs it sooner.');

    // Funded before work, then the payment released on approval.
    await milestoneCard(cp, 'Survey').getByRole('button', { name: 'Fund €400.00' }).click();
    await confirmIn(cp, 'Fund €400.00', ['€400.00', 'Test card that always pays']);
    await seeText(milestoneCard(sp, 'Survey'), 'Funded');
    const survey = milestoneCard(sp, 'Survey');
    await survey.getByRole('button', { name: 'Submit work' }).click();
    await survey.getByLabel('Note for the client').fill('Measurements attached.');
    await survey.getByRole('button', { name: 'Submit for review' }).click();
    await seeText(milestoneCard(cp, 'Survey'), 'Measurements attached.');
    await seeText(milestoneCard(cp, 'Survey'), /Review it by .* after that it is approved automatically\./);
    await milestoneCard(cp, 'Survey').getByRole('button', { name: 'Approve' }).click();
    await confirmIn(cp, 'Approve and release €400.00', ['released from escrow to the contractor']);
    await seeText(cp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Survey' }), 'Paid');
    await seeText(sp.getByRole('region', { name: 'Payment overview' }), /Paid\s*€400\.00/);

    await expectLedgerClean(w.s);
  }, 240_000);
});
