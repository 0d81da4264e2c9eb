import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { tinyPdf, upload } from '../support/negotiation-helpers.ts';

// Rules shared by direct changes and change requests: attachments travel with an edit that
// needs acceptance, only the policy's creators add milestones, and only your own files attach.
describe.each(engines())('negotiation rules on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it('an edit that needs acceptance carries its attachments into the change request and applies them on acceptance', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'accept_every_change', [{ title: 'Spec', amount: 10000, dueDate: inDays(20) }]);
    const ms = c.milestones[0];
    const file = await upload(s, p.client.token, tinyPdf(), 'brief.pdf', 'application/pdf');
    expect(file.status).toBe(201);
    const edit = await p.client.api.patch(`/v1/milestones/${ms.id}`, { attachmentIds: [file.body.id], title: 'Spec v2' });
    expect(edit.status).toBe(202);
    expect(edit.body.diff.milestones[0]).toMatchObject({
      change: 'updated',
      before: { title: 'Spec', attachmentIds: [] },
      after: { title: 'Spec v2', attachmentIds: [file.body.id] },
    });
    const accepted = await p.contractor.api.post(`/v1/change-requests/${edit.body.id}/accept`);
    expect(accepted.status).toBe(200);
    const after = await p.contractor.api.get(`/v1/milestones/${ms.id}`);
    expect(after.body).toMatchObject({ title: 'Spec v2', attachmentIds: [file.body.id] });
    // Now attached, the contractor can read the client's file.
    expect((await p.contractor.api.get(`/v1/files/${file.body.id}`)).status).toBe(200);
  });

  it('only the policy’s milestone creators add milestones, directly or through a change request', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'client_creates', [{ title: 'One', amount: 10000 }]);
    const direct = await p.contractor.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Mine', amount: 5000, dueDate: inDays(10) });
    expect(direct.status).toBe(403);
    const viaRequest = await p.contractor.api.post(`/v1/contracts/${c.id}/change-requests`, {
      operations: [{ op: 'add', milestone: { title: 'Mine', amount: 5000, dueDate: inDays(10) } }],
    });
    expect(viaRequest.status).toBe(403);
    expect(viaRequest.body.code).toBe('forbidden');
    // The contractor may still propose edits to the client's milestones.
    const edit = await p.contractor.api.post(`/v1/contracts/${c.id}/change-requests`, {
      operations: [{ op: 'update', milestoneId: c.milestones[0].id, changes: { amount: 12000 } }],
    });
    expect(edit.status).toBe(201);
    expect(edit.body.status).toBe('open');
  });

  it('a party cannot attach a file the other party uploaded', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', []);
    const theirs = await upload(s, p.contractor.token, tinyPdf(), 'invoice.pdf', 'application/pdf');
    const add = await p.client.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'X', amount: 1000, dueDate: inDays(5), attachmentIds: [theirs.body.id] });
    expect(add.status).toBe(422);
    expect(add.body.errors[0].field).toBe('attachmentIds');
    expect((await p.client.api.get(`/v1/files/${theirs.body.id}`)).status).toBe(404);
  });
});
