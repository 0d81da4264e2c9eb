import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planChangeSet, type ChangeOperation, type MilestoneView } from '../../src/domain/change-set.ts';
import { AppError } from '../../src/domain/errors.ts';
import { MILESTONE_STATUSES, type MilestoneStatus } from '../../src/domain/milestone-machine.ts';

const m = (id: string, position: number, amount: number, status: MilestoneStatus = 'accepted', extra: Partial<MilestoneView> = {}): MilestoneView => ({
  id,
  position,
  amount,
  status,
  title: `T ${id}`,
  dueDate: '2030-01-01',
  description: null,
  ...extra,
});

const errorOf = (f: () => unknown): AppError => {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
};

/** Unfunded, still negotiable (PRODUCT.md: change requests touch unfunded milestones). */
const CHANGEABLE_SPEC = new Set<MilestoneStatus>(['proposed', 'accepted', 'in_progress']);
/** No longer part of the list. */
const GONE_SPEC = new Set<MilestoneStatus>(['declined', 'cancelled']);

describe('planChangeSet — examples', () => {
  const current = [m('a', 1, 1000), m('b', 2, 2000, 'funded'), m('c', 3, 3000, 'proposed'), m('x', 4, 9999, 'cancelled'), m('y', 5, 50, 'declined')];

  it('adds after the existing milestones, accepted, with an "added" row and totals', () => {
    const p = planChangeSet(current, [{ op: 'add', milestone: { title: 'New', amount: 500, dueDate: '2030-02-02' } }]);
    expect(p.after.map((x) => x.id)).toEqual(['a', 'b', 'c', null]);
    expect(p.after.map((x) => x.position)).toEqual([1, 2, 3, 4]);
    expect(p.after[3]).toMatchObject({ status: 'accepted', amount: 500, description: null });
    expect(p.diff).toEqual({
      milestones: [{ milestoneId: null, change: 'added', before: null, after: { title: 'New', amount: 500, dueDate: '2030-02-02', description: null, attachmentIds: [], position: 4 } }],
      totalBefore: 6000,
      totalAfter: 6500,
    });
  });

  it('merges successive updates of one milestone and shows before/after', () => {
    const p = planChangeSet(current, [
      { op: 'update', milestoneId: 'a', changes: { amount: 1500 } },
      { op: 'update', milestoneId: 'a', changes: { title: 'A2' } },
    ]);
    expect(p.updated.get('a')).toEqual({ amount: 1500, title: 'A2' });
    expect(p.diff.milestones).toEqual([
      {
        milestoneId: 'a',
        change: 'updated',
        before: { title: 'T a', amount: 1000, dueDate: '2030-01-01', description: null, attachmentIds: [], position: 1 },
        after: { title: 'A2', amount: 1500, dueDate: '2030-01-01', description: null, attachmentIds: [], position: 1 },
      },
    ]);
    expect(p.diff.totalAfter - p.diff.totalBefore).toBe(500);
  });

  it('removes: the rest moves up, the row says removed', () => {
    const p = planChangeSet(current, [{ op: 'remove', milestoneId: 'a' }]);
    expect([...p.removed]).toEqual(['a']);
    expect(p.after.map((x) => [x.id, x.position])).toEqual([
      ['b', 1],
      ['c', 2],
    ]);
    const rows = Object.fromEntries(p.diff.milestones.map((r) => [r.milestoneId, r.change]));
    expect(rows).toEqual({ a: 'removed', b: 'moved', c: 'moved' });
    expect(p.diff.totalAfter).toBe(5000);
  });

  it('reorders movable milestones around funded ones, which keep their place', () => {
    const list = [m('a', 1, 1), m('b', 2, 2, 'funded'), m('c', 3, 3)];
    expect(planChangeSet(list, [{ op: 'reorder', milestoneIds: ['c', 'b', 'a'] }]).after.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    const e = errorOf(() => planChangeSet(list, [{ op: 'reorder', milestoneIds: ['b', 'a', 'c'] }]));
    expect(e.code).toBe('validation_failed');
  });

  it('refuses a reorder that omits, repeats or invents milestones (validation_failed)', () => {
    for (const ids of [['a', 'b'], ['a', 'b', 'c', 'c'], ['a', 'b', 'c', 'zz'], ['a', 'b', 'x']]) {
      const e = errorOf(() => planChangeSet(current, [{ op: 'reorder', milestoneIds: ids }]));
      expect(e.code).toBe('validation_failed');
      expect(e.errors?.length).toBeGreaterThan(0);
    }
  });

  it('refuses ids outside the contract or already removed (validation_failed), and gone milestones', () => {
    expect(errorOf(() => planChangeSet(current, [{ op: 'update', milestoneId: 'nope', changes: { amount: 1 } }])).code).toBe('validation_failed');
    expect(errorOf(() => planChangeSet(current, [{ op: 'remove', milestoneId: 'x' }])).code).toBe('validation_failed');
    expect(
      errorOf(() =>
        planChangeSet(current, [
          { op: 'remove', milestoneId: 'a' },
          { op: 'update', milestoneId: 'a', changes: { amount: 1 } },
        ]),
      ).code,
    ).toBe('validation_failed');
  });

  it('refuses to touch funded or later milestones (invalid_state naming the milestone)', () => {
    for (const status of MILESTONE_STATUSES.filter((s) => !CHANGEABLE_SPEC.has(s) && !GONE_SPEC.has(s))) {
      const list = [m('a', 1, 1000), m('f', 2, 2000, status)];
      for (const op of [
        { op: 'update', milestoneId: 'f', changes: { amount: 1 } },
        { op: 'remove', milestoneId: 'f' },
      ] as ChangeOperation[]) {
        const e = errorOf(() => planChangeSet(list, [op]));
        expect(e.code).toBe('invalid_state');
        expect(e.extra).toMatchObject({ milestoneId: 'f', state: status });
      }
    }
  });

  it('reports validation problems before state problems', () => {
    const e = errorOf(() =>
      planChangeSet(current, [
        { op: 'update', milestoneId: 'b', changes: { amount: 1 } },
        { op: 'update', milestoneId: 'ghost', changes: { amount: 1 } },
      ]),
    );
    expect(e.code).toBe('validation_failed');
    expect(e.errors?.[0]?.field).toBe('operations[1].milestoneId');
  });

  it('an empty change set changes nothing', () => {
    const p = planChangeSet(current, []);
    expect(p.diff.milestones).toEqual([]);
    expect(p.diff.totalAfter).toBe(p.diff.totalBefore);
  });
});

describe('planChangeSet — properties', () => {
  const statusArb = fc.constantFrom<MilestoneStatus>(...MILESTONE_STATUSES);
  const listArb = fc
    .array(fc.record({ amount: fc.integer({ min: 1, max: 100_000 }), status: statusArb }), { minLength: 0, maxLength: 8 })
    .map((rows) => rows.map((r, i) => m(`m${i}`, i + 1, r.amount, r.status)));

  const opsArb = (list: MilestoneView[]) => {
    const ids = list.map((x) => x.id);
    const idArb = ids.length ? fc.oneof(fc.constantFrom(...ids), fc.constant('ghost')) : fc.constant('ghost');
    const op: fc.Arbitrary<ChangeOperation> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), milestone: fc.record({ title: fc.constant('N'), amount: fc.integer({ min: 1, max: 100_000 }), dueDate: fc.constant('2031-01-01') }) }),
      fc.record({ op: fc.constant('update' as const), milestoneId: idArb, changes: fc.record({ amount: fc.integer({ min: 1, max: 100_000 }) }) }),
      fc.record({ op: fc.constant('remove' as const), milestoneId: idArb }),
      fc.shuffledSubarray(ids.filter((id) => !GONE_SPEC.has(list.find((x) => x.id === id)!.status)), { minLength: 0 }).map((milestoneIds) => ({ op: 'reorder' as const, milestoneIds })),
    );
    return fc.array(op, { maxLength: 5 });
  };

  it('either refuses with a 4xx AppError, or yields a consistent plan; the input is never mutated', () => {
    fc.assert(
      fc.property(
        listArb.chain((list) => fc.tuple(fc.constant(list), opsArb(list))),
        ([list, ops]) => {
          const snapshot = JSON.stringify(list);
          let plan;
          try {
            plan = planChangeSet(list, ops);
          } catch (e) {
            expect(e).toBeInstanceOf(AppError);
            expect(['validation_failed', 'invalid_state']).toContain((e as AppError).code);
            expect(JSON.stringify(list)).toBe(snapshot);
            return;
          }
          expect(JSON.stringify(list)).toBe(snapshot);
          const live = list.filter((x) => !GONE_SPEC.has(x.status));
          // positions are 1..n in order
          expect(plan.after.map((x) => x.position)).toEqual(plan.after.map((_, i) => i + 1));
          // every live milestone is either removed or in the list exactly once; added ones follow
          const keptIds = plan.after.filter((x) => x.id !== null).map((x) => x.id);
          expect(new Set(keptIds).size).toBe(keptIds.length);
          expect([...keptIds, ...plan.removed].sort()).toEqual(live.map((x) => x.id).sort());
          expect(plan.after.filter((x) => x.id === null)).toHaveLength(ops.filter((o) => o.op === 'add').length);
          // nothing funded or later was touched: same fields, not removed
          for (const x of live.filter((x) => !CHANGEABLE_SPEC.has(x.status))) {
            expect(plan.removed.has(x.id)).toBe(false);
            expect(plan.updated.has(x.id)).toBe(false);
            expect(plan.after.find((a) => a.id === x.id)!.amount).toBe(x.amount);
          }
          // totals: before is the live list; after = before + the amount changes
          const counted = (s: MilestoneStatus) => s !== 'refunded';
          const before = live.filter((x) => counted(x.status)).reduce((a, x) => a + x.amount, 0);
          const after = plan.after.filter((x) => counted(x.status)).reduce((a, x) => a + x.amount, 0);
          expect(plan.diff.totalBefore).toBe(before);
          expect(plan.diff.totalAfter).toBe(after);
          // the diff describes exactly the rows that differ
          for (const x of live) {
            const row = plan.diff.milestones.find((r) => r.milestoneId === x.id);
            const now = plan.after.find((a) => a.id === x.id);
            const oldPos = live.sort((a, b) => a.position - b.position).indexOf(x) + 1;
            if (!now) expect(row?.change).toBe('removed');
            else if (now.amount !== x.amount) expect(row).toMatchObject({ change: 'updated', before: { amount: x.amount }, after: { amount: now.amount, position: now.position } });
            else if (now.position !== oldPos) expect(row).toMatchObject({ change: 'moved', before: { position: oldPos }, after: { position: now.position } });
            else expect(row).toBeUndefined();
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
