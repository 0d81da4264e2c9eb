import { describe, expect, it } from 'vitest';
import { contractTransition, planCloseSettlement, type ContractCommand } from '../../src/domain/contract-machine.ts';
import { AppError } from '../../src/domain/errors.ts';
import {
  changeMode,
  escrowHeld,
  initialStatus,
  isDeletable,
  MILESTONE_STATUSES,
  transition,
  type Actor,
  type ContractStatus,
  type MilestoneCommand,
  type MilestoneContext,
  type MilestoneState,
  type MilestoneStatus,
  type MoneyEffect,
} from '../../src/domain/milestone-machine.ts';
import { allocate } from '../../src/domain/money.ts';
import { PRESETS, resolvePolicy, type Policy, type Role } from '../../src/domain/policy.ts';

/*
 * The expected answers below come from PRODUCT.md (sections 2 and 3), written out as a plain
 * rule table. They never call the machine. Order of checks (documented on `transition`):
 * who may (403) → contract and milestone state (409) → amounts (422).
 */

type Who = 'client' | 'contractor' | 'admin' | 'system';
const ACTORS: Who[] = ['client', 'contractor', 'admin', 'system'];
const CONTRACT_STATUSES: ContractStatus[] = ['proposal', 'active', 'closed', 'withdrawn', 'declined'];

type Expected =
  | { ok: true; status: MilestoneStatus; effects: MoneyEffect[]; funded?: number; released?: number; refunded?: number; proposedBy?: Role | null; revisions?: number; pending?: boolean }
  | { ok: false; code: string };

type Rule = {
  /** Who may issue the command at all. */
  who: Who[];
  /** Which contract states allow it. */
  contract: 'negotiable' | 'live' | 'any';
  /** Refused when the policy holds no escrow. */
  escrowOnly?: boolean;
  /** Milestone states it starts from, with escrow / without. */
  from: (p: Policy) => MilestoneStatus[];
};

const ESCROW_STATES: MilestoneStatus[] = ['funded', 'submitted'];
const RULES: Record<MilestoneCommand['type'], Rule> = {
  edit: { who: ['client', 'contractor'], contract: 'negotiable', from: () => ['proposed', 'accepted', 'in_progress'] },
  delete: {
    who: ['client', 'contractor'],
    contract: 'negotiable',
    from: (p) => (p.deletableUntil === 'funded_unpaid' ? ['proposed', 'accepted', 'in_progress', 'funded', 'submitted'] : ['proposed', 'accepted']),
  },
  accept: { who: ['client', 'contractor'], contract: 'negotiable', from: () => ['proposed'] },
  decline: { who: ['client', 'contractor'], contract: 'negotiable', from: () => ['proposed'] },
  fund: { who: ['client'], contract: 'live', escrowOnly: true, from: () => ['accepted'] },
  submit: { who: ['contractor'], contract: 'live', from: (p) => (p.escrow === 'required' ? ['funded'] : ['accepted', 'in_progress']) },
  approve: {
    who: ['client'],
    contract: 'live',
    from: (p) => (p.submissionRequired ? ['submitted'] : p.escrow === 'required' ? ['funded', 'submitted'] : ['accepted', 'in_progress', 'submitted']),
  },
  auto_approve: { who: ['system'], contract: 'live', from: () => ['submitted'] },
  reject: { who: ['client'], contract: 'live', from: () => ['submitted'] },
  release: { who: ['client'], contract: 'live', escrowOnly: true, from: () => ESCROW_STATES },
  refund: { who: ['contractor', 'admin'], contract: 'any', from: () => ESCROW_STATES },
  dispute: { who: ['client', 'contractor'], contract: 'live', escrowOnly: true, from: () => ESCROW_STATES },
  resolve: { who: ['admin', 'system'], contract: 'any', from: () => ['disputed'] },
  funding_settled: { who: ['system'], contract: 'any', from: () => [...MILESTONE_STATUSES] },
  funding_failed: { who: ['system'], contract: 'any', from: () => [...MILESTONE_STATUSES] },
};

/** The whole expected answer for one combination. */
function expected(p: Policy, m: MilestoneState, cmd: MilestoneCommand, who: Who, contract: ContractStatus, otherOpenFunded: number, currency: string): Expected {
  const rule = RULES[cmd.type];
  const escrow = p.escrow === 'required';
  const held = m.fundedAmount - m.releasedAmount - m.refundedAmount;
  const no = (code: string): Expected => ({ ok: false, code });

  if (!rule.who.includes(who)) return no('forbidden');
  if (rule.contract === 'negotiable' && contract !== 'proposal' && contract !== 'active') return no('invalid_state');
  if (rule.contract === 'live' && contract !== 'active') return no('invalid_state');
  if (rule.escrowOnly && !escrow) return no('invalid_state');
  // Deleting someone else's proposal: decline it instead (a 403, before the state rules).
  if (cmd.type === 'delete' && m.status === 'proposed' && m.proposedBy !== who) return no('forbidden');
  if (!rule.from(p).includes(m.status)) return no('invalid_state');
  if ((cmd.type === 'accept' || cmd.type === 'decline') && m.proposedBy === who) return no('forbidden');
  if ((cmd.type === 'funding_settled' || cmd.type === 'funding_failed') && !m.fundingPending) return no('invalid_state');

  switch (cmd.type) {
    case 'edit': {
      if (m.status !== 'proposed') return { ok: true, status: m.status, effects: [] };
      // A party who may change alone turns the proposal into an agreed milestone.
      return p.changesNeedAcceptance[who as Role]
        ? { ok: true, status: 'proposed', effects: [], proposedBy: who as Role }
        : { ok: true, status: 'accepted', effects: [], proposedBy: null };
    }
    case 'delete':
      if (m.fundingPending) return no('funding_pending');
      return { ok: true, status: 'cancelled', effects: held > 0 ? [{ type: 'refund', amount: held }] : [], refunded: m.refundedAmount + held };
    case 'accept': {
      const charge = escrow && p.fundingTrigger === 'on_acceptance' && contract === 'active' && who === 'contractor';
      return { ok: true, status: 'accepted', effects: charge ? [{ type: 'charge_on_acceptance' }] : [], proposedBy: null };
    }
    case 'decline':
      return { ok: true, status: 'declined', effects: [], proposedBy: null };
    case 'fund':
      if (p.maxFundedMilestones !== null && otherOpenFunded >= p.maxFundedMilestones) return no('funding_limit_reached');
      if (m.amount < (p.minFundingAmount[currency] ?? 0)) return no('amount_below_minimum');
      return { ok: true, status: 'funded', effects: [{ type: 'charge', amount: m.amount }], funded: m.fundedAmount + m.amount };
    case 'submit':
      return { ok: true, status: 'submitted', effects: [] };
    case 'approve':
    case 'auto_approve':
      if (!escrow) return { ok: true, status: 'approved', effects: [{ type: 'draft_payment', amount: m.amount }] };
      if (m.fundingPending) return no('funding_pending');
      return { ok: true, status: 'paid', effects: held > 0 ? [{ type: 'release', amount: held }] : [], released: m.releasedAmount + held };
    case 'reject':
      if (p.maxRevisionRounds !== null && m.revisionCount >= p.maxRevisionRounds) return no('revision_limit_reached');
      return { ok: true, status: escrow ? 'funded' : 'in_progress', effects: [], revisions: m.revisionCount + 1 };
    case 'release':
      if (m.fundingPending) return no('funding_pending');
      if (!Number.isSafeInteger(cmd.amount) || cmd.amount <= 0 || cmd.amount > held) return no('validation_failed');
      return { ok: true, status: cmd.amount === held ? 'paid' : m.status, effects: [{ type: 'release', amount: cmd.amount }], released: m.releasedAmount + cmd.amount };
    case 'refund':
      if (m.fundingPending) return no('funding_pending');
      return { ok: true, status: 'refunded', effects: held > 0 ? [{ type: 'refund', amount: held }] : [], refunded: m.refundedAmount + held };
    case 'dispute':
      if (m.fundingPending) return no('funding_pending');
      return { ok: true, status: 'disputed', effects: [] };
    case 'resolve': {
      const { releaseAmount: rel, refundAmount: ref } = cmd;
      if (![rel, ref].every((x) => Number.isSafeInteger(x) && x >= 0) || rel + ref !== held) return no('validation_failed');
      const effects: MoneyEffect[] = [];
      if (rel > 0) effects.push({ type: 'release', amount: rel });
      if (ref > 0) effects.push({ type: 'refund', amount: ref });
      return { ok: true, status: rel > 0 ? 'paid' : 'refunded', effects, released: m.releasedAmount + rel, refunded: m.refundedAmount + ref };
    }
    case 'funding_settled':
      return { ok: true, status: m.status, effects: [], pending: false };
    case 'funding_failed':
      return { ok: true, status: 'accepted', effects: held > 0 ? [{ type: 'reverse_charge', amount: held }] : [], refunded: m.refundedAmount + held, pending: false };
  }
}

const A = 40_000;
const base = (status: MilestoneStatus, extra: Partial<MilestoneState> = {}): MilestoneState => ({
  status,
  amount: A,
  fundedAmount: 0,
  releasedAmount: 0,
  refundedAmount: 0,
  proposedBy: null,
  revisionCount: 0,
  fundingPending: false,
  ...extra,
});

/** Every milestone status, plus the variants that change answers (who proposed, a pending deposit, a partial release, a small amount, revisions used). */
function states(p: Policy): MilestoneState[] {
  const out: MilestoneState[] = [];
  const funded = { fundedAmount: A };
  for (const s of MILESTONE_STATUSES) {
    // Reached only through four eyes, with the first approval it carries: the block below.
    if (s === 'approval_pending') continue;
    const money: Partial<MilestoneState> =
      s === 'funded' || s === 'submitted' || s === 'disputed'
        ? funded
        : s === 'paid'
          ? p.escrow === 'required' ? { fundedAmount: A, releasedAmount: A } : {}
          : s === 'refunded'
            ? { fundedAmount: A, refundedAmount: A }
            : {};
    out.push(base(s, money));
    if (s === 'proposed') {
      out.pop();
      out.push(base(s, { proposedBy: 'client' }), base(s, { proposedBy: 'contractor' }), base(s, { proposedBy: 'contractor', amount: 300 }));
    }
    if (s === 'accepted') out.push(base(s, { amount: 300 }), base(s, { fundedAmount: A, refundedAmount: A })); // small; after a failed deposit
    if (s === 'funded' || s === 'submitted' || s === 'disputed') {
      out.push(base(s, { ...funded, releasedAmount: 15_000 }));
      out.push(base(s, { ...funded, fundingPending: true }));
    }
    if (s === 'submitted' || s === 'in_progress') out.push(base(s, { ...money, revisionCount: p.maxRevisionRounds ?? 50 }));
  }
  return out;
}

function commands(m: MilestoneState): MilestoneCommand[] {
  const held = escrowHeld(m);
  return [
    { type: 'edit' },
    { type: 'delete' },
    { type: 'accept' },
    { type: 'decline' },
    { type: 'fund' },
    { type: 'submit' },
    { type: 'approve' },
    { type: 'auto_approve' },
    { type: 'reject', reason: 'not yet' },
    { type: 'release', amount: 1 },
    { type: 'release', amount: held },
    { type: 'release', amount: held + 1 },
    { type: 'release', amount: 0 },
    { type: 'release', amount: -5 },
    { type: 'release', amount: 2.5 },
    { type: 'refund' },
    { type: 'dispute' },
    { type: 'resolve', releaseAmount: held, refundAmount: 0 },
    { type: 'resolve', releaseAmount: 0, refundAmount: held },
    { type: 'resolve', releaseAmount: 1, refundAmount: held - 1 },
    { type: 'resolve', releaseAmount: held, refundAmount: 1 },
    { type: 'resolve', releaseAmount: -1, refundAmount: held + 1 },
    { type: 'resolve', releaseAmount: held + 7, refundAmount: -7 },
    { type: 'funding_settled' },
    { type: 'funding_failed' },
  ];
}

/** Every preset, and variants that switch on the rules presets leave off. */
const POLICIES: [string, Policy][] = [
  ...Object.entries(PRESETS).map(([n, p]) => [n, p as Policy] as [string, Policy]),
  ['client_creates+on_acceptance', resolvePolicy({ preset: 'client_creates', overrides: { fundingTrigger: 'on_acceptance' } })],
  ['sequential_escrow+funded_unpaid+rounds0', resolvePolicy({ preset: 'sequential_escrow', overrides: { deletableUntil: 'funded_unpaid', maxRevisionRounds: 0, maxFundedMilestones: 3 } })],
  ['company_managed+submission optional', resolvePolicy({ preset: 'company_managed', overrides: { submissionRequired: false, deletableUntil: 'accepted' } })],
];

const show = (x: unknown) => JSON.stringify(x);

describe.each(POLICIES)('milestone machine — %s', (_name, policy) => {
  it('answers every (status × command × actor × contract state) as the rule table says', () => {
    const mismatches: string[] = [];
    let allowed = 0;
    let checked = 0;
    for (const m of states(policy)) {
      const before = show(m);
      for (const cmd of commands(m)) {
        // the funded count and the currency (its minimum) only matter to `fund`
        const counts = cmd.type === 'fund' ? [0, 1, 3] : [0];
        const currencies = cmd.type === 'fund' ? ['USD', 'JPY'] : ['USD'];
        for (const who of ACTORS) {
          for (const contract of CONTRACT_STATUSES) {
            for (const otherOpenFunded of counts) {
              for (const currency of currencies) {
                const want = expected(policy, m, cmd, who, contract, otherOpenFunded, currency);
                const got = transition(m, cmd, { role: who } as Actor, policy, { contractStatus: contract, currency, otherOpenFunded });
                checked++;
                const where = `${show(m)} ${show(cmd)} by ${who} on ${contract} contract (others funded ${otherOpenFunded}, ${currency})`;
                if (!want.ok) {
                  if (got.ok) mismatches.push(`${where}: expected ${want.code}, was allowed → ${got.next.status}`);
                  else if (!(got.error instanceof AppError) || got.error.code !== want.code) mismatches.push(`${where}: expected ${want.code}, got ${got.error.code}`);
                  continue;
                }
                if (!got.ok) {
                  mismatches.push(`${where}: expected allowed → ${want.status}, got ${got.error.code}`);
                  continue;
                }
                allowed++;
                const n = got.next;
                const exp: MilestoneState = {
                  ...m,
                  status: want.status,
                  fundedAmount: want.funded ?? m.fundedAmount,
                  releasedAmount: want.released ?? m.releasedAmount,
                  refundedAmount: want.refunded ?? m.refundedAmount,
                  proposedBy: want.proposedBy !== undefined ? want.proposedBy : m.proposedBy,
                  revisionCount: want.revisions ?? m.revisionCount,
                  fundingPending: want.pending ?? m.fundingPending,
                };
                if (show(n) !== show(exp)) mismatches.push(`${where}: expected next ${show(exp)}, got ${show(n)}`);
                if (show(got.effects) !== show(want.effects)) mismatches.push(`${where}: expected effects ${show(want.effects)}, got ${show(got.effects)}`);
                // money never goes out of escrow that was not in it
                if (escrowHeld(n) < 0) mismatches.push(`${where}: escrow went negative`);
              }
            }
          }
        }
      }
      if (show(m) !== before) mismatches.push(`a transition mutated its input state ${before}`);
    }
    expect(mismatches.slice(0, 15)).toEqual([]);
    expect(checked).toBeGreaterThan(3_000);
    expect(allowed).toBeGreaterThan(100);
  });

  const SPEC_ACCEPT: Record<string, { client: boolean; contractor: boolean }> = {
    company_managed: { client: false, contractor: true },
    sequential_escrow: { client: false, contractor: true },
    client_creates: { client: true, contractor: true },
    contractor_creates: { client: true, contractor: false },
    hourly_requests: { client: false, contractor: true },
    accept_every_change: { client: true, contractor: true },
  };

  it('changeMode: proposals are edited in place; agreed milestones by a party who needs acceptance go through a change request', () => {
    const needs = SPEC_ACCEPT[policy.preset]!;
    for (const role of ['client', 'contractor'] as const) {
      for (const s of MILESTONE_STATUSES) {
        const want = s === 'proposed' ? 'direct' : needs[role] ? 'change_request' : 'direct';
        // the override variants only change fields other than changesNeedAcceptance
        expect(changeMode(policy, role, s), `${role} ${s}`).toBe(want);
      }
      expect(initialStatus(policy, role)).toEqual(needs[role] ? { status: 'proposed', proposedBy: role } : { status: 'accepted', proposedBy: null });
    }
  });

  it('isDeletable follows deletableUntil', () => {
    const untilPaid = policy.deletableUntil === 'funded_unpaid';
    const want: Record<MilestoneStatus, boolean> = {
      proposed: true,
      accepted: true,
      in_progress: untilPaid,
      funded: untilPaid,
      submitted: untilPaid,
      approval_pending: false,
      declined: false,
      approved: false,
      paid: false,
      disputed: false,
      refunded: false,
      cancelled: false,
    };
    for (const s of MILESTONE_STATUSES) expect(isDeletable(policy, s), s).toBe(want[s]);
  });
});

/*
 * Four eyes (issue 11): an organisation's member approving or releasing an amount at or above
 * the threshold leaves the milestone `approval_pending` and moves nothing; the same member
 * cannot confirm it; another member's identical command does what the command does without
 * four eyes; anything else treats the milestone as the state it was approved from and drops
 * the pending approval. The answers without four eyes come from the table above.
 */
describe.each(POLICIES)('four eyes — %s', (_name, policy) => {
  const live: MilestoneContext = { contractStatus: 'active', currency: 'USD', otherOpenFunded: 0 };
  const eyes = (memberId: string, threshold = 10_000): MilestoneContext => ({ ...live, fourEyes: { threshold, memberId } });
  const client: Actor = { role: 'client' };
  const stakeOf = (t: ReturnType<typeof transition>) => (t.ok ? t.effects.reduce((a, e) => a + ('amount' in e ? e.amount : 0), 0) : -1);
  // Milestones approvable for at least the threshold (10,000) used below.
  const approvable = states(policy).filter((m) => stakeOf(transition(m, { type: 'approve' }, client, policy, live)) >= 10_000);
  const releasable = states(policy).filter((m) => transition(m, { type: 'release', amount: 10_000 }, client, policy, live).ok);

  it('a first approval at or above the threshold waits for a second member; the same member is refused; nothing moves until then', () => {
    expect(approvable.length + releasable.length).toBeGreaterThan(0);
    const cases: [MilestoneState, MilestoneCommand][] = [
      ...approvable.map((m) => [m, { type: 'approve' }] as [MilestoneState, MilestoneCommand]),
      ...releasable.map((m) => [m, { type: 'release', amount: 10_000 }] as [MilestoneState, MilestoneCommand]),
    ];
    for (const [m, cmd] of cases) {
      const alone = transition(m, cmd, client, policy, live);
      const first = transition(m, cmd, client, policy, eyes('usr_a'));
      expect(first.ok && first.next, `${show(m)} ${show(cmd)}`).toEqual({
        ...m,
        status: 'approval_pending',
        approval: { by: 'usr_a', from: m.status, release: cmd.type === 'release' ? cmd.amount : null },
      });
      expect(first.ok && first.effects).toEqual([]);
      if (!first.ok) continue;
      const again = transition(first.next, cmd, client, policy, eyes('usr_a'));
      expect(!again.ok && again.error.code).toBe('second_approver_required');
      const second = transition(first.next, cmd, client, policy, eyes('usr_b'));
      // The second member's command is the command on the state approved from.
      expect(second).toEqual({ ...alone, ...(alone.ok && { next: { ...alone.next, approval: null } }) });
      // The other command is not a confirmation.
      const other: MilestoneCommand = cmd.type === 'approve' ? { type: 'release', amount: 10_000 } : { type: 'approve' };
      const mixed = transition(first.next, other, client, policy, eyes('usr_b'));
      expect(!mixed.ok && mixed.error.code).toBe('invalid_state');
      if (cmd.type === 'release') {
        const otherAmount = transition(first.next, { type: 'release', amount: 9_999 }, client, policy, eyes('usr_b'));
        expect(!otherAmount.ok && otherAmount.error.code).toBe('invalid_state');
      }
    }
  });

  it('below the threshold, or without an organisation threshold, nothing changes', () => {
    for (const m of approvable) {
      const alone = transition(m, { type: 'approve' }, client, policy, live);
      const stake = stakeOf(alone);
      expect(transition(m, { type: 'approve' }, client, policy, eyes('usr_a', stake + 1))).toEqual(alone);
    }
    for (const m of releasable) {
      expect(transition(m, { type: 'release', amount: 9_999 }, client, policy, eyes('usr_a'))).toEqual(transition(m, { type: 'release', amount: 9_999 }, client, policy, live));
    }
  });

  it('every other command treats a pending milestone as the state it was approved from, and drops the approval', () => {
    for (const m of approvable) {
      const first = transition(m, { type: 'approve' }, client, policy, eyes('usr_a'));
      if (!first.ok) throw first.error;
      for (const cmd of commands(m)) {
        if (cmd.type === 'approve' || cmd.type === 'release') continue;
        for (const who of ACTORS) {
          for (const contractStatus of CONTRACT_STATUSES) {
            const c = { ...live, contractStatus };
            const plain = transition(m, cmd, { role: who } as Actor, policy, c);
            const got = transition(first.next, cmd, { role: who } as Actor, policy, c);
            const where = `${show(first.next)} ${show(cmd)} by ${who} on ${contractStatus}`;
            if (plain.ok) expect(got, where).toEqual({ ...plain, next: { ...plain.next, approval: null } });
            else expect(!got.ok && got.error.code, where).toBe(plain.error.code);
          }
        }
      }
    }
  });
});

describe('contract machine', () => {
  const CMDS: ContractCommand['type'][] = ['activate', 'withdraw', 'decline', 'close'];
  it('answers every (status × command × actor × creator) as the spec says', () => {
    const mismatches: string[] = [];
    for (const status of CONTRACT_STATUSES) {
      for (const type of CMDS) {
        for (const who of ACTORS) {
          for (const creator of ['client', 'contractor'] as const) {
            // PRODUCT.md: the party who did not create a proposal accepts (activates) or declines it; its creator withdraws it; a party (or admin) closes a live contract.
            let want: string;
            if (type === 'activate') want = who === creator || (who !== 'client' && who !== 'contractor') ? 'forbidden' : status !== 'proposal' ? 'invalid_state' : 'active';
            else if (type === 'withdraw') want = who !== creator ? 'forbidden' : status !== 'proposal' ? 'invalid_state' : 'withdrawn';
            else if (type === 'decline') want = who === creator || (who !== 'client' && who !== 'contractor') ? 'forbidden' : status !== 'proposal' ? 'invalid_state' : 'declined';
            else want = who === 'system' ? 'forbidden' : status !== 'active' ? 'invalid_state' : 'closed';
            const got = contractTransition({ status, createdByRole: creator }, { type } as ContractCommand, { role: who } as Actor);
            const answer = got.ok ? got.next : got.error.code;
            if (answer !== want) mismatches.push(`${type} by ${who} on ${status} (created by ${creator}): expected ${want}, got ${answer}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('planCloseSettlement', () => {
  const held = [
    { id: 'a', held: 1000 },
    { id: 'b', held: 333 },
    { id: 'c', held: 1 },
  ];
  it('refunds everything by default', () => {
    expect(planCloseSettlement(held, {}, allocate)).toEqual(held.map((m) => ({ id: m.id, release: 0, refund: m.held })));
  });
  it('fills in the missing side and spreads pro rata, each milestone summing to its escrow', () => {
    for (const req of [{ release: 500 }, { refund: 500 }, { release: 1334 }, { release: 1, refund: 1333 }, { refund: 0 }]) {
      const plan = planCloseSettlement(held, req, allocate);
      if (plan instanceof AppError) throw plan;
      const rel = plan.reduce((a, p) => a + p.release, 0);
      const ref = plan.reduce((a, p) => a + p.refund, 0);
      expect(rel + ref).toBe(1334);
      if (req.release !== undefined) expect(rel).toBe(req.release);
      if (req.refund !== undefined) expect(ref).toBe(req.refund);
      plan.forEach((p, i) => {
        expect(p.release + p.refund).toBe(held[i]!.held);
        expect(p.release).toBeGreaterThanOrEqual(0);
        expect(p.refund).toBeGreaterThanOrEqual(0);
      });
    }
  });
  it('refuses splits that do not sum to the escrow', () => {
    for (const req of [{ release: 1335 }, { refund: 1335 }, { release: 1, refund: 1 }, { release: -1 }, { refund: -1 }, { release: 1335, refund: -1 }]) {
      const r = planCloseSettlement(held, req, allocate);
      expect(r).toBeInstanceOf(AppError);
      expect((r as AppError).code).toBe('validation_failed');
    }
  });
  it('nothing held: only a zero split is valid', () => {
    expect(planCloseSettlement([], {}, allocate)).toEqual([]);
    expect(planCloseSettlement([], { release: 1 }, allocate)).toBeInstanceOf(AppError);
  });
});
