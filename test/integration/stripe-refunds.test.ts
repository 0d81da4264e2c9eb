import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, liveContract, newUser, type TestServer } from '../support/harness.ts';
import { activityKinds, runJobs, setClock } from '../support/negotiation-helpers.ts';
import type { FakeStripe } from '../support/stripe-server.ts';
import { startWithStripe, stopWithStripe } from '../support/stripe-world.ts';

/**
 * Refunds Stripe answers `pending` (issue 14): the refund operation is `processing` and nothing
 * leaves the client's funding account until Stripe says how it ended — the worker's sweep
 * retrieving the Refund, or its events (refund.updated, charge.refund.updated, refund.failed),
 * whichever comes first, once. A failed refund leaves the money in the client's funding account
 * and both parties are told (milestone.refund_failed).
 */
type Op = { status: string; provider_ref: string | null; entry_reference: string | null; failure_code: string | null };

describe.each(engines())('Stripe refunds answered pending on %s', (engine) => {
  let s: TestServer;
  let stripe: FakeStripe;
  beforeAll(async () => {
    ({ s, stripe } = await startWithStripe(engine));
  });
  afterAll(() => stopWithStripe(s, stripe));

  const refundOp = async (milestoneId: string) =>
    (await s.db.query<Op>("SELECT status, provider_ref, entry_reference, failure_code FROM provider_operations WHERE milestone_id = $1 AND operation = 'refund'", [milestoneId]))[0]!;
  const kindsOf = async (milestoneId: string) =>
    (await s.db.query<{ kind: string }>('SELECT kind FROM journal_entries WHERE milestone_id = $1 ORDER BY seq', [milestoneId])).map((e) => e.kind);
  /** What the client's funding account holds: refunds owed to them that have not reached their card. */
  const funding = async (clientId: string) =>
    Number(
      (await s.db.query<{ net: string }>(
        `SELECT (COALESCE(SUM(amount) FILTER (WHERE destination = $1), 0) - COALESCE(SUM(amount) FILTER (WHERE source = $1), 0))::bigint AS net
         FROM postings WHERE source = $1 OR destination = $1`,
        [`clients:${clientId}:funding`],
      ))[0]!.net,
    );
  const refundFailedNotices = async (api: TestServer['admin']) =>
    ((await api.get('/v1/notifications?limit=100')).body.data as { kind: string }[]).filter((n) => n.kind === 'milestone.refund_failed');

  /** A funded milestone refunded by the contractor while Stripe answers its Refund `pending`. */
  async function pendingRefund(amount: number) {
    const client = await newUser(s, 'client');
    const contractor = await newUser(s, 'contractor');
    expect((await client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_visa' })).status).toBe(200);
    const c = await liveContract(s, { client, contractor }, 'sequential_escrow', [{ title: 'Refunded', amount }]);
    const m = c.milestones[0].id as string;
    expect((await client.api.post(`/v1/milestones/${m}/fund`)).status).toBe(200);
    stripe.pendNextRefunds();
    const r = await contractor.api.post(`/v1/milestones/${m}/refund`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'refunded', inEscrow: 0 });
    const op = await refundOp(m);
    expect(op).toMatchObject({ status: 'processing', entry_reference: null });
    expect(stripe.get(op.provider_ref!)).toMatchObject({ object: 'refund', status: 'pending', amount });
    // Out of escrow, owed to the client, not yet on its way to the card.
    expect(await kindsOf(m)).toEqual(['escrow_funding', 'escrow_refund']);
    expect(await funding(client.id)).toBe(amount);
    return { client, contractor, contract: c, m, refund: op.provider_ref! };
  }

  it('a pending refund is processing until the sweep retrieves it succeeded: then booked once', async () => {
    const p = await pendingRefund(5000);
    // Still pending at Stripe: the sweep asks and leaves it processing.
    await runJobs(s);
    expect((await refundOp(p.m)).status).toBe('processing');
    await expectLedgerClean(s);
    stripe.settleRefund(p.refund, 'succeeded');
    // The sweep's next attempt (after its backoff) retrieves the Refund: succeeded.
    await setClock(s, new Date(Date.now() + 3_600_000));
    await runJobs(s);
    expect(await refundOp(p.m)).toMatchObject({ status: 'succeeded', entry_reference: `refund_paid:${p.refund}` });
    expect(await kindsOf(p.m)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    expect(await funding(p.client.id)).toBe(0);
    // Its events, late and twice: nothing more.
    for (const e of stripe.events.filter((x) => x.data.object.id === p.refund && x.type !== 'refund.created')) await stripe.send(e);
    await runJobs(s);
    expect(await kindsOf(p.m)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    expect(await refundFailedNotices(p.client.api)).toEqual([]);
    await expectLedgerClean(s);
  });

  it('refund.updated (succeeded) settles a pending refund before the sweep; replays and charge.refund.updated change nothing', async () => {
    const p = await pendingRefund(4000);
    const [updated, chargeUpdated] = stripe.settleRefund(p.refund, 'succeeded');
    expect((await stripe.send(updated!)).status).toBe(200);
    await runJobs(s);
    expect((await refundOp(p.m)).status).toBe('succeeded');
    await stripe.deliver([updated!, chargeUpdated!]);
    await runJobs(s);
    expect(await kindsOf(p.m)).toEqual(['escrow_funding', 'escrow_refund', 'refund_paid']);
    const outcomes = await s.db.query<{ type: string; outcome: string }>('SELECT type, outcome FROM provider_events WHERE event_id = ANY($1) ORDER BY type', [[updated!.id, chargeUpdated!.id]]);
    expect(outcomes).toEqual([
      { type: 'charge.refund.updated', outcome: `${p.refund}: already succeeded` },
      { type: 'refund.updated', outcome: `${p.refund}: succeeded` },
    ]);
    await expectLedgerClean(s);
  });

  it('refund.failed: the money stays in the client’s funding account and both parties are told, once, whatever the order of the events', async () => {
    const p = await pendingRefund(7000);
    const events = stripe.settleRefund(p.refund, 'failed', 'expired_or_canceled_card');
    expect(events.map((e) => e.type)).toEqual(['refund.updated', 'charge.refund.updated', 'refund.failed']);
    // Out of order and each twice.
    await stripe.deliver([events[2]!, events[0]!, events[2]!, events[1]!, events[0]!]);
    await runJobs(s);
    expect(await refundOp(p.m)).toMatchObject({ status: 'failed', failure_code: 'expired_or_canceled_card', entry_reference: null });
    expect(await kindsOf(p.m)).toEqual(['escrow_funding', 'escrow_refund']);
    expect(await funding(p.client.id)).toBe(7000);
    expect(stripe.get(stripe.get(p.refund)!.charge)).toMatchObject({ refunded: false, amount_refunded: 0 });
    for (const who of [p.client, p.contractor]) expect(await refundFailedNotices(who.api)).toEqual([expect.objectContaining({ kind: 'milestone.refund_failed' })]);
    expect((await activityKinds(p.client.api, p.contract.id)).filter((k) => k === 'milestone.refund_failed')).toHaveLength(1);
    // The sweep has nothing left to ask.
    await setClock(s, new Date(Date.now() + 2 * 3_600_000));
    await runJobs(s);
    expect((await refundOp(p.m)).status).toBe('failed');
    await expectLedgerClean(s);
  });

  it('a pending refund the sweep finds failed is the same failure (no event needed)', async () => {
    const p = await pendingRefund(3000);
    stripe.settleRefund(p.refund, 'failed', 'lost_or_stolen_card');
    await setClock(s, new Date(Date.now() + 3 * 3_600_000));
    await runJobs(s);
    expect((await refundOp(p.m)).status).toBe('failed');
    expect(await funding(p.client.id)).toBe(3000);
    for (const who of [p.client, p.contractor]) expect(await refundFailedNotices(who.api)).toHaveLength(1);
    await expectLedgerClean(s);
  });
});
