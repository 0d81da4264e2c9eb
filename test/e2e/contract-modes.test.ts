import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { checkPage } from '../support/a11y.ts';
import { confirmIn, ContractWorld, milestoneCard, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Seed 002 from the web app alone: the two ways milestones are created — the contractor creates
// them (the client only pays) and the client creates them (the contractor accepts) — and the
// client-creates mode's three options: (1) no acceptance and no submission step, (2) a funded
// milestone can still be deleted before it is paid, (3) the client is charged when the
// contractor accepts a milestone.

describe.skipIf(!haveChromium)('contract page: who creates the milestones, and the three options (seed 002)', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('runs both creation modes and the three options', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-modes failed: screenshots in ${await w.screenshots('contract-modes')}\n`);
    });
    const client = await w.person('Casey Client', { card: true, width: PHONE });
    const contractor = await w.person('Dana Contractor');
    const kp = client.page;
    const cp = contractor.page;
    const contract = async (title: string, by: string, policy: unknown, milestones: { title: string; amount: number }[] = [], activate = true) => {
      const r = await w.as(by).post('/v1/contracts', {
        title, clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy, milestones: milestones.map((m) => ({ ...m, dueDate: inDays(14) })),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      if (activate) expect((await w.as(by === client.id ? contractor.id : client.id).post(`/v1/contracts/${r.body.id}/activate`)).status).toBe(200);
      return r.body.id as string;
    };
    const open = async (page: typeof kp, id: string, title: string) => {
      await page.goto(`${w.s.url}/contracts/${id}`);
      await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    };
    const addMilestone = async (page: typeof kp, title: string, amount: string) => {
      const add = page.getByRole('region', { name: 'Add a milestone' });
      await add.getByLabel('Title').fill(title);
      await add.getByLabel('Amount (USD)').fill(amount);
      await add.getByLabel('Due date').fill(inDays(14));
      await add.getByRole('button', { name: 'Add milestone' }).click();
    };

    // Contractor creates: the contractor's offer, accepted by the client on a phone; the contractor
    // adds a milestone alone; the client cannot add any, and funds it.
    const a = await contract('Website', contractor.id, 'contractor_creates', [], false);
    await open(kp, a, 'Website');
    const offer = kp.getByRole('region', { name: 'Offer from Dana Contractor' });
    await seeText(offer, 'Contractor proposes the milestones');
    await offer.getByRole('button', { name: 'Accept the offer' }).click();
    await seeText(statusRegion(kp), 'The contract is active.');
    await open(cp, a, 'Website');
    await addMilestone(cp, 'Homepage', '250');
    await seeText(statusRegion(cp), 'Milestone “Homepage” added.');
    await milestoneCard(kp, 'Homepage').getByRole('button', { name: 'Fund $250.00' }).click();
    await confirmIn(kp, 'Fund $250.00');
    await seeText(milestoneCard(cp, 'Homepage'), 'Funded');
    expect(await kp.getByRole('region', { name: 'Add a milestone' }).count()).toBe(0);
    await checkPage(kp, 'contractor-created contract, client at 390 px');

    // Client creates: the client's milestone waits for the contractor, who accepts it.
    const b = await contract('Logo work', client.id, 'client_creates');
    await open(kp, b, 'Logo work');
    await addMilestone(kp, 'Logo', '300');
    await seeText(statusRegion(kp), 'the contractor must accept it');
    await open(cp, b, 'Logo work');
    expect(await cp.getByRole('region', { name: 'Add a milestone' }).count()).toBe(0);
    await milestoneCard(cp, 'Logo').getByRole('button', { name: 'Accept' }).click();
    await seeText(milestoneCard(kp, 'Logo'), 'Accepted');

    // Option 1: no acceptance and no submission — added, funded and approved by the client alone.
    const o1 = await contract('Banner', client.id, { preset: 'client_creates', overrides: { changesNeedAcceptance: { client: false }, submissionRequired: false } });
    await open(kp, o1, 'Banner');
    await addMilestone(kp, 'Banner art', '120');
    await seeText(statusRegion(kp), 'Milestone “Banner art” added.');
    await milestoneCard(kp, 'Banner art').getByRole('button', { name: 'Fund $120.00' }).click();
    await confirmIn(kp, 'Fund $120.00');
    await milestoneCard(kp, 'Banner art').getByRole('button', { name: 'Approve' }).click();
    await confirmIn(kp, 'Approve and release $120.00');
    await seeText(kp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Banner art' }), 'Paid');

    // Option 2: a funded milestone can still be deleted before it is paid; its escrow comes back.
    const o2 = await contract('Flyer', client.id, { preset: 'client_creates', overrides: { deletableUntil: 'funded_unpaid' } }, [{ title: 'Flyer design', amount: 8000 }]);
    await open(kp, o2, 'Flyer');
    await milestoneCard(kp, 'Flyer design').getByRole('button', { name: 'Fund $80.00' }).click();
    await confirmIn(kp, 'Fund $80.00');
    await milestoneCard(kp, 'Flyer design').getByRole('button', { name: 'Remove and refund' }).click();
    await confirmIn(kp, 'Remove and refund $80.00', ['refunded to your card']);
    await seeText(statusRegion(kp), '“Flyer design” was removed and its escrow refunded.');
    await seeText(kp.getByRole('region', { name: 'Payment overview' }), /In escrow\s*\$0\.00/);

    // Option 3: the contractor's acceptance charges the client, and the milestone is funded.
    const o3 = await contract('Icons', client.id, { preset: 'client_creates', overrides: { fundingTrigger: 'on_acceptance' } });
    await open(kp, o3, 'Icons');
    await addMilestone(kp, 'Icon set', '90');
    await seeText(statusRegion(kp), 'the contractor must accept it');
    await open(cp, o3, 'Icons');
    const icons = milestoneCard(cp, 'Icon set');
    await seeText(icons, 'Accepting charges the client $90.00 and holds it in escrow');
    await icons.getByRole('button', { name: 'Accept' }).click();
    await seeText(milestoneCard(kp, 'Icon set'), 'Funded');
    await seeText(kp.getByRole('region', { name: 'Payment overview' }), /In escrow\s*\$90\.00/);

    await expectLedgerClean(w.s);
  }, 240_000);
});
