import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { hourlyContract, logTime, plusDays, runAt, weeks } from '../support/hourly-helpers.ts';
import { expectProblem, notificationsOf, serverNow } from '../support/negotiation-helpers.ts';

// Milestone payment requests, bad input on hourly routes, and the invoice's documents (PDF, CSV).
describe.each(engines())('hourly requests, input and documents on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  const escrowEntries = (contractId: string) =>
    s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1 AND kind = 'escrow_funding'", [contractId]);

  it('milestone requests: accepted (funded in escrow), declined, withdrawn, accepted twice', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 5000 });
    const ask = (amount: unknown, description = 'Next sprint') => p.contractor.api.post(`/v1/contracts/${c.id}/milestone-requests`, { amount, description });

    expectProblem(await p.client.api.post(`/v1/contracts/${c.id}/milestone-requests`, { amount: 1000, description: 'x' }), 403, 'forbidden');
    for (const bad of [-100, 0, 10.5, '100']) expectProblem(await ask(bad), 422, 'validation_failed');

    const a = await ask(40000, 'Design system\nall components');
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ status: 'open', amount: 40000, currency: 'USD', milestoneId: null });
    expect(await notificationsOf(p.client.api, 'milestone_request.created', c.id)).toHaveLength(1);
    expect((await escrowEntries(c.id))[0]!.n).toBe(0); // a request moves no money
    expectProblem(await p.contractor.api.post(`/v1/milestone-requests/${a.body.id}/accept`), 403, 'forbidden');
    const acc = await p.client.api.post(`/v1/milestone-requests/${a.body.id}/accept`);
    expect(acc.status, JSON.stringify(acc.body)).toBe(200);
    expect(acc.body).toMatchObject({ status: 'accepted', milestoneId: expect.any(String) });
    const again = await p.client.api.post(`/v1/milestone-requests/${a.body.id}/accept`);
    expectProblem(again, 409, 'invalid_state');
    expect((await escrowEntries(c.id))[0]!.n).toBe(1);
    const m = (await p.client.api.get(`/v1/milestones/${acc.body.milestoneId}`)).body;
    expect(m).toMatchObject({ title: 'Design system', amount: 40000, status: 'funded', inEscrow: 40000 });
    const page = (await p.contractor.api.get(`/v1/contracts/${c.id}`)).body;
    expect(page.overview).toMatchObject({ inEscrow: 40000 });

    const d = await ask(1000);
    expectProblem(await p.client.api.post(`/v1/milestone-requests/${d.body.id}/decline`, {}), 422, 'validation_failed');
    const dec = await p.client.api.post(`/v1/milestone-requests/${d.body.id}/decline`, { reason: 'Next month' });
    expect(dec.body).toMatchObject({ status: 'declined', declineReason: 'Next month' });

    const w = await ask(2000);
    expectProblem(await p.client.api.post(`/v1/milestone-requests/${w.body.id}/withdraw`), 403, 'forbidden');
    expect((await p.contractor.api.post(`/v1/milestone-requests/${w.body.id}/withdraw`)).body.status).toBe('withdrawn');
    expectProblem(await p.client.api.post(`/v1/milestone-requests/${w.body.id}/accept`), 409, 'invalid_state');

    const list = await p.client.api.get(`/v1/contracts/${c.id}/milestone-requests`);
    expect(list.body.data.map((r: any) => r.status)).toEqual(['withdrawn', 'declined', 'accepted']);
    const stranger = (await newParties(s)).client;
    expectProblem(await stranger.api.get(`/v1/milestone-requests/${a.body.id}`), 404, 'not_found');
    expect((await escrowEntries(c.id))[0]!.n).toBe(1);
    await expectLedgerClean(s);
  });

  it('bad input gets a 4xx problem with a stable code and changes nothing', async () => {
    const p = await newParties(s);
    const base = { title: 'Hourly', clientId: p.client.id, contractorId: p.contractor.id, type: 'hourly', currency: 'USD' };
    for (const terms of [{ hourlyRate: 10.5 }, { hourlyRate: 0 }, { hourlyRate: -5 }, {}, { hourlyRate: 100, weeklyLimitHours: 0 }, { hourlyRate: 100, weeklyLimitHours: 169 }, { hourlyRate: 100, weeklyLimitHours: 2.5 }]) {
      expectProblem(await p.client.api.post('/v1/contracts', { ...base, ...terms }), 422, 'validation_failed');
    }
    expectProblem(await p.client.api.post('/v1/contracts', { ...base, type: 'fixed', hourlyRate: 100 }), 422, 'validation_failed');
    const c = await hourlyContract(p, { hourlyRate: 100 });
    const today = serverNow(s).toISOString().slice(0, 10);
    const log = (body: unknown) => p.contractor.api.post(`/v1/contracts/${c.id}/time-entries`, body);
    for (const minutes of [0, 1441, 1.5, -30]) expectProblem(await log({ date: today, minutes, memo: 'x' }), 422, 'validation_failed');
    expectProblem(await log({ date: plusDays(today, 1), minutes: 60, memo: 'tomorrow' }), 422, 'validation_failed');
    expectProblem(await log({ date: '2026-02-30', minutes: 60, memo: 'no such day' }), 422, 'validation_failed');
    expectProblem(await log({ date: '18/11/2026', minutes: 60, memo: 'format' }), 422, 'validation_failed');
    await logTime(p, c.id, today, 1000);
    expectProblem(await log({ date: today, minutes: 441, memo: 'a 25th hour' }), 422, 'daily_limit_exceeded');
    await logTime(p, c.id, today, 440);
    const fixed = await liveContract(s, p, 'client_creates', [{ title: 'M', amount: 1000, dueDate: inDays(30, serverNow(s)) }]);
    expectProblem(await p.contractor.api.post(`/v1/contracts/${fixed.id}/time-entries`, { date: today, minutes: 60, memo: 'x' }), 422, 'not_hourly');
    expectProblem(await p.contractor.api.post(`/v1/contracts/${fixed.id}/milestone-requests`, { amount: 100, description: 'x' }), 422, 'not_hourly');
    const sheet = await p.contractor.api.get(`/v1/contracts/${c.id}/time-entries`);
    expect(sheet.body.data.map((e: any) => e.minutes)).toEqual([1000, 440]);
  });

  it('renders the invoice as a PDF and exports entries and invoices as CSV', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 7500, weeklyLimitHours: 1 });
    const w = await weeks(s).next();
    await logTime(p, c.id, w.day(1), 45, 'Kick-off, "notes"');
    await logTime(p, c.id, w.day(2), 30, '=SUM(A1)');
    const csv = await p.client.api.get(`/v1/contracts/${c.id}/time-entries?from=${w.monday}&to=${w.sunday}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = String(csv.body).trim().split('\r\n');
    expect(lines[0]).toBe('date,minutes,hours,memo,invoice_id,billed_minutes,id');
    expect(lines[1]).toContain(`${w.day(1)},45,0.75,"Kick-off, ""notes""",,,`);
    expect(lines[2]).toContain(`'=SUM(A1)`);
    expect((await p.client.api.get(`/v1/contracts/${c.id}/time-entries?from=${w.monday}&to=${w.sunday}`, { accept: 'text/csv' })).headers.get('content-type')).toMatch(/^text\/csv/);

    await runAt(s, plusDays(w.monday, 7));
    await runAt(s, plusDays(w.monday, 9));
    const inv = (await p.client.api.get(`/v1/contracts/${c.id}/invoices`)).body.data[0];
    expect(inv).toMatchObject({ loggedMinutes: 75, billedMinutes: 60, amount: 7500, status: 'paid' });
    const pdf = await fetch(`${s.url}/v1/invoices/${inv.id}/pdf`, { headers: { authorization: `Bearer ${p.contractor.token}` } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.length).toBeGreaterThan(1000);
    const stranger = (await newParties(s)).client;
    expectProblem(await stranger.api.get(`/v1/invoices/${inv.id}/pdf`), 404, 'not_found');

    const ic = await p.contractor.api.get(`/v1/invoices?format=csv`);
    expect(ic.status).toBe(200);
    const rows = String(ic.body).trim().split('\r\n');
    expect(rows[0]!.startsWith('number,period_start,period_end,logged_minutes,billed_minutes,hourly_rate,amount')).toBe(true);
    expect(rows[1]).toContain(`${inv.number},${w.monday},${w.sunday},75,60,7500,7500,7500,USD,paid`);
    const mine = await p.client.api.get('/v1/invoices');
    expect(mine.body.data.map((i: any) => i.id)).toEqual([inv.id]);
    const overview = await p.client.api.get(`/v1/contracts/${c.id}/hourly`);
    expect(overview.body).toMatchObject({ invoiced: 7500, paid: 7500, pastDue: 0 });
  });
});
