import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, expectLedgerClean, inDays, liveContract, newParties, newUser, startTestServer, type Client, type TestServer } from '../support/harness.ts';
import { dbSnapshot, expectProblem, expectRefused, expectUnchanged, overviewOf } from '../support/scenario-helpers.ts';

// PRODUCT.md section 5, "Bad input and faults": every bad request gets a 4xx problem naming
// the field (never a 500) and changes nothing; out-of-turn commands get 403, a milestone in
// the wrong state 409 with its state, a non-party 404. Currencies with 0 and 3 decimals work
// with integer amounts.
const BAD_AMOUNTS: [string, unknown][] = [
  ['negative', -100],
  ['zero', 0],
  ['fractional', 10.5],
  ['tiny fraction', 0.01],
  ['string', '100'],
  ['numeric string with exponent', '1e3'],
  ['huge (> 1e12)', 1_000_000_000_001],
  ['beyond safe integers', 2 ** 53 + 2],
  ['null', null],
  ['boolean', true],
  ['object', { value: 100 }],
];
const BAD_DATES: [string, unknown][] = [
  ['in the past', '2020-01-01'],
  ['not a calendar date', '2027-02-30'],
  ['Feb 29 of a common year', '2027-02-29'],
  ['month 13', '2027-13-01'],
  ['day-first', '31/12/2027'],
  ['no padding', '2027-1-5'],
  ['timestamp', '2027-03-01T00:00:00Z'],
  ['empty', ''],
  ['number', 20270101],
];
const BAD_CURRENCIES: [string, unknown][] = [
  ['unknown code', 'XYZ'],
  ['lowercase', 'usd'],
  ['too short', 'US'],
  ['number', 840],
  ['empty', ''],
];

describe.each(engines())('bad input on the milestone lifecycle on %s', (engine) => {
  let s: TestServer;
  let client: { id: string; api: Client };
  let contractor: { id: string; api: Client };
  let stranger: { id: string; api: Client };
  let contractId: string;
  /** accepted (agreed, unfunded) */
  let agreed: string;
  /** funded */
  let funded: string;
  /** submitted */
  let submitted: string;
  const policy = { preset: 'client_creates', overrides: { changesNeedAcceptance: { client: false } } };

  beforeAll(async () => {
    s = await startTestServer(engine);
    const parties = await newParties(s);
    ({ client, contractor } = parties);
    stranger = await newUser(s, 'stranger');
    const c = await liveContract(s, parties, policy, [
      { title: 'Agreed', amount: 10000 },
      { title: 'Funded', amount: 20000 },
      { title: 'Submitted', amount: 30000 },
    ]);
    contractId = c.id;
    [agreed, funded, submitted] = (c.milestones as { id: string }[]).map((m) => m.id) as [string, string, string];
    for (const id of [funded, submitted]) expect((await client.api.post(`/v1/milestones/${id}/fund`)).status).toBe(200);
    expect((await contractor.api.post(`/v1/milestones/${submitted}/submit`)).status).toBe(200);
  });
  afterAll(async () => s?.stop());

  const newMilestone = (over: Record<string, unknown>) => ({ title: 'New', amount: 5000, dueDate: inDays(10), ...over });

  describe('amounts', () => {
    it.each(BAD_AMOUNTS)('adding a milestone with a %s amount → 422 naming amount', async (_n, amount) => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({ amount })), 422, 'validation_failed', 'amount');
    });

    it.each(BAD_AMOUNTS)('editing a milestone to a %s amount → 422 naming amount', async (_n, amount) => {
      await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, { amount }), 422, 'validation_failed', 'amount');
    });

    it.each(BAD_AMOUNTS)('a contract proposal with a %s milestone amount → 422 naming milestones[0].amount', async (_n, amount) => {
      const body = { title: 'X', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy, milestones: [newMilestone({ amount })] };
      await expectRefused(s, () => client.api.post('/v1/contracts', body), 422, 'validation_failed', 'milestones[0].amount');
    });

    it.each(BAD_AMOUNTS)('a partial release of a %s amount → 422 naming amount', async (_n, amount) => {
      await expectRefused(s, () => client.api.post(`/v1/milestones/${funded}/release`, { amount }), 422, 'validation_failed', 'amount');
    });

    it('a release larger than the escrow → 422 naming amount', async () => {
      const r = await expectRefused(s, () => client.api.post(`/v1/milestones/${funded}/release`, { amount: 20001 }), 422, 'validation_failed', 'amount');
      expect(r.inEscrow).toBe(20000);
    });

    it.each([
      ['fractional', 1.5],
      ['negative', -1],
      ['string', '0'],
    ])('closing with a %s refund → 422 naming refund', async (_n, refund) => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/close`, { refund }), 422, 'validation_failed', 'refund');
    });

    it('the largest amount (1e12) is accepted, and counted exactly', async () => {
      const parties = await newParties(s);
      const c = await liveContract(s, parties, policy, [
        { title: 'Max', amount: 1_000_000_000_000 },
        { title: 'Max 2', amount: 1_000_000_000_000 },
        { title: 'One', amount: 1 },
      ]);
      expect(c.milestones.map((m: { amount: number }) => m.amount)).toEqual([1_000_000_000_000, 1_000_000_000_000, 1]);
      expect((await parties.client.api.post(`/v1/milestones/${c.milestones[0].id}/fund`)).status).toBe(200);
      expect(await overviewOf(parties.client.api, c.id)).toEqual({ total: 2_000_000_000_001, inEscrow: 1_000_000_000_000, paid: 0, remaining: 1_000_000_000_001, currency: 'USD' });
      await expectLedgerClean(s);
    });
  });

  describe('currencies', () => {
    it.each(BAD_CURRENCIES)('a contract in a %s currency → 422 naming currency', async (_n, currency) => {
      const body = { title: 'X', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency, policy };
      await expectRefused(s, () => client.api.post('/v1/contracts', body), 422, 'validation_failed', 'currency');
    });

    it('JPY (no decimals): integer yen work end to end; fractions are refused', async () => {
      const parties = await newParties(s);
      const c = await liveContract(s, parties, policy, [{ title: 'Translation', amount: 50000 }], { currency: 'JPY' });
      expect(c.currency).toBe('JPY');
      const m = c.milestones[0];
      expect(m).toMatchObject({ amount: 50000, currency: 'JPY' });
      await expectRefused(s, () => parties.client.api.post(`/v1/contracts/${c.id}/milestones`, newMilestone({ amount: 999.5 })), 422, 'validation_failed', 'amount');
      const small = await parties.client.api.post(`/v1/contracts/${c.id}/milestones`, newMilestone({ title: 'Proofreading', amount: 3 }));
      expect(small.status).toBe(201);
      expect(small.body).toMatchObject({ amount: 3, currency: 'JPY' });

      expect((await parties.client.api.post(`/v1/milestones/${m.id}/fund`)).body).toMatchObject({ status: 'funded', inEscrow: 50000 });
      expect((await parties.client.api.post(`/v1/milestones/${m.id}/release`, { amount: 12345 })).body).toMatchObject({ inEscrow: 37655, releasedAmount: 12345 });
      expect((await parties.contractor.api.post(`/v1/milestones/${m.id}/submit`)).status).toBe(200);
      expect((await parties.client.api.post(`/v1/milestones/${m.id}/approve`)).body).toMatchObject({ status: 'paid', releasedAmount: 50000 });
      expect(await overviewOf(parties.contractor.api, c.id)).toEqual({ total: 50003, inEscrow: 0, paid: 50000, remaining: 3, currency: 'JPY' });
      const pays = await parties.contractor.api.get(`/v1/payments?contractId=${c.id}`);
      expect(pays.body.data.map((p: { amount: number; currency: string }) => [p.amount, p.currency]).sort()).toEqual([[12345, 'JPY'], [37655, 'JPY']]);
      const accounts = await s.db.query<{ currency: string }>('SELECT DISTINCT currency FROM postings WHERE contract_id = $1', [c.id]);
      expect(accounts).toEqual([{ currency: 'JPY' }]);
      await expectLedgerClean(s);
    });

    it('BHD (three decimals): integer fils work end to end', async () => {
      const parties = await newParties(s);
      const c = await liveContract(s, parties, policy, [{ title: 'Consulting', amount: 12345 }], { currency: 'BHD' });
      const m = c.milestones[0];
      expect(m).toMatchObject({ amount: 12345, currency: 'BHD' });
      await expectRefused(s, () => parties.client.api.patch(`/v1/milestones/${m.id}`, { amount: 12.345 }), 422, 'validation_failed', 'amount');
      expect((await parties.client.api.post(`/v1/milestones/${m.id}/fund`)).body).toMatchObject({ status: 'funded', inEscrow: 12345 });
      expect((await parties.contractor.api.post(`/v1/milestones/${m.id}/submit`)).status).toBe(200);
      expect((await parties.client.api.post(`/v1/milestones/${m.id}/approve`)).body).toMatchObject({ status: 'paid', releasedAmount: 12345 });
      expect(await overviewOf(parties.client.api, c.id)).toEqual({ total: 12345, inEscrow: 0, paid: 12345, remaining: 0, currency: 'BHD' });
      const pays = await parties.contractor.api.get(`/v1/payments?contractId=${c.id}`);
      expect(pays.body.data).toEqual([expect.objectContaining({ amount: 12345, currency: 'BHD', status: 'paid' })]);
      await expectLedgerClean(s);
    });
  });

  describe('due dates and titles', () => {
    it.each(BAD_DATES)('adding a milestone due %s → 422 naming dueDate', async (_n, dueDate) => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({ dueDate })), 422, 'validation_failed', 'dueDate');
    });

    it.each(BAD_DATES)('moving a milestone to a date %s → 422 naming dueDate', async (_n, dueDate) => {
      await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, { dueDate }), 422, 'validation_failed', 'dueDate');
    });

    it.each(BAD_DATES)('a contract proposal with a milestone due %s → 422 naming milestones[0].dueDate', async (_n, dueDate) => {
      const body = { title: 'X', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy, milestones: [newMilestone({ dueDate })] };
      await expectRefused(s, () => client.api.post('/v1/contracts', body), 422, 'validation_failed', 'milestones[0].dueDate');
    });

    it('a change set names the bad field of its operation the same way, for schema and date errors', async () => {
      const send = (milestone: Record<string, unknown>) => () => client.api.post(`/v1/contracts/${contractId}/change-requests`, { operations: [{ op: 'add', milestone }] });
      await expectRefused(s, send({ title: 'A', amount: 10.5, dueDate: inDays(5) }), 422, 'validation_failed', 'operations[0].milestone.amount');
      await expectRefused(s, send({ title: 'A', amount: 100, dueDate: '2027-02-30' }), 422, 'validation_failed', 'operations[0].milestone.dueDate');
      await expectRefused(s, send({ title: 'A', amount: 100, dueDate: '31/12/2027' }), 422, 'validation_failed', 'operations[0].milestone.dueDate');
    });

    it('yesterday is in the past; a leap day of a leap year is a date', async () => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({ dueDate: inDays(-2) })), 422, 'validation_failed', 'dueDate');
      const parties = await newParties(s);
      const c = await liveContract(s, parties, policy, []);
      const leap = await parties.client.api.post(`/v1/contracts/${c.id}/milestones`, newMilestone({ dueDate: '2096-02-29' }));
      expect(leap.status).toBe(201);
      expect(leap.body.dueDate).toBe('2096-02-29');
    });

    it.each([
      ['over 200 characters', 'x'.repeat(201)],
      ['empty', ''],
      ['only spaces', '   '],
      ['a number', 42],
      ['missing', undefined],
    ])('a title %s → 422 naming title', async (_n, title) => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({ title })), 422, 'validation_failed', 'title');
      if (title !== undefined) await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, { title }), 422, 'validation_failed', 'title');
    });

    it('a title of exactly 200 characters is accepted', async () => {
      const parties = await newParties(s);
      const c = await liveContract(s, parties, policy, []);
      const r = await parties.client.api.post(`/v1/contracts/${c.id}/milestones`, newMilestone({ title: 'y'.repeat(200) }));
      expect(r.status).toBe(201);
      expect(r.body.title).toHaveLength(200);
    });

    it('unknown fields and an empty edit are refused', async () => {
      await expectRefused(s, () => client.api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({ status: 'paid' })), 422, 'validation_failed', 'status');
      await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, { fundedAmount: 10000 }), 422, 'validation_failed', 'fundedAmount');
      await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, {}), 422, 'validation_failed');
      expectProblem(await client.api.post(`/v1/contracts/${contractId}/milestones`, '{"title":'), 400, 'malformed_request');
    });
  });

  describe('commands out of turn and in the wrong state', () => {
    it.each([
      ['the contractor approves', 'contractor', 'submitted', 'approve', undefined],
      ['the contractor rejects', 'contractor', 'submitted', 'reject', { reason: 'no' }],
      ['the contractor funds', 'contractor', 'agreed', 'fund', undefined],
      ['the contractor releases', 'contractor', 'funded', 'release', { amount: 100 }],
      ['the client submits', 'client', 'funded', 'submit', { note: 'done' }],
      ['the client refunds', 'client', 'funded', 'refund', undefined],
    ] as const)('%s → 403 forbidden', async (_n, who, which, cmd, body) => {
      const api = who === 'client' ? client.api : contractor.api;
      const id = { agreed, funded, submitted }[which];
      await expectRefused(s, () => api.post(`/v1/milestones/${id}/${cmd}`, body), 403, 'forbidden');
    });

    it.each([
      ['approving an accepted milestone', 'client', 'agreed', 'approve', undefined, 'accepted'],
      ['submitting an accepted milestone', 'contractor', 'agreed', 'submit', undefined, 'accepted'],
      ['rejecting a funded milestone', 'client', 'funded', 'reject', { reason: 'no' }, 'funded'],
      ['funding a funded milestone', 'client', 'funded', 'fund', undefined, 'funded'],
      ['funding a submitted milestone', 'client', 'submitted', 'fund', undefined, 'submitted'],
      ['submitting a submitted milestone', 'contractor', 'submitted', 'submit', undefined, 'submitted'],
      ['accepting an accepted milestone', 'contractor', 'agreed', 'accept', undefined, 'accepted'],
      ['releasing from an unfunded milestone', 'client', 'agreed', 'release', { amount: 100 }, 'accepted'],
    ] as const)('%s → 409 with its state', async (_n, who, which, cmd, body, state) => {
      const api = who === 'client' ? client.api : contractor.api;
      const id = { agreed, funded, submitted }[which];
      const p = await expectRefused(s, () => api.post(`/v1/milestones/${id}/${cmd}`, body), 409, 'invalid_state');
      expect(p.state).toBe(state);
    });

    it('editing or deleting a funded milestone → 409 with its state', async () => {
      expect((await expectRefused(s, () => client.api.patch(`/v1/milestones/${funded}`, { amount: 25000 }), 409, 'invalid_state')).state).toBe('funded');
      expect((await expectRefused(s, () => client.api.del(`/v1/milestones/${funded}`), 409, 'invalid_state')).state).toBe('funded');
    });

    it('a stale expectedVersion → 409 version_mismatch', async () => {
      const current = (await client.api.get(`/v1/milestones/${agreed}`)).body.version as number;
      const p = await expectRefused(s, () => client.api.patch(`/v1/milestones/${agreed}`, { title: 'Renamed', expectedVersion: current + 1 }), 409, 'version_mismatch');
      expect(p.version).toBe(current);
    });
  });

  describe('another party’s contract and milestones', () => {
    it('an unrelated user gets 404 for reads and commands, and changes nothing', async () => {
      const api = stranger.api;
      const before = await dbSnapshot(s);
      const reads = [
        `/v1/contracts/${contractId}`,
        `/v1/contracts/${contractId}/milestones`,
        `/v1/contracts/${contractId}/activity`,
        `/v1/milestones/${agreed}`,
        `/v1/milestones/${funded}`,
      ];
      for (const path of reads) expectProblem(await api.get(path), 404, 'not_found');
      expectProblem(await api.post(`/v1/contracts/${contractId}/milestones`, newMilestone({})), 404, 'not_found');
      expectProblem(await api.patch(`/v1/milestones/${agreed}`, { amount: 1 }), 404, 'not_found');
      expectProblem(await api.del(`/v1/milestones/${agreed}`), 404, 'not_found');
      expectProblem(await api.put(`/v1/contracts/${contractId}/milestone-order`, { milestoneIds: [submitted, funded, agreed] }), 404, 'not_found');
      for (const [id, cmd, body] of [
        [agreed, 'fund', undefined],
        [funded, 'release', { amount: 100 }],
        [funded, 'submit', undefined],
        [submitted, 'approve', undefined],
        [submitted, 'reject', { reason: 'no' }],
        [agreed, 'accept', undefined],
        [funded, 'dispute', { reason: 'mine' }],
      ] as const) {
        expectProblem(await api.post(`/v1/milestones/${id}/${cmd}`, body), 404, 'not_found');
      }
      expectProblem(await api.post(`/v1/contracts/${contractId}/close`, {}), 404, 'not_found');
      expect((await api.get('/v1/contracts')).body.data).toEqual([]);
      expect((await api.get(`/v1/payments?contractId=${contractId}`)).body.data).toEqual([]);
      expect((await api.get('/v1/notifications')).body.data).toEqual([]);
      await expectUnchanged(s, before);
    });

    it('a stranger cannot propose a contract between two other users', async () => {
      const body = { title: 'X', clientId: client.id, contractorId: contractor.id, type: 'fixed', currency: 'USD', policy };
      await expectRefused(s, () => stranger.api.post('/v1/contracts', body), 403, 'forbidden');
    });

    it('unknown ids are 404 and malformed ids 422', async () => {
      expectProblem(await client.api.get('/v1/milestones/ms_01zzzzzzzzzzzzzzzzzzzzzzzz'), 404, 'not_found');
      expectProblem(await client.api.post('/v1/milestones/ms_01zzzzzzzzzzzzzzzzzzzzzzzz/approve'), 404, 'not_found');
      const bad = expectProblem(await client.api.post('/v1/milestones/not-an-id/approve'), 422, 'validation_failed');
      expect(bad.errors!.map((e) => e.field)).toContain('id');
      // A contract id is not a milestone id.
      expectProblem(await client.api.get(`/v1/milestones/${contractId}`), 422, 'validation_failed');
    });
  });

  it('after all the refusals the ledger is clean and the fixtures are as set up', async () => {
    const list = await client.api.get(`/v1/contracts/${contractId}/milestones`);
    expect(list.body.data.map((m: { id: string; status: string; version: number }) => [m.id, m.status])).toEqual([
      [agreed, 'accepted'],
      [funded, 'funded'],
      [submitted, 'submitted'],
    ]);
    expect(await overviewOf(client.api, contractId)).toEqual({ total: 60000, inEscrow: 50000, paid: 0, remaining: 10000, currency: 'USD' });
    await expectLedgerClean(s);
  });
});
