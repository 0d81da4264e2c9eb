import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MilestoneStatus } from '../../src/domain/milestone-machine.ts';
import { engines, expectLedgerClean, inDays, newParties, startTestServer, type Client, type Res, type TestServer } from '../support/harness.ts';
import { aim, modelArb, runSequence, type Cmd, type Setup } from './model-core.ts';

/*
 * The model test's random sequences, run over real HTTP against the real server and database
 * on each engine. After every step: the ledger check is clean, the contract's overview (read
 * from the ledger) equals what its milestones say, and a refused command (4xx) changed nothing.
 */

const SEQUENCES = 30;
const MAX_STEPS = 18;
/** The sequences that move the most money (by the in-memory model) out of a larger sample: HTTP steps are dear. */
const samples = fc
  .sample(modelArb, { seed: 0x7a4c4e, numRuns: SEQUENCES * 8 })
  .map(([setup, cmds]) => {
    const head = cmds.slice(0, MAX_STEPS);
    return { setup, cmds: head, entries: runSequence(setup, head).impl.entries };
  })
  .sort((a, b) => b.entries - a.entries)
  .slice(0, SEQUENCES)
  .map(({ setup, cmds }, n): [number, Setup, Cmd[]] => [n, setup, cmds]);

type M = { id: string; status: MilestoneStatus; version: number; amount: number; fundedAmount: number; releasedAmount: number; refundedAmount: number; inEscrow: number; fundingPending: boolean };
type ContractView = { id: string; status: string; version: number; overview: { total: number; inEscrow: number; paid: number; remaining: number }; milestones: M[] };

function expectOverviewMatchesMilestones(c: ContractView, escrow: boolean, paidDrafts: Set<string>, where: string) {
  let inEscrow = 0;
  let paid = 0;
  let remaining = 0;
  for (const m of c.milestones) {
    expect(m.inEscrow, `${where}: ${m.id} inEscrow`).toBe(m.fundedAmount - m.releasedAmount - m.refundedAmount);
    expect(m.releasedAmount + m.refundedAmount, `${where}: ${m.id} released + refunded ≤ funded`).toBeLessThanOrEqual(m.fundedAmount);
    inEscrow += m.inEscrow;
    paid += escrow ? m.releasedAmount : paidDrafts.has(m.id) ? m.amount : 0;
    if (['accepted', 'in_progress', 'approved'].includes(m.status) || (m.status === 'submitted' && !escrow)) remaining += m.amount;
  }
  expect(c.overview, where).toMatchObject({ inEscrow, paid, remaining, total: inEscrow + paid + remaining });
}

const fingerprint = (c: ContractView) => JSON.stringify([c.status, c.version, c.overview, c.milestones.map((m) => [m.id, m.version, m.status, m.fundedAmount, m.releasedAmount, m.refundedAmount])]);

describe.each(engines())('model over HTTP on %s', (engine) => {
  let s: TestServer;
  const reached = { ok: 0, refused: 0, funded: 0, released: 0, refunded: 0 };
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  it.each(samples)('random sequence %i keeps the ledger clean, the overview true, and refusals harmless', async (_n, setup, cmds) => {
    const { client, contractor } = await newParties(s);
    const { preset, ...overrides } = setup.policy;
    const creator = setup.creator === 'client' ? client : contractor;
    const created = await creator.api.post('/v1/contracts', {
      title: 'Model contract',
      clientId: client.id,
      contractorId: contractor.id,
      type: 'fixed',
      currency: setup.currency,
      policy: { preset, overrides },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const contractId: string = created.body.id;
    const escrow = setup.policy.escrow === 'required';
    const as = (who: string): Client | null => (who === 'client' ? client.api : who === 'contractor' ? contractor.api : who === 'admin' ? s.admin : null);
    const other = (who: string): Client => (who === 'client' ? contractor.api : client.api);
    const disputes = new Map<string, string>();
    const paidDrafts = new Set<string>();
    const view = async (): Promise<ContractView> => {
      const r = await client.api.get(`/v1/contracts/${contractId}`);
      expect(r.status).toBe(200);
      return r.body;
    };

    let before = await view();
    for (const [n, raw] of cmds.entries()) {
      const c = aim(raw, before.milestones);
      const where = `step ${n} ${JSON.stringify(c)}`;
      const api = as(c.who);
      const m = 'i' in c ? before.milestones[c.i] : undefined;
      if ('i' in c && !m) continue;
      let res: Res | null = null;
      const answerChangeRequest = async (r: Res, agree: boolean) => {
        if (r.status !== 202) return r;
        const a = await other(c.who).post(`/v1/change-requests/${r.body.id}/${agree ? 'accept' : 'decline'}`, {});
        expect(a.status, `${where}: answer change request ${JSON.stringify(a.body)}`).toBe(200);
        return r;
      };
      switch (c.k) {
        case 'add':
          if (api) res = await api.post(`/v1/contracts/${contractId}/milestones`, { title: 'Work', amount: c.amount, dueDate: inDays(30) });
          break;
        case 'edit':
          if (api) res = await answerChangeRequest(await api.patch(`/v1/milestones/${m!.id}`, { amount: c.amount }), c.agree);
          break;
        case 'delete':
          if (api) res = await answerChangeRequest(await api.del(`/v1/milestones/${m!.id}`), c.agree);
          break;
        case 'accept':
        case 'decline':
        case 'submit':
        case 'approve':
        case 'refund':
          if (api) res = await api.post(`/v1/milestones/${m!.id}/${c.k}`, c.k === 'submit' ? { note: 'done' } : {});
          break;
        case 'reject':
          if (api) res = await api.post(`/v1/milestones/${m!.id}/reject`, { reason: 'needs work' });
          break;
        case 'dispute':
          if (api) {
            res = await api.post(`/v1/milestones/${m!.id}/dispute`, { reason: 'not as agreed' });
            if (res.status === 201) disputes.set(m!.id, res.body.id);
          }
          break;
        case 'fund':
          if (api) res = await api.post(`/v1/milestones/${m!.id}/fund`, { paymentMethod: c.pending ? 'pm_card_fails_later' : 'pm_card_ok' });
          break;
        case 'release':
          if (api) res = await api.post(`/v1/milestones/${m!.id}/release`, { amount: Math.floor(m!.inEscrow * c.frac) + c.delta });
          break;
        case 'resolve': {
          const id = disputes.get(m!.id);
          if (api && id) {
            const rel = Math.floor(m!.inEscrow * c.frac);
            res = await api.post(`/v1/disputes/${id}/resolve`, { releaseAmount: rel, refundAmount: m!.inEscrow - rel + c.delta });
          }
          break;
        }
        case 'settle':
        case 'fail':
          // pending deposits settle (the sandbox's pm_card_fails_later: fail) when the due jobs run
          res = await s.admin.post('/v1/admin/jobs/run', {});
          expect(res.status, where).toBe(200);
          break;
        case 'pay': {
          if (!api) break;
          const drafts = await client.api.get(`/v1/payments?contractId=${contractId}&status=draft`);
          const draft = (drafts.body.data as { id: string; milestoneId: string }[]).find((p) => p.milestoneId === m!.id);
          if (!draft) break;
          res = await api.post(`/v1/payments/${draft.id}/pay`, {});
          if (res.status === 200) paidDrafts.add(m!.id);
          break;
        }
        case 'close': {
          if (!api) break;
          const total = before.milestones.reduce((a, x) => a + x.inEscrow, 0);
          const rel = Math.floor(total * c.frac) + c.delta;
          const body = c.mode === 'default' ? {} : c.mode === 'release' ? { release: rel } : c.mode === 'refund' ? { refund: rel } : { release: rel, refund: total - Math.floor(total * c.frac) };
          res = await api.post(`/v1/contracts/${contractId}/close`, body);
          break;
        }
        case 'activate':
        case 'withdraw':
          if (api) res = await api.post(`/v1/contracts/${contractId}/${c.k}`, {});
          break;
        case 'cdecline':
          if (api) res = await api.post(`/v1/contracts/${contractId}/decline`, {});
          break;
        case 'auto_approve':
          break; // a timer; the DB-backed timer tests cover it
      }
      if (!res) continue;
      expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
      await expectLedgerClean(s);
      const after = await view();
      if (res.status >= 400) reached.refused++;
      else reached.ok++;
      if (res.status >= 400) expect(fingerprint(after), `${where}: refused with ${res.status} ${res.body?.code} but changed something`).toBe(fingerprint(before));
      expectOverviewMatchesMilestones(after, escrow, paidDrafts, where);
      before = after;
    }
    for (const m of before.milestones) {
      if (m.fundedAmount > 0) reached.funded++;
      if (m.releasedAmount > 0) reached.released++;
      if (m.refundedAmount > 0) reached.refunded++;
    }
  });

  it('the sequences got somewhere (not a vacuous pass)', () => {
    expect(reached.ok).toBeGreaterThan(100);
    expect(reached.refused).toBeGreaterThan(20);
    expect(reached.funded).toBeGreaterThan(5);
    expect(reached.released + reached.refunded).toBeGreaterThan(3);
  });
});
