import { describe, expect, it } from 'vitest';
import { agreedTotals, describeDiff, planChangeSet, type MilestoneView } from '../../src/domain/change-set.ts';
import { escrowHeld, transition, type MilestoneState } from '../../src/domain/milestone-machine.ts';
import { formatMoney } from '../../src/domain/money.ts';
import { PRESETS } from '../../src/domain/policy.ts';
import { nextActionFor } from '../../src/db/repos/contract-extras.ts';
import type { ContractRow } from '../../src/db/repos/contracts.ts';

const usd = (a: number) => formatMoney(a, 'USD');
const view = (id: string, title: string, amount: number, position: number, status: MilestoneView['status'] = 'accepted'): MilestoneView => ({
  id, title, amount, position, status, dueDate: '2027-01-01', description: null, attachmentIds: [],
});

describe('a change set in words', () => {
  const current = [view('ms_a', 'Draft', 10000, 1), view('ms_b', 'Design', 40000, 2), view('ms_c', 'Maybe', 5000, 3, 'proposed')];

  it('names additions, removals and field changes; positions shifted by a removal are not news', () => {
    const plan = planChangeSet(current, [
      { op: 'add', milestone: { title: 'Logo', amount: 30000, dueDate: '2027-02-01' } },
      { op: 'remove', milestoneId: 'ms_a' },
      { op: 'update', milestoneId: 'ms_b', changes: { amount: 45000, dueDate: '2027-03-01' } },
    ]);
    expect(describeDiff(plan.diff, usd)).toBe('add “Logo” (300.00 USD), remove “Draft”, change “Design”: amount 400.00 USD → 450.00 USD, due 2027-01-01 → 2027-03-01');
  });

  it('says so when the order changes, and cuts long sets', () => {
    const plan = planChangeSet(current, [{ op: 'reorder', milestoneIds: ['ms_b', 'ms_a', 'ms_c'] }]);
    expect(describeDiff(plan.diff, usd)).toBe('reorder the milestones');
    const many = planChangeSet([], Array.from({ length: 8 }, (_, i) => ({ op: 'add' as const, milestone: { title: `M${i}`, amount: 100, dueDate: '2027-02-01' } })));
    expect(describeDiff(many.diff, usd)).toMatch(/, add “M5” \(1\.00 USD\) and 2 more$/);
  });

  it('agreed totals leave proposed milestones out, and count what the set adds', () => {
    const plan = planChangeSet(current, [{ op: 'add', milestone: { title: 'Logo', amount: 30000, dueDate: '2027-02-01' } }, { op: 'remove', milestoneId: 'ms_a' }]);
    expect(agreedTotals(current, plan)).toEqual({ agreedBefore: 50000, agreedAfter: 70000 });
    expect(plan.diff).toMatchObject({ totalBefore: 55000, totalAfter: 75000 });
  });
});

describe('a partial release and what it leaves', () => {
  const funded: MilestoneState = { status: 'funded', amount: 40000, fundedAmount: 40000, releasedAmount: 0, refundedAmount: 0, proposedBy: null, revisionCount: 0, fundingPending: false };
  const ctx = { contractStatus: 'active' as const, currency: 'USD', otherOpenFunded: 0 };
  const policy = PRESETS.sequential_escrow;

  it.each([
    ['keep', 'funded', 0, [{ type: 'release', amount: 15000 }]],
    ['refund', 'paid', 25000, [{ type: 'release', amount: 15000 }, { type: 'refund', amount: 25000 }]],
    ['next', 'paid', 25000, [{ type: 'release', amount: 15000 }, { type: 'move_to_next', amount: 25000 }]],
  ] as const)('rest %s', (rest, status, refunded, effects) => {
    const t = transition(funded, { type: 'release', amount: 15000, rest }, { role: 'client' }, policy, ctx);
    if (!t.ok) throw t.error;
    expect(t.next).toMatchObject({ status, releasedAmount: 15000, refundedAmount: refunded });
    expect(t.effects).toEqual(effects);
    // Whatever the rest does, escrow left + released + what left to the client = funded.
    expect(escrowHeld(t.next) + t.next.releasedAmount + t.next.refundedAmount).toBe(funded.fundedAmount);
  });

  it('the whole escrow leaves nothing for rest to do; only the client releases', () => {
    const all = transition(funded, { type: 'release', amount: 40000, rest: 'next' }, { role: 'client' }, policy, ctx);
    expect(all.ok && all.effects).toEqual([{ type: 'release', amount: 40000 }]);
    const byContractor = transition(funded, { type: 'release', amount: 100, rest: 'refund' }, { role: 'contractor' }, policy, ctx);
    expect(!byContractor.ok && byContractor.error.code).toBe('forbidden');
  });
});

describe('the next action on a contract', () => {
  const contract = (over: Partial<ContractRow> = {}) =>
    ({ id: 'ctr_x', status: 'active', client_id: 'usr_c', contractor_id: 'usr_k', created_by: 'usr_c', policy: PRESETS.sequential_escrow, ...over }) as ContractRow;
  const none = { milestones: [], openFunded: 0, changeRequestBy: null, refundRequestBy: null, disputesOpenedBy: [], drafts: 0, reviewedBy: [] };

  it('puts the other party’s requests first, then the work of each side', () => {
    expect(nextActionFor(contract({ status: 'proposal' }), 'contractor', none)).toBe('accept_proposal');
    expect(nextActionFor(contract({ status: 'proposal' }), 'client', none)).toBeNull();
    const busy = { ...none, changeRequestBy: 'contractor' as const, milestones: [{ status: 'submitted', proposed_by: null }] };
    expect(nextActionFor(contract(), 'client', busy)).toBe('answer_change_request');
    expect(nextActionFor(contract(), 'contractor', busy)).toBeNull();
    expect(nextActionFor(contract(), 'client', { ...none, milestones: [{ status: 'submitted', proposed_by: null }] })).toBe('review');
    expect(nextActionFor(contract(), 'client', { ...none, drafts: 1 })).toBe('pay');
    expect(nextActionFor(contract(), 'client', { ...none, disputesOpenedBy: ['contractor'] })).toBe('respond_dispute');
  });

  it('funds only within the policy’s limit of funded milestones', () => {
    const facts = { ...none, milestones: [{ status: 'funded', proposed_by: null }, { status: 'accepted', proposed_by: null }], openFunded: 1 };
    expect(nextActionFor(contract(), 'client', facts)).toBeNull();
    expect(nextActionFor(contract(), 'contractor', facts)).toBe('submit');
    expect(nextActionFor(contract({ policy: { ...PRESETS.sequential_escrow, maxFundedMilestones: null } }), 'client', facts)).toBe('fund');
  });

  it('asks for a review once closed, until given; the admin has none', () => {
    expect(nextActionFor(contract({ status: 'closed' }), 'client', none)).toBe('leave_review');
    expect(nextActionFor(contract({ status: 'closed' }), 'client', { ...none, reviewedBy: ['client'] })).toBeNull();
    expect(nextActionFor(contract(), null, none)).toBeNull();
  });
});
