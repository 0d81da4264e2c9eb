/**
 * Round trips to the database per command and per read (issue 15, item 1), as the database layer
 * counts them (src/db/client.ts: a pipelined batch is one; BEGIN and COMMIT count) and the runner
 * tells them with TRANCHE_DEBUG_ROUND_TRIPS=1 (header `tranche-round-trips`: the command's
 * transaction, or the read's statements; `tranche-round-trips-after-commit`: the provider calls'
 * bookings and the final answer after commit). On PGlite nothing crosses a network, but the same
 * batches are counted, so both engines answer the same figures.
 */
process.env.TRANCHE_DEBUG_ROUND_TRIPS = '1';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, inDays, newParties, startTestServer, expectLedgerClean, type Res, type TestServer } from '../support/harness.ts';

const trips = (r: Res) => Number(r.headers.get('tranche-round-trips'));

describe.each(engines())('round trips per command and read (%s)', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('every lifecycle command is at most 3 round trips, the contract page 1', async () => {
    const p = await newParties(s);
    expect((await p.client.api.put('/v1/me/payment-method', { paymentMethod: 'pm_card_ok' })).status).toBe(200);
    const seen: Record<string, number[]> = {};
    let n = 0;
    const cmd = async (op: string, api: typeof p.client.api, path: string, body: unknown, status = 200) => {
      const r = await api.post(path, body, { 'idempotency-key': `rt-${op}-${++n}` });
      expect(r.status, `${op}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.headers.get('tranche-round-trips'), op).not.toBeNull();
      (seen[op] ??= []).push(trips(r));
      const after = r.headers.get('tranche-round-trips-after-commit');
      if (after !== null) (seen[`${op} after commit`] ??= []).push(Number(after));
      return r.body;
    };
    const created = await cmd('create', p.client.api, '/v1/contracts', {
      title: 'Round trips',
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: 'USD',
      policy: 'sequential_escrow',
      milestones: [1, 2, 3].map((k) => ({ title: `M${k}`, amount: 10_000 * k, dueDate: inDays(10 * k) })),
    }, 201);
    await cmd('activate', p.contractor.api, `/v1/contracts/${created.id}/activate`, {});
    const [m1, m2] = created.milestones as { id: string }[];
    await cmd('fund', p.client.api, `/v1/milestones/${m1!.id}/fund`, {});
    await cmd('submit', p.contractor.api, `/v1/milestones/${m1!.id}/submit`, { note: 'done' });
    await cmd('approve', p.client.api, `/v1/milestones/${m1!.id}/approve`, {});
    await cmd('fund', p.client.api, `/v1/milestones/${m2!.id}/fund`, {});
    await cmd('release', p.client.api, `/v1/milestones/${m2!.id}/release`, { amount: 5_000 });
    // Without Idempotency-Key too.
    const plain = await p.contractor.api.post(`/v1/milestones/${m2!.id}/submit`, { note: 'rest' });
    expect(plain.status).toBe(200);
    (seen['submit (no key)'] ??= []).push(trips(plain));

    // The contract page: warmed once (caches, if any), then counted.
    await p.client.api.get(`/v1/contracts/${created.id}`);
    for (let i = 0; i < 2; i++) {
      const r = await p.client.api.get(`/v1/contracts/${created.id}`);
      expect(r.status).toBe(200);
      (seen['contract page'] ??= []).push(trips(r));
    }
    // A replay is answered from the key (and is still few round trips).
    const replay = await p.client.api.post(`/v1/milestones/${m1!.id}/approve`, {}, { 'idempotency-key': 'rt-approve-5' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    console.log(`[${engine}] round trips per request: ${JSON.stringify(seen)}`);
    // After fund's commit: the operation's row read before the provider call (1), the booking's
    // transaction (3: the contract's and the row's locks; the contract, the milestone under its lock
    // and the other deposits; the writes with COMMIT), the milestone and contract the final answer
    // is made of (2; the operation's row is the one the booking wrote) and that answer stored
    // under the key (1).
    const limit = (op: string) => (op === 'contract page' ? 1 : op === 'fund after commit' ? 7 : 3);
    for (const [op, counts] of Object.entries(seen)) {
      for (const c of counts) {
        expect(c, `${op} took ${c} round trips`).toBeGreaterThan(0);
        expect(c, `${op} took ${c} round trips`).toBeLessThanOrEqual(limit(op));
      }
    }
    await expectLedgerClean(s);
  });
});
