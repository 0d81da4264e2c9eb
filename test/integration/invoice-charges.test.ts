import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxProvider } from '../../src/payments/sandbox.ts';
import type { ChargeRequest } from '../../src/payments/provider.ts';
import { engines, expectLedgerClean, newParties, startTestServer, type TestServer } from '../support/harness.ts';
import { contractInvoices, hourlyContract, logTime, plusDays, runAt, utcAt, weeks } from '../support/hourly-helpers.ts';
import { expectProblem, notificationsOf, runJobs, setClock } from '../support/negotiation-helpers.ts';

/**
 * Hourly invoices' card charges are provider operations (issue 14, item 1): written with the job
 * or command that pays the invoice, made after its commit, booked with the provider's answer in a
 * second transaction. The provider here looks at the database from the outside while it is
 * called: the operation and the invoice's `charge_pending` must already be committed, and no
 * transaction may hold the invoice's row lock. (Made inside the job's transaction, as before, the
 * operation would not exist, the invoice would be locked — on PGlite, whose one connection is busy
 * with that transaction, the look would not even return.)
 */
class WatchingSandbox extends SandboxProvider {
  db?: TestServer['db'];
  calls: string[] = [];
  seen: { key: string; operation: string | undefined; chargePending: boolean | undefined; lockFree: boolean }[] = [];
  override async charge(req: ChargeRequest) {
    if (req.idempotencyKey.startsWith('invoice:') && this.db) {
      this.calls.push(req.idempotencyKey);
      const invoiceId = req.idempotencyKey.split(':')[1]!;
      const [op] = await this.db.query<{ status: string }>('SELECT status FROM provider_operations WHERE idempotency_key = $1', [req.idempotencyKey]);
      const [inv] = await this.db.query<{ charge_pending: boolean }>('SELECT charge_pending FROM invoices WHERE id = $1', [invoiceId]);
      const lockFree = await this.db
        .tx((tx) => tx.query('SELECT id FROM invoices WHERE id = $1 FOR UPDATE NOWAIT', [invoiceId]))
        .then(() => true, () => false);
      this.seen.push({ key: req.idempotencyKey, operation: op?.status, chargePending: inv?.charge_pending, lockFree });
    }
    return super.charge(req);
  }
}

type Op = { purpose: string; operation: string; status: string; idempotency_key: string; amount: number; entry_reference: string | null };
const opsOf = (s: TestServer, invoiceId: string) =>
  s.db.query<Op>(
    'SELECT purpose, operation, status, idempotency_key, amount::int AS amount, entry_reference FROM provider_operations WHERE subject_id = $1 ORDER BY created_at, id',
    [invoiceId],
  );

describe.each(engines())('invoice charges as provider operations on %s', (engine) => {
  let s: TestServer;
  let cal: ReturnType<typeof weeks>;
  const provider = new WatchingSandbox();
  beforeAll(async () => {
    s = await startTestServer(engine, {}, { provider });
    provider.db = s.db;
    cal = weeks(s);
    await s.admin.patch('/v1/admin/platform', { fees: { clientBps: 300, contractorBps: 500 } });
  });
  afterAll(async () => s?.stop());

  it('Wednesday’s charge is made after the job committed, once, however many workers run the jobs', async () => {
    const p = await newParties(s);
    const c = await hourlyContract(p, { hourlyRate: 6000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(1), 150);
    await runAt(s, plusDays(w.monday, 7));
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect(inv).toMatchObject({ amount: 15000, status: 'open', chargePending: false });
    provider.seen.length = 0;
    provider.calls.length = 0;
    await setWednesday(s, w.monday);
    await Promise.all([runJobs(s), runJobs(s), runJobs(s), runJobs(s)]);
    await runJobs(s);
    const key = `invoice:${inv.id}:1`;
    expect(provider.calls).toEqual([key]);
    expect(provider.seen).toEqual([{ key, operation: 'pending', chargePending: true, lockFree: true }]);
    const [op] = await opsOf(s, inv.id);
    expect(op).toMatchObject({ purpose: 'invoice', operation: 'charge', status: 'succeeded', idempotency_key: key, amount: 15450 });
    const entries = await s.db.query<{ kind: string }>('SELECT kind FROM journal_entries WHERE reference = $1', [op!.entry_reference]);
    expect(entries).toEqual([{ kind: 'direct_payment' }]);
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'paid', charged: 15000, clientFee: 450, chargePending: false, balanceDue: 0 });
    expect(await notificationsOf(p.contractor.api, 'invoice.paid', c.id)).toHaveLength(1);
    await expectLedgerClean(s);
  });

  it('the client’s payment waits for the charge made after commit: 402 when declined (a new key next time), 200 when paid', async () => {
    const p = await newParties(s);
    expect((await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_declined' })).status).toBe(200);
    const c = await hourlyContract(p, { hourlyRate: 3000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(0), 60);
    await runAt(s, plusDays(w.monday, 7));
    await setWednesday(s, w.monday);
    await runJobs(s);
    const [inv] = await contractInvoices(p.client.api, c.id);
    expect(inv).toMatchObject({ status: 'past_due', chargePending: false, balanceDue: 3000 });
    provider.seen.length = 0;
    const declined = await p.client.api.post(`/v1/invoices/${inv.id}/pay`, {});
    expectProblem(declined, 402, 'payment_declined');
    expect(declined.body).toMatchObject({ invoiceId: inv.id, declineCode: 'card_declined' });
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'past_due', chargePending: false, charged: 0 });
    const paid = await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', charged: 3000, chargePending: false });
    expect((await opsOf(s, inv.id)).map((o) => [o.status, o.idempotency_key])).toEqual([
      ['failed', `invoice:${inv.id}:1`],
      ['failed', `invoice:${inv.id}:2`],
      ['succeeded', `invoice:${inv.id}:3`],
    ]);
    expect(provider.seen.every((x) => x.operation === 'pending' && x.chargePending && x.lockFree)).toBe(true);
    expect(provider.seen).toHaveLength(2);
    // Declined while the client waited: told by the 402, not notified again.
    expect(await notificationsOf(p.client.api, 'invoice.past_due', c.id)).toHaveLength(1);
    await expectLedgerClean(s);
  });

  it('a charge accepted to settle later holds the invoice; failing, it leaves it past due and tells both parties', async () => {
    const p = await newParties(s);
    expect((await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_fails_later' })).status).toBe(200);
    const c = await hourlyContract(p, { hourlyRate: 3000 });
    const w = await cal.next();
    await logTime(p, c.id, w.day(0), 120);
    await runAt(s, plusDays(w.monday, 7));
    await setWednesday(s, w.monday);
    // This run makes the charge (accepted, processing); the next one's sweep asks how it ended.
    await runJobs(s);
    const [inv] = await contractInvoices(p.client.api, c.id);
    const ops = await opsOf(s, inv.id);
    expect(ops.map((o) => o.status)).toEqual(['processing']);
    expect(inv).toMatchObject({ status: 'open', chargePending: true, charged: 0 });
    expectProblem(await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' }), 409, 'invalid_state');
    await expectLedgerClean(s);
    await runJobs(s);
    expect((await opsOf(s, inv.id)).map((o) => o.status)).toEqual(['failed']);
    expect((await p.client.api.get(`/v1/invoices/${inv.id}`)).body).toMatchObject({ status: 'past_due', chargePending: false, charged: 0, balanceDue: 6000 });
    expect(await notificationsOf(p.client.api, 'invoice.past_due', c.id)).toHaveLength(1);
    expect(await notificationsOf(p.contractor.api, 'invoice.past_due', c.id)).toHaveLength(1);
    const [pay] = await s.db.query<{ status: string }>('SELECT status FROM payments WHERE invoice_id = $1', [inv.id]);
    expect(pay).toEqual({ status: 'failed' });
    // The client pays it by hand with a good card.
    const paid = await p.client.api.post(`/v1/invoices/${inv.id}/pay`, { paymentMethod: 'pm_card_ok' });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', charged: 6000 });
    await expectLedgerClean(s);
  });
});

/** Wednesday 00:01 of the week after `monday`'s (the jobs are not run). */
async function setWednesday(s: TestServer, monday: string) {
  await setClock(s, utcAt(plusDays(monday, 9), 60_000));
}

