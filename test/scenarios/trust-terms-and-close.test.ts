import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MILESTONES_PER_CONTRACT } from '../../src/domain/limits.ts';
import { engines, expectLedgerClean, inDays, liveContract, newParties, setPlatformFees, startTestServer, type TestServer } from '../support/harness.ts';
import { DAY, runJobs, serverNow, setClock } from '../support/negotiation-helpers.ts';
import { expectProblem, expectRefused } from '../support/scenario-helpers.ts';

type Parties = Awaited<ReturnType<typeof newParties>>;

// Trust issue, defects 2 (terms the other party never agreed to), 4d (sums past 2^53),
// 10 (milestones per contract), 11 (close without a body) and 12 (escrow taken back without
// consent). Each `it` failed on the code before its fix.
describe.each(engines())('contract terms and closing on %s', (engine) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(engine);
  });
  afterAll(async () => s?.stop());

  const propose = (p: Parties, extra: Record<string, unknown> = {}, by: 'client' | 'contractor' = 'client') =>
    p[by].api.post('/v1/contracts', { title: 'Terms', clientId: p.client.id, contractorId: p.contractor.id, type: 'fixed', currency: 'USD', ...extra });

  describe('defect 2: a proposal binds nobody until the other party accepts it', () => {
    it('a party cannot set platform fees: they come from the platform', async () => {
      const p = await newParties(s);
      await expectRefused(s, () => propose(p, { policy: { preset: 'client_creates', overrides: { platformFee: { contractorBps: 5000 } } } }), 422, 'validation_failed');
      await setPlatformFees(s, { clientBps: 0, contractorBps: 1000 });
      try {
        const c = await propose(p, { policy: 'client_creates' });
        expect(c.status).toBe(201);
        // Both parties see the fee in the proposal, before anyone accepts it.
        expect((await p.contractor.api.get(`/v1/contracts/${c.body.id}`)).body.policy.platformFee).toEqual({ clientBps: 0, contractorBps: 1000 });
      } finally {
        await setPlatformFees(s, { clientBps: 0, contractorBps: 0 });
      }
    });

    it('the creator cannot activate; the other party does, and accepts the proposed milestones with it', async () => {
      const p = await newParties(s);
      const c = await propose(p, { policy: { preset: 'client_creates', overrides: { disputeResponseDays: 1, disputeDefaultOutcome: 'refund' } }, milestones: [{ title: 'Design', amount: 50000, dueDate: inDays(20) }] });
      expect(c.status).toBe(201);
      expect(c.body.milestones[0].status).toBe('proposed');
      await expectRefused(s, () => p.client.api.post(`/v1/contracts/${c.body.id}/activate`), 403, 'forbidden');
      // Nor can the admin acting as the creator.
      await expectRefused(s, () => s.admin.post(`/v1/contracts/${c.body.id}/activate`, undefined, { 'Acting-User': p.client.id }), 403, 'forbidden');
      const live = await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
      expect(live.status).toBe(200);
      expect(live.body.status).toBe('active');
      expect(live.body.milestones.map((m: { status: string }) => m.status)).toEqual(['accepted']);
      expectProblem(await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`), 409, 'invalid_state');
      // A contractor's proposal is accepted by the client.
      const mine = await propose(p, { policy: 'contractor_creates', milestones: [{ title: 'Copy', amount: 9000, dueDate: inDays(9) }] }, 'contractor');
      expect(mine.status).toBe(201);
      await expectRefused(s, () => p.contractor.api.post(`/v1/contracts/${mine.body.id}/activate`), 403, 'forbidden');
      expect((await p.client.api.post(`/v1/contracts/${mine.body.id}/activate`)).status).toBe(200);
    });

    it('under fundingTrigger on_acceptance, the contractor accepting the proposal charges its milestones', async () => {
      const p = await newParties(s);
      const c = await propose(p, { policy: { preset: 'client_creates', overrides: { fundingTrigger: 'on_acceptance' } }, milestones: [{ title: 'One', amount: 7000, dueDate: inDays(9) }] });
      const live = await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
      expect(live.status).toBe(200);
      expect(live.body.milestones[0]).toMatchObject({ status: 'funded', inEscrow: 7000 });
      await expectLedgerClean(s);
    });

    it('platform settings belong to the admin: defaults, preset, time zone, minimum amounts', async () => {
      const p = await newParties(s);
      await expectRefused(s, () => p.client.api.get('/v1/admin/platform'), 403, 'forbidden');
      await expectRefused(s, () => p.client.api.patch('/v1/admin/platform', { fees: { contractorBps: 1 } }), 403, 'forbidden');
      await expectRefused(s, () => s.admin.patch('/v1/admin/platform', { timeZone: 'Mars/Olympus' }), 422, 'validation_failed');
      await expectRefused(s, () => s.admin.patch('/v1/admin/platform', { fees: { clientBps: 5001 } }), 422, 'validation_failed');
      await expectRefused(s, () => s.admin.patch('/v1/admin/platform', { defaultPreset: 'freestyle' }), 422, 'validation_failed');
      const before = (await s.admin.get('/v1/admin/platform')).body;
      expect(before).toMatchObject({ fees: { clientBps: 0, contractorBps: 0 }, timeZone: 'UTC', defaultPreset: 'client_creates' });
      await expectRefused(s, () => s.admin.patch('/v1/admin/platform', { timeZone: 'Europe/Berlin', expectedVersion: before.version + 5 }), 409, 'version_mismatch');
      const changed = await s.admin.patch('/v1/admin/platform', { defaultPreset: 'contractor_creates', timeZone: 'Europe/Berlin', minimumAmounts: { USD: 2500 } });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ defaultPreset: 'contractor_creates', timeZone: 'Europe/Berlin', minimumAmounts: { USD: 2500 }, version: before.version + 1 });
      try {
        // Seed 002's marketplace: freelancers create milestones by default.
        const c = await propose(p, {}, 'contractor');
        expect(c.body.policy).toMatchObject({ preset: 'contractor_creates', minFundingAmount: { USD: 2500 } });
      } finally {
        await s.admin.patch('/v1/admin/platform', { defaultPreset: 'client_creates', timeZone: 'UTC', minimumAmounts: {} });
      }
    });
  });

  describe('defect 4d and 10: sums stay exact, contracts stay a sensible size', () => {
    it('refuses milestones and change requests past the per-contract caps; the contract page still answers', async () => {
      const p = await newParties(s);
      const half = MAX_MILESTONES_PER_CONTRACT / 2;
      const many = await liveContract(s, p, 'sequential_escrow', Array.from({ length: half }, (_, i) => ({ title: `M${i}`, amount: 100 })));
      const adds = Array.from({ length: half }, (_, i) => ({ op: 'add', milestone: { title: `N${i}`, amount: 100, dueDate: inDays(30) } }));
      expect((await p.client.api.post(`/v1/contracts/${many.id}/change-requests`, { operations: adds })).body.status).toBe('accepted');
      await expectRefused(s, () => p.client.api.post(`/v1/contracts/${many.id}/milestones`, { title: 'One too many', amount: 100, dueDate: inDays(30) }), 422, 'limit_exceeded');
      const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Big', amount: 1_000_000_000_000 }]);
      // Nine more of the largest amount fit; the tenth passes the contract total.
      for (let i = 0; i < 9; i++) expect((await p.client.api.post(`/v1/contracts/${c.id}/milestones`, { title: `B${i}`, amount: 1_000_000_000_000, dueDate: inDays(30) })).status).toBe(201);
      await expectRefused(s, () => p.client.api.post(`/v1/contracts/${c.id}/milestones`, { title: 'Over', amount: 1, dueDate: inDays(30) }), 422, 'limit_exceeded');
      const ops = Array.from({ length: 100 }, (_, i) => ({ op: 'add', milestone: { title: `CR${i}`, amount: 1_000_000_000_000, dueDate: inDays(30) } }));
      await expectRefused(s, () => p.contractor.api.post(`/v1/contracts/${c.id}/change-requests`, { operations: ops }), 422, 'limit_exceeded');
      const page = await p.client.api.get(`/v1/contracts/${c.id}`);
      expect(page.status).toBe(200);
      expect(page.body.overview.total).toBe(10_000_000_000_000);
    });
  });

  describe('defect 11: a missing body is {} for close too', () => {
    it('closes a contract with nothing in escrow without a body', async () => {
      const p = await newParties(s);
      const c = await liveContract(s, p, 'sequential_escrow', [{ title: 'Unfunded', amount: 5000 }]);
      const closed = await p.client.api.post(`/v1/contracts/${c.id}/close`);
      expect(closed.status).toBe(200);
      expect(closed.body.status).toBe('closed');
    });
  });

  describe('defect 12: refunding funded escrow at close needs the contractor', () => {
    async function funded(p: Parties, amounts = [7000, 3000]) {
      const c = await liveContract(s, p, { preset: 'sequential_escrow', overrides: { maxFundedMilestones: null } }, amounts.map((amount, i) => ({ title: `F${i}`, amount })));
      for (const m of c.milestones) expect((await p.client.api.post(`/v1/milestones/${m.id}/fund`)).status).toBe(200);
      return c.id as string;
    }
    const statusOf = async (p: Parties, id: string) => (await p.client.api.get(`/v1/contracts/${id}`)).body;

    it('the client alone cannot take escrow back: the close becomes a refund request (202), nothing moves', async () => {
      const p = await newParties(s);
      const id = await funded(p);
      const r = await p.client.api.post(`/v1/contracts/${id}/close`, { refund: 7000, release: 3000, message: 'Only the first part was delivered' });
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'open', refund: 7000, release: 3000, requesterRole: 'client', currency: 'USD' });
      expect(await statusOf(p, id)).toMatchObject({ status: 'active', overview: { inEscrow: 10000, paid: 0 } });
      // One open request at a time; the requester cannot accept their own.
      expectProblem(await p.client.api.post(`/v1/contracts/${id}/close`, { refund: 10000 }), 409, 'refund_request_open');
      expectProblem(await p.client.api.post(`/v1/refund-requests/${r.body.id}/accept`), 403, 'forbidden');
      // Outsiders do not see it.
      const other = await newParties(s);
      expectProblem(await other.client.api.get(`/v1/refund-requests/${r.body.id}`), 404, 'not_found');
      // The contractor agrees: the contract closes with that split, the ledger moves once.
      const ok = await p.contractor.api.post(`/v1/refund-requests/${r.body.id}/accept`);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ status: 'accepted', contract: { status: 'closed', overview: { inEscrow: 0, paid: 3000 } } });
      expectProblem(await p.contractor.api.post(`/v1/refund-requests/${r.body.id}/accept`), 409, 'invalid_state');
      const list = await p.client.api.get(`/v1/contracts/${id}/refund-requests`);
      expect(list.body.data.map((x: { status: string }) => x.status)).toEqual(['accepted']);
      await expectLedgerClean(s);
    });

    it('releasing at close, or the contractor giving escrow back, needs no consent', async () => {
      const p = await newParties(s);
      const a = await funded(p);
      const released = await p.client.api.post(`/v1/contracts/${a}/close`, { release: 10000 });
      expect(released.status).toBe(200);
      expect(released.body).toMatchObject({ status: 'closed', overview: { inEscrow: 0, paid: 10000 } });
      const b = await funded(p);
      const givenBack = await p.contractor.api.post(`/v1/contracts/${b}/close`);
      expect(givenBack.status).toBe(200);
      expect(givenBack.body).toMatchObject({ status: 'closed', overview: { inEscrow: 0, paid: 0 } });
      await expectLedgerClean(s);
    });

    it('the contractor counters; the client accepts the counter', async () => {
      const p = await newParties(s);
      const id = await funded(p);
      const asked = await p.client.api.post(`/v1/contracts/${id}/close`);
      expect(asked.body).toMatchObject({ refund: 10000, release: 0 });
      await expectRefused(s, () => p.contractor.api.post(`/v1/refund-requests/${asked.body.id}/counter`, { refund: 10001 }), 422, 'validation_failed');
      const counter = await p.contractor.api.post(`/v1/refund-requests/${asked.body.id}/counter`, { refund: 4000, message: 'The first part was delivered' });
      expect(counter.status).toBe(201);
      expect(counter.body).toMatchObject({ status: 'open', requesterRole: 'contractor', refund: 4000, release: 6000, counterOf: asked.body.id });
      expect((await p.client.api.get(`/v1/refund-requests/${asked.body.id}`)).body.status).toBe('countered');
      const done = await p.client.api.post(`/v1/refund-requests/${counter.body.id}/accept`);
      expect(done.status).toBe(200);
      expect(done.body.contract).toMatchObject({ status: 'closed', overview: { inEscrow: 0, paid: 6000 } });
      await expectLedgerClean(s);
    });

    it('declined, the escrow goes to a dispute in the client’s name; withdrawn, nothing happens', async () => {
      const p = await newParties(s);
      const id = await funded(p);
      const w = await p.client.api.post(`/v1/contracts/${id}/close`, { refund: 1000, release: 9000 });
      expectProblem(await p.contractor.api.post(`/v1/refund-requests/${w.body.id}/withdraw`), 403, 'forbidden');
      expect((await p.client.api.post(`/v1/refund-requests/${w.body.id}/withdraw`)).body.status).toBe('withdrawn');
      expect(await statusOf(p, id)).toMatchObject({ status: 'active', overview: { inEscrow: 10000 } });
      const asked = await p.client.api.post(`/v1/contracts/${id}/close`, { refund: 10000 });
      const no = await p.contractor.api.post(`/v1/refund-requests/${asked.body.id}/decline`, { reason: 'The work was delivered' });
      expect(no.status).toBe(200);
      expect(no.body.status).toBe('declined');
      const page = await statusOf(p, id);
      expect(page.status).toBe('active');
      expect(page.milestones.map((m: { status: string }) => m.status)).toEqual(['disputed', 'disputed']);
      expect(page.overview.inEscrow).toBe(10000);
      await expectLedgerClean(s);
    });

    it('unanswered within the policy’s period, it becomes a dispute (test clock)', async () => {
      const p = await newParties(s);
      const id = await funded(p);
      const asked = await p.client.api.post(`/v1/contracts/${id}/close`, { refund: 10000 });
      expect(asked.status).toBe(202);
      const respondBy = new Date(asked.body.respondBy);
      expect(respondBy.getTime() - serverNow(s).getTime()).toBeGreaterThanOrEqual(7 * DAY - 60_000);
      await runJobs(s);
      expect((await p.client.api.get(`/v1/refund-requests/${asked.body.id}`)).body.status).toBe('open');
      await setClock(s, new Date(respondBy.getTime() + 1000));
      await runJobs(s);
      expect((await p.client.api.get(`/v1/refund-requests/${asked.body.id}`)).body.status).toBe('escalated');
      const page = await statusOf(p, id);
      expect(page.milestones.map((m: { status: string }) => m.status)).toEqual(['disputed', 'disputed']);
      // Too late to accept now.
      expectProblem(await p.contractor.api.post(`/v1/refund-requests/${asked.body.id}/accept`), 409, 'invalid_state');
      await expectLedgerClean(s);
    });
  });
});
