import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, seeText } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// A company client on the contract page (seed 000's company; issue 11's four eyes): a member
// funds with the company's card, named as such; above the company's threshold a first member's
// approval waits, said on the milestone, and a second member confirms it.

describe.skipIf(!haveChromium)('contract page: a company client with four eyes', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('funds with the company card; a second member confirms the approval', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-four-eyes failed: screenshots in ${await w.screenshots('contract-four-eyes')}\n`);
    });
    const ann = await w.person('Ann Manager');
    const ben = await w.person('Ben Manager');
    const contractor = await w.person('Dana Contractor');
    const org = await w.as(ann.id).post('/v1/organizations', { name: 'Four Eyes Ltd' });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    const orgId = org.body.id as string;
    await w.s.db.query('INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, $3, now())', [orgId, ben.id, ['manager', 'finance']]);
    expect((await w.as(ann.id).patch(`/v1/organizations/${orgId}`, { approvalThreshold: { USD: 50000 } })).status).toBe(200);
    expect((await w.as(ann.id).put(`/v1/organizations/${orgId}/payment-method`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const c = await w.as(ann.id).post('/v1/contracts', {
      title: 'Audit', clientId: orgId, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'client_creates',
      milestones: [{ title: 'Year-end audit', amount: 100000, dueDate: inDays(20) }],
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect((await w.as(contractor.id).post(`/v1/contracts/${c.body.id}/activate`)).status).toBe(200);

    // Ann funds: the confirmation names the company's card, not hers.
    const ap = ann.page;
    await openContract(ap, 'Audit');
    await milestoneCard(ap, 'Year-end audit').getByRole('button', { name: 'Fund $1,000.00' }).click();
    await confirmIn(ap, 'Fund $1,000.00', ['Four Eyes Ltd’s saved card']);
    await seeText(milestoneCard(ap, 'Year-end audit'), 'Funded');
    const ms = (await w.as(contractor.id).get(`/v1/contracts/${c.body.id}`)).body.milestones as { id: string }[];
    expect((await w.as(contractor.id).post(`/v1/milestones/${ms[0]!.id}/submit`, { note: 'Signed.' })).status).toBe(200);

    // Ann approves: above the threshold it waits for a second member; nothing is paid yet.
    await seeText(milestoneCard(ap, 'Year-end audit'), 'Signed.');
    await milestoneCard(ap, 'Year-end audit').getByRole('button', { name: 'Approve' }).click();
    await confirmIn(ap, 'Approve and release $1,000.00');
    await seeText(milestoneCard(ap, 'Year-end audit'), 'You approved it');
    await seeText(milestoneCard(ap, 'Year-end audit'), 'Another member of the company must confirm it');
    expect(await milestoneCard(ap, 'Year-end audit').getByRole('button', { name: 'Approve' }).count()).toBe(0);

    // Ben confirms: released and paid.
    const bp = ben.page;
    await openContract(bp, 'Audit');
    const card = milestoneCard(bp, 'Year-end audit');
    await seeText(card, 'A second member must confirm it: approve it to go ahead.');
    await card.getByRole('button', { name: 'Approve' }).click();
    await confirmIn(bp, 'Approve and release $1,000.00');
    await seeText(bp.getByRole('region', { name: /^Approved/ }).getByRole('article', { name: 'Year-end audit' }), 'Paid');
    await seeText(ap.getByRole('region', { name: 'Payment overview' }), /Paid\s*\$1,000\.00/);

    await expectLedgerClean(w.s);
  }, 240_000);
});
