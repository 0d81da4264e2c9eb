import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, newParties, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';
import { mapLimit, prng, runSeed, type Prng } from '../support/reliability-helpers.ts';

/**
 * Races (PRODUCT.md §5: "Concurrent conflicting commands leave exactly one winner and a
 * balanced ledger"). More than 1,000 randomized pairs of conflicting commands, each pair fired
 * at the same moment, 25 contracts in parallel: exactly one of the two wins, the loser gets a
 * 4xx problem naming the current state (never a 5xx), the database agrees with the winner, and
 * the ledger check is clean at the end.
 */
const PAIRS = { approveApprove: 220, fundFund: 220, fundDelete: 220, releaseClose: 180, acceptWithdraw: 180 };
const PARALLEL = 25;
// Overrides merge per currency: 0 lifts the preset's minimum deposit.
const POLICY = { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null, minFundingAmount: { USD: 0, EUR: 0 } } };

type Parties = Awaited<ReturnType<typeof newParties>>;
type Outcome = { kind: string; pair: string; a: Res; b: Res };

describe.skipIf(!engines().includes('postgres'))('races: concurrent conflicting command pairs (postgres)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('postgres', { DB_POOL_SIZE: '20' });
  });
  afterAll(async () => s?.stop());

  /** The client as itself or through the platform admin token acting for them. */
  const asClient = (p: Parties, r: Prng): Client => (r.bool(0.25) ? s.admin.actingAs(p.client.id) : p.client.api);
  const asContractor = (p: Parties, r: Prng): Client => (r.bool(0.25) ? s.admin.actingAs(p.contractor.id) : p.contractor.api);
  /** Half the commands carry an Idempotency-Key (each its own: they are different commands). */
  const key = (r: Prng, tag: string): Record<string, string> => (r.bool() ? { 'idempotency-key': `race-${tag}-${r.int(0, 1e9)}` } : {});

  /** Starts both requests in random order, at the same time. */
  async function fire(r: Prng, a: () => Promise<Res>, b: () => Promise<Res>): Promise<[Res, Res]> {
    if (r.bool()) {
      const [x, y] = await Promise.all([a(), b()]);
      return [x, y];
    }
    const [y, x] = await Promise.all([b(), a()]);
    return [x, y];
  }

  async function contract(p: Parties, n: number, r: Prng, title: string) {
    const c = await p.client.api.post('/v1/contracts', {
      title,
      clientId: p.client.id,
      contractorId: p.contractor.id,
      type: 'fixed',
      currency: r.pick(['USD', 'EUR', 'JPY']),
      policy: POLICY,
      milestones: Array.from({ length: n }, (_, j) => ({ title: `M${j}`, amount: r.int(1, 500_000), dueDate: inDays(10 + j) })),
    });
    if (c.status !== 201) throw new Error(`create: ${c.status} ${JSON.stringify(c.body)}`);
    const a = await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
    if (a.status !== 200) throw new Error(`activate: ${a.status} ${JSON.stringify(a.body)}`);
    return { id: c.body.id as string, milestones: (c.body.milestones as { id: string; amount: number }[]).map((m) => ({ id: m.id, amount: m.amount })) };
  }

  async function must(res: Promise<Res>, status: number, what: string) {
    const r = await res;
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  }

  it('leaves exactly one winner per pair across >1,000 pairs and a clean ledger', async () => {
    const seed = runSeed('races');
    const outcomes: Outcome[] = [];
    const problems: string[] = [];
    const t0 = Date.now();

    const partyPool = await mapLimit(Array.from({ length: PARALLEL }, (_, i) => i), 5, () => newParties(s));

    /** Milestone-level pairs: contracts of 10 milestones, their pairs one after the other. */
    async function milestonePairs(kind: 'approveApprove' | 'fundFund' | 'fundDelete', total: number, salt: number) {
      const per = 10;
      const jobs = Array.from({ length: Math.ceil(total / per) }, (_, i) => i);
      await mapLimit(jobs, PARALLEL, async (i) => {
        const r = prng(seed + salt * 10_000 + i);
        const p = partyPool[i % partyPool.length]!;
        const c = await contract(p, Math.min(per, total - i * per), r, `race ${kind} ${i}`);
        for (const m of c.milestones) {
          const pair = `${kind} ${m.id}`;
          const fund = () => asClient(p, r).post(`/v1/milestones/${m.id}/fund`, r.bool() ? { paymentMethod: 'pm_card_ok' } : undefined, key(r, 'fund'));
          if (kind === 'approveApprove') {
            await must(fund(), 200, `fund ${m.id}`);
            const approve = () => asClient(p, r).post(`/v1/milestones/${m.id}/approve`, undefined, key(r, 'approve'));
            const [a, b] = await fire(r, approve, approve);
            outcomes.push({ kind, pair, a, b });
          } else if (kind === 'fundFund') {
            const [a, b] = await fire(r, fund, fund);
            outcomes.push({ kind, pair, a, b });
          } else {
            const del = () => asClient(p, r).del(`/v1/milestones/${m.id}`);
            const [a, b] = await fire(r, fund, del);
            outcomes.push({ kind, pair, a, b });
          }
        }
      });
    }

    /** Contract-level pairs: a funded milestone; the client's partial release against the contractor closing and giving the escrow back (a client's refund at close is only a request, which moves nothing). */
    async function releaseClosePairs(total: number) {
      await mapLimit(Array.from({ length: total }, (_, i) => i), PARALLEL, async (i) => {
        const r = prng(seed + 70_000 + i);
        const p = partyPool[i % partyPool.length]!;
        const c = await contract(p, 1, r, `race release/close ${i}`);
        const m = c.milestones[0]!;
        if (m.amount < 2) return releaseCloseFallback(p, r, i);
        await must(p.client.api.post(`/v1/milestones/${m.id}/fund`), 200, `fund ${m.id}`);
        const release = () => asClient(p, r).post(`/v1/milestones/${m.id}/release`, { amount: r.int(1, m.amount - 1) }, key(r, 'release'));
        const close = () => asContractor(p, r).post(`/v1/contracts/${c.id}/close`, { refund: m.amount }, key(r, 'close'));
        const [a, b] = await fire(r, release, close);
        outcomes.push({ kind: 'releaseClose', pair: `releaseClose ${c.id} ${m.id}`, a, b });
      });
    }
    async function releaseCloseFallback(p: Parties, r: Prng, i: number) {
      // amount 1 cannot be partly released: draw again with a fixed amount
      const c = await p.client.api.post('/v1/contracts', {
        title: `race release/close ${i}b`, clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', policy: POLICY,
        milestones: [{ title: 'M', amount: 1000, dueDate: inDays(10) }],
      });
      await must(p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`), 200, 'activate');
      const m = c.body.milestones[0];
      await must(p.client.api.post(`/v1/milestones/${m.id}/fund`), 200, 'fund');
      const [a, b] = await fire(
        r,
        () => asClient(p, r).post(`/v1/milestones/${m.id}/release`, { amount: 400 }),
        () => asContractor(p, r).post(`/v1/contracts/${c.body.id}/close`, { refund: 1000 }),
      );
      outcomes.push({ kind: 'releaseClose', pair: `releaseClose ${c.body.id} ${m.id}`, a, b });
    }

    /** Change requests: the contractor proposes a change; the client accepts while the contractor withdraws. */
    async function acceptWithdrawPairs(total: number) {
      const per = 9;
      await mapLimit(Array.from({ length: Math.ceil(total / per) }, (_, i) => i), PARALLEL, async (i) => {
        const r = prng(seed + 90_000 + i);
        const p = partyPool[i % partyPool.length]!;
        const c = await contract(p, 3, r, `race change requests ${i}`);
        for (let k = 0; k < Math.min(per, total - i * per); k++) {
          const target = r.pick(c.milestones);
          const amount = r.int(1, 900_000);
          const cr = await must(
            p.contractor.api.post(`/v1/contracts/${c.id}/change-requests`, {
              operations: r.bool(0.7)
                ? [{ op: 'update', milestoneId: target.id, changes: { amount, title: `T${k}` } }]
                : [{ op: 'add', milestone: { title: `Added ${k}`, amount, dueDate: inDays(40) } }],
              message: `change ${k}`,
            }),
            201,
            'open change request',
          );
          if (cr.body.status !== 'open') throw new Error(`change request not open: ${JSON.stringify(cr.body)}`);
          const accept = () => asClient(p, r).post(`/v1/change-requests/${cr.body.id}/accept`, undefined, key(r, 'accept'));
          const withdraw = () => asContractor(p, r).post(`/v1/change-requests/${cr.body.id}/withdraw`, undefined, key(r, 'withdraw'));
          const [a, b] = await fire(r, accept, withdraw);
          outcomes.push({ kind: 'acceptWithdraw', pair: `acceptWithdraw ${cr.body.id}`, a, b });
        }
      });
    }

    await Promise.all([
      milestonePairs('approveApprove', PAIRS.approveApprove, 1),
      milestonePairs('fundFund', PAIRS.fundFund, 2),
      milestonePairs('fundDelete', PAIRS.fundDelete, 3),
      releaseClosePairs(PAIRS.releaseClose),
      acceptWithdrawPairs(PAIRS.acceptWithdraw),
    ]);
    const elapsed = Date.now() - t0;

    // Exactly one winner; the loser is a 4xx problem with its code (and the state where it is a state conflict).
    for (const o of outcomes) {
      const both = [o.a, o.b];
      const five = both.filter((x) => x.status >= 500);
      if (five.length) problems.push(`${o.pair}: 5xx ${JSON.stringify(five.map((x) => x.body))}`);
      const winners = both.filter((x) => x.status >= 200 && x.status < 300);
      if (winners.length !== 1) {
        problems.push(`${o.pair}: ${winners.length} winners (${o.a.status} ${JSON.stringify(o.a.body)} / ${o.b.status} ${JSON.stringify(o.b.body)})`);
        continue;
      }
      const loser = both.find((x) => x !== winners[0])!;
      if (loser.status < 400 || loser.status >= 500 || typeof loser.body?.code !== 'string' || !String(loser.headers.get('content-type')).startsWith('application/problem+json')) {
        problems.push(`${o.pair}: loser answered ${loser.status} ${JSON.stringify(loser.body)}`);
      } else if (loser.status === 409 && ['invalid_state'].includes(loser.body.code) && typeof loser.body.state !== 'string') {
        problems.push(`${o.pair}: 409 without the current state: ${JSON.stringify(loser.body)}`);
      }
    }

    // The database agrees with the winners.
    const byKind = (k: string) => outcomes.filter((o) => o.kind === k);
    const msIds = (k: string) => byKind(k).map((o) => o.pair.split(' ').at(-1)!);
    const rows = async (ids: string[]) =>
      s.db.query<{ id: string; status: string; fundings: number; payments: number; funded: number; released: number; refunded: number; amount: number }>(
        `SELECT m.id, m.status, m.amount::int, m.funded_amount::int AS funded, m.released_amount::int AS released, m.refunded_amount::int AS refunded,
           (SELECT COUNT(*)::int FROM fundings f WHERE f.milestone_id = m.id) AS fundings,
           (SELECT COUNT(*)::int FROM payments p WHERE p.milestone_id = m.id) AS payments
         FROM milestones m WHERE m.id = ANY($1)`,
        [ids],
      );
    for (const m of await rows(msIds('approveApprove'))) {
      if (m.status !== 'paid' || m.payments !== 1 || m.released !== m.amount) problems.push(`approve/approve ${m.id}: ${JSON.stringify(m)}`);
    }
    for (const m of await rows(msIds('fundFund'))) {
      if (m.status !== 'funded' || m.fundings !== 1 || m.funded !== m.amount) problems.push(`fund/fund ${m.id}: ${JSON.stringify(m)}`);
    }
    const fdWinner = new Map(byKind('fundDelete').map((o) => [o.pair.split(' ').at(-1)!, o.a.status < 300 ? 'funded' : 'cancelled']));
    for (const m of await rows(msIds('fundDelete'))) {
      const want = fdWinner.get(m.id);
      const okRow = want === 'funded' ? m.status === 'funded' && m.fundings === 1 : m.status === 'cancelled' && m.fundings === 0 && m.funded === 0;
      if (!okRow) problems.push(`fund/delete ${m.id}: winner ${want}, row ${JSON.stringify(m)}`);
    }
    const rcWinner = new Map(byKind('releaseClose').map((o) => [o.pair.split(' ').at(-1)!, o.a.status < 300 ? 'release' : 'close']));
    for (const m of await rows(msIds('releaseClose'))) {
      const want = rcWinner.get(m.id);
      const okRow = want === 'release' ? m.status === 'funded' && m.released > 0 && m.refunded === 0 : m.status === 'refunded' && m.released === 0 && m.refunded === m.amount;
      if (!okRow) problems.push(`release/close ${m.id}: winner ${want}, row ${JSON.stringify(m)}`);
    }
    const crs = await s.db.query<{ id: string; status: string }>('SELECT id, status FROM change_requests WHERE id = ANY($1)', [byKind('acceptWithdraw').map((o) => o.pair.split(' ')[1]!)]);
    const crWinner = new Map(byKind('acceptWithdraw').map((o) => [o.pair.split(' ')[1]!, o.a.status < 300 ? 'accepted' : 'withdrawn']));
    for (const cr of crs) if (crWinner.get(cr.id) !== cr.status) problems.push(`accept/withdraw ${cr.id}: winner ${crWinner.get(cr.id)}, status ${cr.status}`);

    const counts = Object.fromEntries(Object.keys(PAIRS).map((k) => [k, byKind(k).length]));
    const wins = Object.fromEntries(
      Object.keys(PAIRS).map((k) => [k, { first: byKind(k).filter((o) => o.a.status < 300).length, second: byKind(k).filter((o) => o.b.status < 300).length }]),
    );
    process.stdout.write(`[races] ${outcomes.length} pairs in ${elapsed} ms: ${JSON.stringify(counts)}; winners by side ${JSON.stringify(wins)}\n`);

    expect(problems.slice(0, 20)).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(1000);
    expect(counts).toEqual(PAIRS);
    expect(crs).toHaveLength(PAIRS.acceptWithdraw);
    await expectLedgerClean(s);
  }, 180_000);
});
