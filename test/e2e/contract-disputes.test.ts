import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { checkPage } from '../support/a11y.ts';
import { confirmIn, ContractWorld, milestoneCard, openContract, PHONE, seeText, statusRegion } from '../support/contract-web.ts';
import { expectLedgerClean, inDays } from '../support/harness.ts';

// Disputes, closing and reviews from the web app: the client disputes submitted work with
// evidence; the contractor (on a phone) sees the deadline and what silence would decide, and
// answers with a file; once the platform has split the escrow, the client asks to close with a
// refund of what is left, the contractor counters with another split and the client agrees, and both review each other — each review
// hidden from the other until both are in.

describe.skipIf(!haveChromium)('contract page: disputes, closing with a refund, reviews', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('opens and answers a dispute, closes with a refund, and both review', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-disputes failed: screenshots in ${await w.screenshots('contract-disputes')}\n`);
    });
    const client = await w.person('Casey Client', { card: true });
    const contractor = await w.person('Dana Contractor', { width: PHONE });
    const created = await w.as(client.id).post('/v1/contracts', {
      title: 'Brand refresh', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'client_creates',
      milestones: [
        { title: 'Logo', amount: 60000, dueDate: inDays(10) },
        { title: 'Guidelines', amount: 40000, dueDate: inDays(20) },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect((await w.as(contractor.id).post(`/v1/contracts/${id}/activate`)).status).toBe(200);
    const ms = (await w.as(client.id).get(`/v1/contracts/${id}`)).body.milestones as { id: string; title: string }[];
    const [logo, guidelines] = [ms.find((m) => m.title === 'Logo')!, ms.find((m) => m.title === 'Guidelines')!];
    for (const m of [logo, guidelines]) expect((await w.as(client.id).post(`/v1/milestones/${m.id}/fund`, {})).status).toBe(200);
    expect((await w.as(contractor.id).post(`/v1/milestones/${logo.id}/submit`, { note: 'Three options.' })).status).toBe(200);

    const dir = mkdtempSync(join(tmpdir(), 'tranche-evidence-'));
    writeFileSync(join(dir, 'brief.txt'), 'The brief asked for a blue logo.\n');
    writeFileSync(join(dir, 'answer.txt'), 'Blue was option two.\n');

    // The client opens a dispute with the brief as evidence.
    const kp = client.page;
    await openContract(kp, 'Brand refresh');
    const kl = milestoneCard(kp, 'Logo');
    await seeText(kl, /Review it by/);
    await kl.getByRole('button', { name: 'Open a dispute' }).click();
    await seeText(kl, 'The contractor has 7 days to answer');
    await seeText(kl, 'If no answer comes in time, the $600.00 is refunded to the client');
    await kl.getByLabel('Reason').fill('None of the options is blue, as the brief asked.');
    await kl.getByLabel('Evidence').setInputFiles(join(dir, 'brief.txt'));
    await seeText(kl.getByRole('list', { name: 'Evidence: chosen files' }), /brief\.txt.*uploaded/);
    await kl.getByRole('button', { name: 'Open the dispute' }).click();
    await seeText(statusRegion(kp), 'A dispute on “Logo” is open; the contractor has 7 days to answer.');

    // The contractor sees the reason, the evidence, the deadline and the default outcome, and answers.
    const cp = contractor.page;
    await openContract(cp, 'Brand refresh');
    const dispute = cp.getByRole('region', { name: 'Dispute on Logo' });
    await seeText(dispute, 'None of the options is blue');
    await dispute.getByRole('link', { name: 'brief.txt' }).waitFor();
    await seeText(dispute, /You have until .* to answer\./);
    await seeText(dispute, /refunded to the client \(this contract decides for whoever opened the dispute: the client\)/);
    await dispute.getByLabel('Your answer', { exact: true }).fill('Option two is blue; see the note.');
    await dispute.getByLabel('Files with your answer').setInputFiles(join(dir, 'answer.txt'));
    await seeText(dispute.getByRole('list', { name: 'Files with your answer: chosen files' }), /answer\.txt.*uploaded/);
    await dispute.getByRole('button', { name: 'Send the answer' }).click();
    await seeText(statusRegion(cp), 'Your answer on “Logo” was sent.');
    await checkPage(cp, 'contract page with a dispute, contractor at 390 px', 'contract-dispute-contractor');
    const kd = kp.getByRole('region', { name: 'Dispute on Logo' });
    await seeText(kd, 'Option two is blue; see the note.');
    await kd.getByRole('link', { name: 'answer.txt' }).waitFor();
    await seeText(kd, 'The platform now decides how the escrow is split.');

    // The platform's admin splits the escrow (their page is tested elsewhere).
    const opened = (await w.as(client.id).get(`/v1/contracts/${id}/activity?limit=100`)).body.data.find((a: { kind: string }) => a.kind === 'dispute.opened');
    expect((await w.s.admin.post(`/v1/disputes/${opened.data.disputeId}/resolve`, { releaseAmount: 30000, refundAmount: 30000 })).status).toBe(200);
    await seeText(kp.getByRole('region', { name: /^Approved|^Refunded/ }).getByRole('article', { name: 'Logo' }), /\$300\.00/);

    // The client asks to close with the Guidelines escrow refunded; the contractor agrees.
    const close = kp.getByRole('region', { name: 'Close the contract' });
    await seeText(close, '$400.00 is still held in escrow');
    await close.getByRole('button', { name: 'Close the contract…' }).click();
    await close.getByLabel('Release to the contractor (USD)').fill('100');
    await close.getByRole('button', { name: 'Review and close' }).click();
    await confirmIn(kp, 'Send the request', ['Released to the contractor', '$100.00', 'Refunded to the client', '$300.00', 'If they accept, the contract closes']);
    await seeText(statusRegion(kp), 'The contractor was asked to agree to the refund.');
    const request = cp.getByRole('region', { name: 'The client asks to close with a refund' });
    await seeText(request, /Refund to the client: \$300\.00 · release to the contractor: \$100\.00/);
    // The contractor proposes another split (a counter); the client agrees to it.
    await request.getByRole('button', { name: 'Propose another split…' }).click();
    const counter = request.getByRole('form', { name: 'Propose another split' });
    await counter.getByLabel('Refund to the client instead (USD)').fill('500');
    await counter.getByRole('button', { name: 'Review the split' }).click();
    await seeText(counter, 'Enter a refund between $0.00 and $400.00');
    await counter.getByLabel('Refund to the client instead (USD)').fill('250');
    await counter.getByRole('button', { name: 'Review the split' }).click();
    await confirmIn(cp, 'Send the counter-proposal', ['Refunded to the client', '$250.00', 'Released to the contractor', '$150.00']);
    await seeText(statusRegion(cp), 'Your split was sent to the client.');
    const countered = kp.getByRole('region', { name: 'The contractor asks to close with a refund' });
    await seeText(countered, /Refund to the client: \$250\.00 · release to the contractor: \$150\.00/);
    await countered.getByRole('button', { name: 'Agree and close' }).click();
    await confirmIn(kp, 'Agree and close');
    await seeText(statusRegion(kp), 'The refund was agreed; the contract is closed.');
    await seeText(kp.locator('.contract-head'), 'Closed');

    // Reviews: the contractor's stays hidden from the client until the client's is in.
    const cr = cp.getByRole('region', { name: 'Reviews' });
    await cr.getByLabel('5 – Excellent').check();
    await cr.getByLabel('Comment (optional)').fill('Clear brief, fair client.');
    await cr.getByRole('button', { name: 'Send the review' }).click();
    await seeText(statusRegion(cp), 'Your review of Casey Client was saved.');
    await seeText(cr, 'Hidden from Casey Client until they review you');
    const kr = kp.getByRole('region', { name: 'Reviews' });
    await seeText(kr, 'Dana Contractor’s review of you shows here once it is visible.');
    await kr.getByLabel('3 – Good').check();
    await kr.getByRole('button', { name: 'Send the review' }).click();
    await seeText(kr, /Dana Contractor’s review of you:.*5 of 5.*Clear brief, fair client\./);
    await seeText(cr, 'Visible to Casey Client.');
    await seeText(cp.getByRole('region', { name: 'Your client' }), 'Rated 5.0 of 5 from 1 review.');
    await checkPage(kp, 'closed contract with reviews, client at 1280 px', 'contract-closed-client');

    await expectLedgerClean(w.s);
  }, 240_000);
});
