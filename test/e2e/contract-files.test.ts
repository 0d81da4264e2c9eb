import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { haveChromium } from '../support/browser.ts';
import { ContractWorld, milestoneCard, openContract, seeText, statusRegion } from '../support/contract-web.ts';
import { inDays } from '../support/harness.ts';

// Files on the contract page: a file dropped on a milestone's form is uploaded and attached, and
// the other party downloads it from the milestone; a file over the server's 10 MB limit is
// refused before anything is sent (no upload is made for it).

describe.skipIf(!haveChromium)('contract page: files dropped on a milestone', () => {
  const w = new ContractWorld();
  beforeAll(() => w.start());
  afterAll(() => w.stop());

  it('drops a file on a new milestone and refuses one that is too large', async () => {
    onTestFailed(async () => {
      process.stderr.write(`contract-files failed: screenshots in ${await w.screenshots('contract-files')}\n`);
    });
    const client = await w.person('Casey Client', { card: true });
    const contractor = await w.person('Dana Contractor');
    const created = await w.as(client.id).post('/v1/contracts', { title: 'Office move', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy: 'company_managed' });
    expect(created.status).toBe(201);
    expect((await w.as(contractor.id).post(`/v1/contracts/${created.body.id}/activate`)).status).toBe(200);

    const kp = client.page;
    await openContract(kp, 'Office move');
    const add = kp.getByRole('region', { name: 'Add a milestone' });
    const uploads: string[] = [];
    kp.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/files') uploads.push(r.url());
    });
    const drop = async (name: string, size: number, text?: string) => {
      const data = await kp.evaluateHandle(
        ([n, s, t]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([t ?? new Uint8Array(s)], n, { type: n.endsWith('.pdf') ? 'application/pdf' : 'text/plain' }));
          return dt;
        },
        [name, size, text] as const,
      );
      await add.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: data });
    };

    // Too large: said at once, and never sent.
    await drop('floor-plan.pdf', 11 * 1024 * 1024);
    await seeText(add.getByRole('alert'), 'floor-plan.pdf is 11.0 MB; files can be at most 10 MB.');
    expect(uploads).toEqual([]);
    await add.getByRole('button', { name: 'Remove floor-plan.pdf' }).click();

    // A plan in plain text is uploaded and attached to the new milestone.
    await drop('moving-plan.txt', 0, 'Desks first, then the servers.\n');
    await seeText(add.getByRole('list', { name: 'Attachments (optional): chosen files' }), /moving-plan\.txt.*uploaded/);
    expect(uploads).toHaveLength(1);
    await add.getByLabel('Title').fill('Move the desks');
    await add.getByLabel('Amount (USD)').fill('400');
    await add.getByLabel('Due date').fill(inDays(9));
    await add.getByRole('button', { name: 'Add milestone' }).click();
    await seeText(statusRegion(kp), 'Milestone “Move the desks” added.');

    // The contractor downloads it from the milestone.
    const cp = contractor.page;
    await openContract(cp, 'Office move');
    const link = milestoneCard(cp, 'Move the desks').getByRole('link', { name: 'moving-plan.txt' });
    await link.waitFor();
    const got = await cp.request.get(new URL((await link.getAttribute('href'))!, w.s.url).toString());
    expect(got.status()).toBe(200);
    expect(await got.text()).toBe('Desks first, then the servers.\n');

    // The client swaps the file for another through Manage milestones; the contractor sees the new one.
    await kp.getByRole('button', { name: 'Manage milestones' }).click();
    const plan = kp.getByRole('region', { name: 'Manage milestones' });
    await plan.getByRole('button', { name: 'Edit “Move the desks”' }).click();
    await plan.getByRole('list', { name: 'Attached files' }).getByRole('link', { name: 'moving-plan.txt' }).waitFor();
    await plan.getByRole('button', { name: 'Take off' }).click();
    await plan.getByLabel('Attach files to this milestone').setInputFiles({ name: 'checklist.txt', mimeType: 'text/plain', buffer: Buffer.from('1. Desks\n2. Servers\n') });
    await seeText(plan.getByRole('list', { name: 'Attach files to this milestone: chosen files' }), /checklist\.txt.*uploaded/);
    await plan.getByRole('button', { name: 'Show changes' }).click();
    await seeText(plan.getByRole('region', { name: 'Preview of your changes' }), /Files\s*before:\s*1 file\s*→\s*after:\s*1 file \(other files\)/);
    await plan.getByRole('button', { name: 'Save changes' }).click();
    await seeText(statusRegion(kp), 'The milestones were saved.');
    await milestoneCard(cp, 'Move the desks').getByRole('link', { name: 'checklist.txt' }).waitFor();
    expect(await milestoneCard(cp, 'Move the desks').getByRole('link', { name: 'moving-plan.txt' }).count()).toBe(0);
  }, 240_000);
});
