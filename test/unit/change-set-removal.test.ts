import { describe, expect, it } from 'vitest';
import { planChangeSet, type MilestoneView } from '../../src/domain/change-set.ts';
import { AppError } from '../../src/domain/errors.ts';
import { isDeletable } from '../../src/domain/milestone-machine.ts';
import { resolvePolicy } from '../../src/domain/policy.ts';

const m = (id: string, status: MilestoneView['status'], position: number): MilestoneView => ({ id, status, position, title: id, amount: 1000, dueDate: '2030-01-01', description: null });

describe('a change request removes only what the policy lets be deleted', () => {
  const list = [m('a', 'in_progress', 1), m('b', 'accepted', 2)];

  it('refuses to remove an in-progress milestone when deletableUntil is accepted', () => {
    const policy = resolvePolicy({ preset: 'company_managed', overrides: { deletableUntil: 'accepted' } });
    let err: unknown;
    try {
      planChangeSet(list, [{ op: 'remove', milestoneId: 'a' }], (st) => isDeletable(policy, st));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_state');
    expect((err as AppError).extra.state).toBe('in_progress');
    // An accepted one may go; an in-progress one may still be edited.
    expect(planChangeSet(list, [{ op: 'remove', milestoneId: 'b' }], (st) => isDeletable(policy, st)).removed.has('b')).toBe(true);
    expect(planChangeSet(list, [{ op: 'update', milestoneId: 'a', changes: { amount: 5 } }], (st) => isDeletable(policy, st)).updated.get('a')).toEqual({ amount: 5 });
  });

  it('allows it when deletableUntil is funded_unpaid', () => {
    const policy = resolvePolicy('company_managed');
    expect(planChangeSet(list, [{ op: 'remove', milestoneId: 'a' }], (st) => isDeletable(policy, st)).removed.has('a')).toBe(true);
  });
});
