import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { contractInvoices, hourlyContract, logTime, plusDays, runAt, weeks } from '../support/hourly-helpers.ts';
import { journalEntries } from '../support/negotiation-helpers.ts';
import { dbSnapshot, expectProblem, expectUnchanged, notificationsOf } from '../support/scenario-helpers.ts';

/**
 * Chargebacks (issue 14, item 3) on the sandbox, where the admin plays the client's bank
 * (POST /v1/admin/sandbox/chargebacks): an open chargeback freezes the milestone's escrow
 * (409 escrow_frozen for every command that would move it) and tells both parties and the
 * admin; won, nothing moves and the escrow is free again; lost, the disputed amount leaves in
 * one journal entry — escrow first, then the client fee, the rest the platform's loss. Replayed
 * and out-of-order bank messages change nothing twice.
 */
describe.each(engines())('chargebacks on the sandbox, on %s', (engine) => {
  let s: TestServer;
  const admin = `ops-chargebacks-${engine}@example.com`;
  beforeAll(async () => {
    s = await startTestServer(engine);
    expect((await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 300, contractorBps: 500 }, adminEmail: admin })).status).toBe(200);
  });
  afterAll(async () => s?.stop());

  const adminEmails = async () =>
    (await s.db.query<{ payload: { subject: string; text: string } }>("SELECT payload FROM jobs WHERE kind = 'email' AND payload->>'to' = $1 ORDER BY created_at, id", [admin])).map((r) => r.payload);
  const kindsTold = async (api: Parameters<typeof notificationsOf>[0]) => (await notificationsOf(api)).map((n) => n.kind).filter((k) => k.startsWith('chargeback.'));
  const frozenBy = async (m: string) => (await s.db.query<{ escrow_frozen_by: string | null }>('SELECT escrow_frozen_by FROM milestones WHERE id = $1', [m]))[0]!.escrow_frozen_by;

  async function funded(amount: number) {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Design', amount }]);
    const m = c.milestones[0].id as string;
    expect((await p.client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    return { p, c, m };
  }

  it('opened: the escrow is frozen and everyone is told; won: nothing moves, the escrow is free again; replays change nothing', async () => {
    const { p, m } = await funded(10000);
    const mailsBefore = (await adminEmails()).length;
    const opened = await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m, disputeId: `dp_won_${engine}` });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.body).toMatchObject({ status: 'open', milestoneId: m, amount: 10300, currency: 'USD', provider: 'sandbox', disputeId: `dp_won_${engine}`, fromEscrow: null });
    expect(await frozenBy(m)).toBe(opened.body.id);
    expect((await p.contractor.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'funded', inEscrow: 10000, escrowFrozen: true });
    expect(await kindsTold(p.client.api)).toEqual(['chargeback.opened']);
    expect(await kindsTold(p.contractor.api)).toEqual(['chargeback.opened']);
    const mails = await adminEmails();
    expect(mails).toHaveLength(mailsBefore + 1);
    expect(mails.at(-1)!.subject).toBe('Chargeback opened: 103.00 USD');
    expect(mails.at(-1)!.text).toContain(m);

    // Nothing may leave the frozen escrow, whoever asks; a refused command changes nothing.
    const before = await dbSnapshot(s);
    expectProblem(await p.client.api.post(`/v1/milestones/${m}/release`, { amount: 10000 }), 409, 'escrow_frozen');
    expectProblem(await p.client.api.post(`/v1/milestones/${m}/approve`), 409, 'escrow_frozen');
    expectProblem(await p.contractor.api.post(`/v1/milestones/${m}/refund`), 409, 'escrow_frozen');
    await expectUnchanged(s, before);
    await expectLedgerClean(s);

    // The same dispute again (a replayed event): the same chargeback, nobody told twice.
    const replay = await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m, disputeId: `dp_won_${engine}` });
    expect(replay.body).toMatchObject({ id: opened.body.id, status: 'open' });
    expect(await kindsTold(p.client.api)).toEqual(['chargeback.opened']);
    expect(await adminEmails()).toHaveLength(mailsBefore + 1);

    const entries = (await journalEntries(s, m)).length;
    const won = await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.body.id}/close`, { outcome: 'won' });
    expect(won.status).toBe(200);
    expect(won.body).toMatchObject({ status: 'won', closedAt: expect.any(String), fromEscrow: null, platformLoss: null });
    expect(await frozenBy(m)).toBeNull();
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ inEscrow: 10000, escrowFrozen: false });
    expect(await journalEntries(s, m)).toHaveLength(entries);
    expect(await kindsTold(p.contractor.api)).toEqual(['chargeback.closed', 'chargeback.opened']);
    expect((await adminEmails()).at(-1)!.subject).toBe('Chargeback closed: won: 103.00 USD');
    // Decided once: a replayed decision, even another one, changes nothing.
    expect((await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.body.id}/close`, { outcome: 'lost' })).body).toMatchObject({ status: 'won' });
    expect(await journalEntries(s, m)).toHaveLength(entries);

    const released = await p.client.api.post(`/v1/milestones/${m}/release`, { amount: 10000 });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: 'paid', inEscrow: 0 });
    expect((await s.admin.get(`/v1/admin/chargebacks/${opened.body.id}`)).body).toMatchObject({ status: 'won' });
    await expectLedgerClean(s);
  });

  it('lost: what the escrow holds, then the client fee, then the platform’s loss leave in one entry; the milestone is refunded by it', async () => {
    const { p, m } = await funded(10000);
    // 4,000 released to the contractor, 6,000 still held.
    expect((await p.client.api.post(`/v1/milestones/${m}/release`, { amount: 4000, rest: 'keep' })).status).toBe(200);
    const opened = (await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m })).body;
    const lost = await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.id}/close`, { outcome: 'lost' });
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ status: 'lost', amount: 10300, fromEscrow: 6000, feeBack: 300, platformLoss: 4000 });
    expect(await frozenBy(m)).toBeNull();
    const entries = await journalEntries(s, m);
    expect(entries.at(-1)).toEqual({ kind: 'chargeback_lost', reference: `chargeback:${opened.id}` });
    const postings = await s.db.query<{ source: string; destination: string; amount: number }>(
      'SELECT p.source, p.destination, p.amount::int AS amount FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE e.reference = $1 ORDER BY p.idx',
      [`chargeback:${opened.id}`],
    );
    expect(postings.map((x) => [x.source.split(':')[0] === 'contracts' ? 'escrow' : x.source, x.destination.split(':')[0] === 'clients' ? 'funding' : x.destination, x.amount])).toEqual([
      ['escrow', 'funding', 6000],
      ['platform:fees:client', 'funding', 300],
      [`clients:${p.client.id}:funding`, 'world', 6300],
      ['platform:losses', 'world', 4000],
    ]);
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'paid', inEscrow: 0, releasedAmount: 4000, refundedAmount: 6000 });
    expect(await kindsTold(p.client.api)).toEqual(['chargeback.closed', 'chargeback.opened']);
    expect((await adminEmails()).at(-1)!.text).toContain('4000 as the platform');
    await expectLedgerClean(s);

    // Replayed: nothing is booked twice.
    expect((await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.id}/close`, { outcome: 'lost' })).body).toMatchObject({ status: 'lost', platformLoss: 4000 });
    expect(await journalEntries(s, m)).toHaveLength(entries.length);
    await expectLedgerClean(s);
  });

  it('a dispute between the parties waits for the bank: its resolution is refused while frozen, and a lost chargeback that empties the escrow closes it', async () => {
    const { p, m } = await funded(8000);
    const d = await p.client.api.post(`/v1/milestones/${m}/dispute`, { reason: 'never delivered' });
    expect(d.status).toBe(201);
    const cb = (await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m })).body;
    expectProblem(await s.admin.post(`/v1/disputes/${d.body.id}/resolve`, { releaseAmount: 8000, refundAmount: 0 }), 409, 'escrow_frozen');
    expect((await s.admin.post(`/v1/admin/sandbox/chargebacks/${cb.id}/close`, { outcome: 'lost' })).body).toMatchObject({ status: 'lost', fromEscrow: 8000 });
    const [dispute] = await s.db.query<{ status: string; resolution: string; refund_amount: number }>('SELECT status, resolution, refund_amount::int AS refund_amount FROM disputes WHERE id = $1', [d.body.id]);
    expect(dispute).toEqual({ status: 'resolved', resolution: 'chargeback', refund_amount: 8000 });
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'refunded', inEscrow: 0 });
    expectProblem(await s.admin.post(`/v1/disputes/${d.body.id}/resolve`, { releaseAmount: 0, refundAmount: 0 }), 409, 'invalid_state');
    await expectLedgerClean(s);
  });

  it('a decision that arrives before the dispute: opened and closed at once; the late opening changes nothing', async () => {
    const { p, m } = await funded(5000);
    const id = `dp_late_${engine}`;
    const lost = await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m, disputeId: id, outcome: 'lost' });
    expect(lost.status).toBe(201);
    expect(lost.body).toMatchObject({ status: 'lost', fromEscrow: 5000, feeBack: 150, platformLoss: 0 });
    expect((await p.client.api.get(`/v1/milestones/${m}`)).body).toMatchObject({ status: 'refunded', inEscrow: 0, refundedAmount: 5000 });
    const entries = (await journalEntries(s, m)).length;
    const late = await s.admin.post('/v1/admin/sandbox/chargebacks', { milestoneId: m, disputeId: id });
    expect(late.body).toMatchObject({ id: lost.body.id, status: 'lost' });
    expect(await frozenBy(m)).toBeNull();
    expect(await journalEntries(s, m)).toHaveLength(entries);
    await expectLedgerClean(s);
  });

  it('a charge whose money was already paid out of escrow (a draft payment): recorded, reported, and the loss is the platform’s', async () => {
    const p = await newParties(s);
    const c = await liveContract(s, p, 'company_managed', [{ title: 'Post', amount: 8000 }]);
    const m = c.milestones[0].id as string;
    expect((await p.contractor.api.post(`/v1/milestones/${m}/submit`, { note: 'done' })).status).toBe(200);
    expect((await p.client.api.post(`/v1/milestones/${m}/approve`)).status).toBe(200);
    const [pay] = await s.db.query<{ id: string }>('SELECT id FROM payments WHERE milestone_id = $1', [m]);
    expect((await p.client.api.post(`/v1/payments/${pay!.id}/pay`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const [op] = await s.db.query<{ provider_ref: string; amount: number }>(
      "SELECT provider_ref, amount::int AS amount FROM provider_operations WHERE subject_id = $1 AND status = 'succeeded'",
      [pay!.id],
    );
    expectProblem(await s.admin.post('/v1/admin/sandbox/chargebacks', { chargeReference: 'sbx_ch_nothing' }), 404, 'not_found');
    expectProblem(await s.admin.post('/v1/admin/sandbox/chargebacks', {}), 422, 'validation_failed');
    expectProblem(await p.client.api.post('/v1/admin/sandbox/chargebacks', { chargeReference: op!.provider_ref }), 403, 'forbidden');
    const opened = await s.admin.post('/v1/admin/sandbox/chargebacks', { chargeReference: op!.provider_ref });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ status: 'open', contractId: c.id, milestoneId: null, paymentId: pay!.id, amount: op!.amount });
    expect(await kindsTold(p.contractor.api)).toEqual(['chargeback.opened']);
    const lost = (await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.body.id}/close`, { outcome: 'lost' })).body;
    const clientFee = op!.amount - 8000;
    expect(lost).toMatchObject({ status: 'lost', fromEscrow: 0, feeBack: clientFee, platformLoss: 8000 });
    const [losses] = await s.db.query<{ net: number }>(
      "SELECT (COALESCE(SUM(amount) FILTER (WHERE destination = 'platform:losses'), 0) - COALESCE(SUM(amount) FILTER (WHERE source = 'platform:losses'), 0))::int AS net FROM postings WHERE contract_id = $1",
      [c.id],
    );
    expect(losses!.net).toBe(-8000);
    const list = (await s.admin.get('/v1/admin/chargebacks?limit=100')).body.data.map((x: { id: string }) => x.id);
    expect(list).toContain(opened.body.id);
    await expectLedgerClean(s);
  });

  it('an hourly invoice’s card charge: the contractor’s payment it made is named, the loss less the client fee is the platform’s', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 6000 });
    const w = await weeks(s).next();
    await logTime(p, c.id, w.day(1), 150);
    await runAt(s, plusDays(w.monday, 7));
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect((await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const [op] = await s.db.query<{ provider_ref: string; amount: number }>("SELECT provider_ref, amount::int AS amount FROM provider_operations WHERE subject_id = $1 AND status = 'succeeded'", [inv.id]);
    const [payment] = await s.db.query<{ id: string }>('SELECT id FROM payments WHERE invoice_id = $1', [inv.id]);
    expect(op!.amount).toBe(15450);
    const opened = (await s.admin.post('/v1/admin/sandbox/chargebacks', { chargeReference: op!.provider_ref })).body;
    expect(opened).toMatchObject({ status: 'open', contractId: c.id, milestoneId: null, paymentId: payment!.id, amount: 15450 });
    const lost = (await s.admin.post(`/v1/admin/sandbox/chargebacks/${opened.id}/close`, { outcome: 'lost' })).body;
    expect(lost).toMatchObject({ status: 'lost', fromEscrow: 0, feeBack: 450, platformLoss: 15000 });
    await expectLedgerClean(s);
  });
});
