import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Money with care on the contract page: a declined card is said in words and nothing moves;
// cancelling a confirmation moves nothing; a partial release keeps the rest in escrow, a second
// one refunds what is left; the contractor can give a milestone's escrow back. Fees of 2 % on
// each side are shown before anything is confirmed. A chargeback's frozen escrow is shown as such.

describe.skipIf(!haveChromium)('contract page: money steps and their confirmations', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('declined card, cancel, release keeping the rest, release refunding the rest, escrow given back', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-money failed: screenshots in ${await w.screenshots('contract-money')}\n`);
    });
    await w.s.admin.patch('/v1/admin/platform', { fees: { clientBps: 200, contractorBps: 200 } });
    const client = await w.person('Casey Client', { width: PHONE });
    const contractor = await w.person('Dana Contractor');
    expect((await w.as(client.id).put('/v1/me/payment-method', { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    const created = await w.as(client.id).post('/v1/contracts', {
      title: 'Data migration', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'client_creates',
      milestones: [
        { title: 'Export', amount: 100000, dueDate: inDays(10) },
        { title: 'Import', amount: 50000, dueDate: inDays(20) },
      ],
    });
    expect(created.status).toBe(201);
    expect((await w.as(contractor.id).post(`/v1/contracts/${created.body.id}/activate`)).status).toBe(200);

    const kp = client.page;
    await openContract(kp, 'Data migration');
    const overview = kp.getByRole('region', { name: 'Payment overview' });

    // Cancelling the confirmation moves nothing.
    await milestoneCard(kp, 'Export').getByRole('button', { name: 'Fund $1,000.00' }).click();
    await confirmIn(kp, 'Cancel', ['$1,000.00', '$20.00', 'Platform fee paid by you', '$1,020.00', 'Test card that is declined']);
    await seeText(milestoneCard(kp, 'Export'), 'Accepted');

    // The declined card: a sentence, not a code, and the milestone is still unfunded.
    await milestoneCard(kp, 'Export').getByRole('button', { name: 'Fund $1,000.00' }).click();
    await confirmIn(kp, 'Fund $1,000.00');
    await seeText(kp.getByRole('alert'), 'The card was declined. Choose another card under Account, then try again.');
    await seeText(overview, /In escrow\s*\$0\.00/);

    // With a card that pays: funded.
    expect((await w.as(client.id).put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    await kp.reload();
    await milestoneCard(kp, 'Export').getByRole('button', { name: 'Fund $1,000.00' }).click();
    await confirmIn(kp, 'Fund $1,000.00', ['Test card that always pays']);
    await seeText(statusRegion(kp), '$1,000.00 is held in escrow for “Export”.');

    // Release $250.00 and keep the rest: the contractor's 2 % fee and net are shown first.
    const exp = milestoneCard(kp, 'Export');
    await exp.getByRole('button', { name: 'Release part' }).click();
    await exp.getByLabel('Amount to release (USD)').fill('1,500');
    await exp.getByRole('button', { name: 'Review the release' }).click();
    await seeText(exp.getByRole('alert'), 'At most $1,000.00 is held for this milestone.');
    await exp.getByLabel('Amount to release (USD)').fill('250');
    await exp.getByRole('button', { name: 'Review the release' }).click();
    await confirmIn(kp, 'Release $250.00', ['Platform fee paid by the contractor', '$5.00', 'The contractor receives', '$245.00', 'Left in escrow', '$750.00']);
    await seeText(statusRegion(kp), '$250.00 was released for “Export”.');
    await seeText(exp, /\$750\.00 in escrow/);

    // Release $500.00 more and refund the $250.00 left: Export is settled.
    await exp.getByRole('button', { name: 'Release part' }).click();
    await exp.getByLabel('Amount to release (USD)').fill('500');
    await exp.getByLabel('Refund it to me and settle this milestone').check();
    await exp.getByRole('button', { name: 'Review the release' }).click();
    await confirmIn(kp, 'Release $500.00', ['Refunded to you', '$250.00']);
    await seeText(kp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Export' }), 'Paid');
    await seeText(overview, /Paid\s*\$750\.00/);

    // The contractor gives the escrow of Import back.
    await milestoneCard(kp, 'Import').getByRole('button', { name: 'Fund $500.00' }).click();
    await confirmIn(kp, 'Fund $500.00');
    const cp = contractor.page;
    // A chargeback on Import's card payment freezes its escrow: the page says so and offers no way to move it.
    const importId = (await w.as(client.id).get(`/v1/contracts/${created.body.id}`)).body.milestones.find((m: { title: string }) => m.title === 'Import').id;
    const chargeback = await w.s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: importId });
    expect(chargeback.status).toBe(201);
    await openContract(cp, 'Data migration');
    await seeText(milestoneCard(cp, 'Import'), 'The escrow of this milestone is frozen');
    expect(await milestoneCard(cp, 'Import').getByRole('button', { name: 'Give the escrow back' }).count()).toBe(0);
    // The bank decides for the platform: the escrow is free again.
    expect((await w.s.admin.post(`/v1/admin/sandbox/chargebacks/${chargeback.body.id}/close`, { outcome: 'won' })).status).toBe(200);
    await cp.reload();
    await milestoneCard(cp, 'Import').getByRole('button', { name: 'Give the escrow back' }).click();
    await confirmIn(cp, 'Refund $500.00 to the client', ['You will not be paid for it']);
    await seeText(statusRegion(cp), '$500.00 of “Import” was refunded to the client.');
    await seeText(overview, /In escrow\s*\$0\.00/);

    await expectLedgerClean(w.s);
  }, 240_000);
});
