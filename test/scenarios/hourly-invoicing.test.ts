import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { contractInvoices, hourlyContract, logTime, plusDays, runAt, weeks } from '../support/hourly-helpers.ts';
import { expectProblem, notificationsOf, runJobs } from '../support/negotiation-helpers.ts';

// Hourly contracts (seed 003) end to end over HTTP with the test clock: a week of time, Monday's
// invoice, Wednesday's payment from escrow first and then the card, past-due invoices, disputes
// in the review window, and jobs run twice and concurrently. Weeks are UTC (the default zone).
describe.each(engines())('hourly invoicing on %s', (engine) => {
  let s: TestServer;
  let cal: ReturnType<typeof weeks>;
  beforeAll(async () => {
    s = await startTestServer(engine);
    cal = weeks(s);
  });
  afterAll(async () => s?.stop());

  const entriesOf = (s: TestServer, invoiceId: string) =>
    s.db.query<{ kind: string; reference: string }>(
      `SELECT e.kind, e.reference FROM journal_entries e WHERE e.reference IN (
         SELECT 'release:' || id FROM payments WHERE invoice_id = $1 UNION SELECT 'charge:' || provider_ref FROM payments WHERE invoice_id = $1 AND provider_ref IS NOT NULL)
       ORDER BY e.seq`,
      [invoiceId],
    );

  it('bills a week on Monday (limit, rounding), pays it on Wednesday from escrow first, then the card', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 4500, weeklyLimitHours: 20 });
    expect(c).toMatchObject({ hourlyRate: 4500, weeklyLimitHours: 20, policy: { preset: 'hourly_requests' } });
    const rounding = await hourlyContract(p, { hourlyRate: 1001 });
    const w = await cal.next();

    // The client cannot log time.
    expectProblem(await p.client.api.post(`/v1/contracts/${c.id}/time-entries`, { date: w.day(0), minutes: 60, memo: 'x' }), 403, 'forbidden');
    for (const [i, m] of [[0, 300], [1, 300], [2, 480], [3, 240], [6, 60]] as const) await logTime(p, c.id, w.day(i), m, `day ${i}`);
    const e = await logTime(p, rounding.id, w.day(4), 30, 'half an hour');

    // The weekly summary: 23 h logged, 20 h billable, 3 h kept visible as unbilled.
    const sheet = await p.client.api.get(`/v1/contracts/${c.id}/time-entries?from=${w.monday}&to=${w.sunday}`);
    expect(sheet.status).toBe(200);
    expect(sheet.body.data).toHaveLength(5);
    expect(sheet.body.weeks).toEqual([expect.objectContaining({ weekStart: w.monday, loggedMinutes: 1380, billableMinutes: 1200, unbilledMinutes: 180, amount: 90000, closed: false })]);

    // A milestone payment request the client accepts: 500.00 held in escrow.
    const req = await p.contractor.api.post(`/v1/contracts/${c.id}/milestone-requests`, { amount: 50000, description: 'Advance' });
    expect(req.status).toBe(201);
    const acc = await p.client.api.post(`/v1/milestone-requests/${req.body.id}/accept`);
    expect(acc.body).toMatchObject({ status: 'accepted', milestoneId: expect.any(String) });

    // Sunday: nothing yet. Monday 00:00: one invoice per contract.
    await runJobs(s);
    expect(await contractInvoices(p.client.api, c.id)).toHaveLength(0);
    await runAt(s, plusDays(w.monday, 7));
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect(inv).toMatchObject({
      periodStart: w.monday, periodEnd: w.sunday, loggedMinutes: 1380, billedMinutes: 1200, unbilledMinutes: 180, hourlyRate: 4500,
      amount: 90000, currency: 'USD', status: 'open', dueDate: plusDays(w.monday, 9), paidFromEscrow: 0, charged: 0,
    });
    const [small] = await contractInvoices(p.contractor.api, rounding.id);
    expect(small).toMatchObject({ billedMinutes: 30, amount: 501 }); // 30 × 1001 / 60 = 500.5 → 501
    const full = await p.contractor.api.get(`/v1/invoices/${inv.id}`);
    expect(full.body.lines.map((l: any) => [l.minutes, l.billedMinutes])).toEqual([[300, 300], [300, 300], [480, 480], [240, 120], [60, 0]]);

    // The invoiced week refuses new, edited and deleted entries.
    expectProblem(await p.contractor.api.post(`/v1/contracts/${c.id}/time-entries`, { date: w.day(5), minutes: 60, memo: 'late' }), 409, 'week_invoiced');
    expectProblem(await p.contractor.api.patch(`/v1/time-entries/${e.id}`, { minutes: 45 }), 409, 'week_invoiced');
    expectProblem(await p.contractor.api.del(`/v1/time-entries/${e.id}`), 409, 'week_invoiced');

    // Tuesday: still open. Wednesday 00:00: paid, 500.00 from escrow and 400.00 by card.
    await runAt(s, plusDays(w.monday, 8));
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body.status).toBe('open');
    await runAt(s, plusDays(w.monday, 9));
    const paid = (await p.client.api.get(`/v1/invoices/${inv.id}`)).body;
    expect(paid).toMatchObject({ status: 'paid', paidFromEscrow: 50000, charged: 40000, balanceDue: 0 });
    expect((await entriesOf(s, inv.id)).map((x) => x.kind)).toEqual(['escrow_release', 'direct_payment']);
    expect((await p.client.api.get(`/v1/milestones/${acc.body.milestoneId}`)).body).toMatchObject({ status: 'paid', inEscrow: 0 });
    expect((await p.client.api.get(`/v1/invoices/${small.id}`)).body).toMatchObject({ status: 'paid', paidFromEscrow: 0, charged: 501 });
    // Paying a paid invoice is refused, nothing changes.
    expectProblem(await p.client.api.post(`/v1/invoices/${inv.id}/pay`, {}), 409, 'invalid_state');
    await runJobs(s);
    expect((await entriesOf(s, inv.id)).length).toBe(2);
    await expectLedgerClean(s);
  });

  it('a declined card leaves the invoice past due, tells both parties, and the client pays it', async () => {
    const p = await newParties(s);
    expect((await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    const c = await hourlyContract(p, { hourlyRate: 6000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(2), 90);
    await runAt(s, plusDays(w.monday, 7));
    await runAt(s, plusDays(w.monday, 9));
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect(inv).toMatchObject({ amount: 9000, status: 'past_due', charged: 0, balanceDue: 9000 });
    expect(await notificationsOf(p.client.api, 'invoice.past_due', c.id)).toHaveLength(1);
    expect(await notificationsOf(p.contractor.api, 'invoice.past_due', c.id)).toHaveLength(1);
    // The daily retry uses the default card again: still past due, not notified twice.
    await runAt(s, plusDays(w.monday, 10), 120_000);
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'past_due' });
    expect(await notificationsOf(p.client.api, 'invoice.past_due', c.id)).toHaveLength(1);
    // The client pays it: a declined card changes nothing, a good one pays.
    expectProblem(await p.contractor.api.post(`/v1/invoices/${inv.id}/pay`, {}), 403, 'forbidden');
    expectProblem(await p.client.api.post(`/v1/invoices/${inv.id}/pay`, {}), 402, 'payment_declined');
    const ok = await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ status: 'paid', charged: 9000, balanceDue: 0 });
    expectProblem(await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' }), 409, 'invalid_state');
    await runAt(s, plusDays(w.monday, 11), 180_000); // the next retry finds it paid
    expect((await entriesOf(s, inv.id)).length).toBe(1);
    await expectLedgerClean(s);
  });

  it('Monday and Wednesday jobs run twice and concurrently: one invoice, one charge', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 3000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(0), 120);
    await logTime(p, c.id, w.day(1), 60);
    await runAt(s, plusDays(w.monday, 7));
    await Promise.all([runJobs(s), runJobs(s), runJobs(s), runJobs(s)]);
    const invoices = await contractInvoices(p.client.api, c.id);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ amount: 9000, loggedMinutes: 180 });
    await runAt(s, plusDays(w.monday, 9));
    await Promise.all([runJobs(s), runJobs(s), runJobs(s), runJobs(s)]);
    await runJobs(s);
    const [rows] = await Promise.all([s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payments WHERE invoice_id = $1', [invoices[0].id])]);
    expect(rows[0]!.n).toBe(1);
    expect((await entriesOf(s, invoices[0].id)).map((x) => x.kind)).toEqual(['direct_payment']);
    expect((await p.client.api.get(`/v1/invoices/${invoices[0].id}`)).body.status).toBe('paid');
    await expectLedgerClean(s);
  });

  it('an invoice disputed on Tuesday is not paid on Wednesday and settles once when resolved', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 6000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(3), 600);
    await runAt(s, plusDays(w.monday, 7));
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect(inv.amount).toBe(60000);
    await runAt(s, plusDays(w.monday, 8), 10 * 3_600_000);
    expectProblem(await p.contractor.api.post(`/v1/invoices/${inv.id}/dispute`, { reason: 'mine' }), 403, 'forbidden');
    const d = await p.client.api.post(`/v1/invoices/${inv.id}/dispute`, { reason: 'Thursday was not agreed' });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect(d.body).toMatchObject({ invoiceId: inv.id, milestoneId: null, status: 'open', openerRole: 'client' });
    expect(await notificationsOf(p.contractor.api, 'invoice.disputed', c.id)).toHaveLength(1);
    expect(await notificationsOf(p.client.api, 'invoice.disputed', c.id)).toHaveLength(1);
    expect((await p.contractor.api.post(`/v1/disputes/${d.body.id}/respond`, { message: 'It was in the brief' })).status).toBe(200);
    await runAt(s, plusDays(w.monday, 9));
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'open', charged: 0, disputeId: d.body.id });
    expectProblem(await p.client.api.post(`/v1/invoices/${inv.id}/pay`, {}), 409, 'invalid_state');
    expectProblem(await s.admin.post(`/v1/disputes/${d.body.id}/resolve`, { releaseAmount: 30000, refundAmount: 20000 }), 422, 'validation_failed');
    const r = await s.admin.post(`/v1/disputes/${d.body.id}/resolve`, { releaseAmount: 36000, refundAmount: 24000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.resolution).toMatchObject({ releaseAmount: 36000, refundAmount: 24000 });
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'paid', amount: 60000, amountDue: 36000, charged: 36000 });
    expectProblem(await s.admin.post(`/v1/disputes/${d.body.id}/resolve`, { releaseAmount: 36000, refundAmount: 24000 }), 409, 'invalid_state');
    await runJobs(s);
    expect((await entriesOf(s, inv.id)).length).toBe(1);
    // The review window has ended for anything else: Wednesday is past.
    await expectLedgerClean(s);
  });
  it('rate and limit changes follow the policy’s change rules and bill from the next Monday', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 3000, weeklyLimitHours: 10 });
    const w = await cal.next();
    // hourly_requests: the contractor's change waits for the client; the client's applies at once.
    const prop = await p.contractor.api.post(`/v1/contracts/${c.id}/hourly-terms`, { hourlyRate: 6000 });
    expect(prop.status, JSON.stringify(prop.body)).toBe(201);
    expect(prop.body).toMatchObject({ status: 'proposed', hourlyRate: 6000, weeklyLimitHours: 10, effectiveFrom: null });
    expectProblem(await p.contractor.api.post(`/v1/hourly-terms/${prop.body.id}/accept`), 403, 'forbidden');
    const acc = await p.client.api.post(`/v1/hourly-terms/${prop.body.id}/accept`);
    expect(acc.body).toMatchObject({ status: 'accepted', effectiveFrom: plusDays(w.monday, 7) });
    const lim = await p.client.api.post(`/v1/contracts/${c.id}/hourly-terms`, { weeklyLimitHours: null });
    expect(lim.body).toMatchObject({ status: 'accepted', hourlyRate: 6000, weeklyLimitHours: null, effectiveFrom: plusDays(w.monday, 7) });
    await logTime(p, c.id, w.day(0), 720);
    const sheet = await p.client.api.get(`/v1/contracts/${c.id}/time-entries?from=${w.monday}&to=${plusDays(w.monday, 13)}`);
    expect(sheet.body.weeks.map((x: any) => [x.hourlyRate, x.weeklyLimitHours])).toEqual([[3000, 10], [6000, null]]);
    await runAt(s, plusDays(w.monday, 7));
    await logTime(p, c.id, plusDays(w.monday, 7), 720);
    await runAt(s, plusDays(w.monday, 14));
    const invoices = await contractInvoices(p.client.api, c.id);
    expect(invoices.map((i) => [i.periodStart, i.billedMinutes, i.hourlyRate, i.amount])).toEqual([
      [plusDays(w.monday, 7), 720, 6000, 72000],
      [w.monday, 600, 3000, 30000],
    ]);
    await expectLedgerClean(s);
  });
});
