import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { checkPage } from '../support/a11y.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Seed 001 from the web app alone ("Escrow, one milestone at a time"): the contractor accepts the
// offer on a phone; the client funds the first milestone after a confirmation naming the amount,
// the fee and the card, releases part of it and moves the rest to fund the next milestone,
// reorders the unfunded ones with the keyboard; the contractor proposes a change, the client
// reads the before/after and accepts it.

describe.skipIf(!haveChromium)('contract page: escrow one milestone at a time (seed 001)', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('funds, releases part with the rest moved to the next milestone, reorders, and agrees a change', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-escrow failed: screenshots in ${await w.screenshots('contract-escrow')}\n`);
    });
    const client = await w.person('Casey Client', { card: true });
    const contractor = await w.person('Dana Contractor', { width: PHONE });
    const created = await w.as(client.id).post('/v1/contracts', {
      title: 'Shop rebuild', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'sequential_escrow',
      milestones: [
        { title: 'Design', amount: 50000, dueDate: inDays(10) },
        { title: 'Build', amount: 100000, dueDate: inDays(20) },
        { title: 'Launch', amount: 30000, dueDate: inDays(30) },
        { title: 'QA', amount: 20000, dueDate: inDays(40) },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // The contractor sees the offer in words and accepts it (on a phone).
    const cp = contractor.page;
    await cp.goto(`${w.s.url}/contracts/${created.body.id}`);
    const offer = cp.getByRole('region', { name: /^Offer from/ });
    await seeText(offer, 'Escrow, one milestone at a time');
    await seeText(offer, '4, $2,000.00 in all');
    expect(await offer.textContent()).not.toContain('sequential_escrow');
    await offer.getByRole('button', { name: 'Accept the offer' }).click();
    await seeText(statusRegion(cp), 'The contract is active.');
    await checkPage(cp, 'contract page, contractor at 390 px');

    // The client funds Design: the confirmation names the amount, the card and what happens next.
    const kp = client.page;
    await openContract(kp, 'Shop rebuild');
    await milestoneCard(kp, 'Design').getByRole('button', { name: 'Fund $500.00' }).click();
    await confirmIn(kp, 'Fund $500.00', ['$500.00', 'Test card that always pays', 'held in escrow']);
    await seeText(statusRegion(kp), '$500.00 is held in escrow for “Design”.');
    await seeText(milestoneCard(kp, 'Design'), /Funded/);

    // Partial release of $200.00; the $300.00 left funds Build (the card pays the $700.00 difference).
    const design = milestoneCard(kp, 'Design');
    await design.getByRole('button', { name: 'Release part' }).click();
    await design.getByLabel('Amount to release (USD)').fill('200');
    await design.getByLabel(/fund the next milestone, “Build”/).check();
    await design.getByRole('button', { name: 'Review the release' }).click();
    await confirmIn(kp, 'Release $200.00', ['Moves to “Build”', '$300.00', 'Charged to your card for the difference', '$700.00']);
    await seeText(statusRegion(kp), '$200.00 was released; the rest now funds “Build”.');
    await seeText(kp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Design' }), 'Paid');
    await seeText(milestoneCard(kp, 'Build'), /Funded/);
    const overview = kp.getByRole('region', { name: 'Payment overview' });
    await seeText(overview, /Paid\s*\$200\.00/);
    await seeText(overview, /In escrow\s*\$1,000\.00/);
    await overview.getByRole('img', { name: /\$200\.00 paid, \$1,000\.00 in escrow/ }).waitFor();
    // The contractor's page follows live.
    await seeText(milestoneCard(cp, 'Build'), /Funded/);

    // The client reorders the unfunded milestones with the keyboard (QA before Launch) and saves.
    await kp.getByRole('button', { name: 'Manage milestones' }).click();
    const planner = kp.getByRole('region', { name: 'Manage milestones' });
    await planner.getByRole('button', { name: 'Drag to reorder “QA”' }).focus();
    // Each step waits for what the drag-and-drop live region announces to screen readers.
    const announced = (text: string) => kp.getByText(text).waitFor({ state: 'attached' });
    await kp.keyboard.press('Space');
    await announced('Picked up “QA”, place 2 of 2.');
    await kp.keyboard.press('ArrowUp');
    await announced('“QA” is over place 1 of 2.');
    await kp.keyboard.press('Space');
    await announced('“QA” dropped at place 1 of 2.');
    await seeText(planner, '1 change planned.');
    await planner.getByRole('button', { name: 'Save changes' }).click();
    await seeText(statusRegion(kp), 'The milestones were saved.');
    const pendingTitles = () => kp.getByRole('region', { name: /^Pending/ }).getByRole('article').evaluateAll((els) => els.map((e) => e.querySelector('h3')?.textContent));
    await expect.poll(pendingTitles).toEqual(['Build', 'QA', 'Launch']);

    // The contractor proposes to raise Launch; the client sees before → after and accepts.
    await cp.getByRole('button', { name: 'Manage milestones' }).click();
    const cplan = cp.getByRole('region', { name: 'Manage milestones' });
    await cplan.getByRole('button', { name: 'Edit “Launch”' }).click();
    await cplan.getByLabel('Amount (USD)').fill('450');
    await cplan.getByLabel('Message to the client (optional)').fill('Launch needs a second day.');
    // The author previews the change set (the API's dry run) before sending it.
    await cplan.getByRole('button', { name: 'Show changes' }).click();
    const preview = cplan.getByRole('region', { name: 'Preview of your changes' });
    await seeText(preview, /Agreed total \$1,700\.00 → proposed \$1,850\.00/);
    await seeText(preview, /\$300\.00\s*→\s*after:\s*\$450\.00/);
    await seeText(preview, 'Nothing changes until the client accepts.');
    await checkPage(cp, 'the milestone planner with a preview at 390 px', 'contract-planner');
    await cplan.getByRole('button', { name: 'Send changes to the client' }).click();
    await seeText(statusRegion(cp), 'Your changes were sent to the client for approval.');
    await checkPage(cp, 'contract page with a change request, contractor at 390 px', 'contract-change-contractor');

    const cr = kp.getByRole('article', { name: 'Changes proposed by the contractor' });
    await seeText(cr, 'Launch needs a second day.');
    await seeText(cr, /\$300\.00\s*→\s*after:\s*\$450\.00/);
    await seeText(kp.getByRole('region', { name: 'Payment overview' }), /Proposed: \$1,850\.00/);
    await cr.getByRole('button', { name: 'Accept changes' }).click();
    await seeText(statusRegion(kp), 'The changes were accepted and applied.');
    await seeText(milestoneCard(kp, 'Launch'), '$450.00');
    await seeText(milestoneCard(cp, 'Launch'), '$450.00');
    await checkPage(kp, 'contract page, client at 1280 px', 'contract-client');

    await expectLedgerClean(w.s);
  }, 240_000);
});
