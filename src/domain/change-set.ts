import { AppError, type FieldError } from './errors.ts';
import type { MilestoneStatus } from './milestone-machine.ts';

export type MilestoneFields = { title: string; amount: number; dueDate: string; description: string | null; attachmentIds?: string[] };

export type ChangeOperation =
  | { op: 'add'; milestone: { title: string; amount: number; dueDate: string; description?: string | null; attachmentIds?: string[] } }
  | { op: 'update'; milestoneId: string; changes: Partial<MilestoneFields> }
  | { op: 'remove'; milestoneId: string }
  | { op: 'reorder'; milestoneIds: string[] };

/** The part of a milestone a change set sees. */
export type MilestoneView = MilestoneFields & { id: string; status: MilestoneStatus; position: number };

export type DiffSide = (Required<MilestoneFields> & { position: number }) | null;
export type DiffRow = { milestoneId: string | null; change: 'added' | 'updated' | 'removed' | 'moved'; before: DiffSide; after: DiffSide };
export type Diff = { milestones: DiffRow[]; totalBefore: number; totalAfter: number };

/** Milestones that a change set may touch: agreed or proposed, with no money attached yet. */
export const CHANGEABLE: readonly MilestoneStatus[] = ['proposed', 'accepted', 'in_progress'];
/** Milestones that no longer take part in the contract's list and order. */
export const GONE: readonly MilestoneStatus[] = ['declined', 'cancelled'];

export type Planned = {
  /** The contract's milestone list after the change set, in order; added ones have id null. */
  after: (Omit<MilestoneView, 'id'> & { id: string | null })[];
  updated: Map<string, Partial<MilestoneFields>>;
  removed: Set<string>;
  diff: Diff;
};

const side = (m: MilestoneFields & { position: number }): DiffSide => ({
  title: m.title,
  amount: m.amount,
  dueDate: m.dueDate,
  description: m.description ?? null,
  attachmentIds: m.attachmentIds ?? [],
  position: m.position,
});

const total = (list: { amount: number; status: MilestoneStatus }[]) =>
  list.filter((m) => m.status !== 'refunded').reduce((a, m) => a + m.amount, 0);

/**
 * Plans a change set against a contract's milestones without touching anything: checks every
 * operation (ids belong to the contract, targets are unfunded, a reorder lists each movable
 * milestone once and keeps funded ones in place) and computes the resulting list and its diff.
 * Milestones added by the set go after the existing ones. Throws a 4xx AppError on the first
 * problem class found, naming every offending operation.
 */
export function planChangeSet(
  current: MilestoneView[],
  ops: ChangeOperation[],
  /** Whether a milestone in this state may be removed (the policy's `deletableUntil`). */
  removable: (status: MilestoneStatus) => boolean = (st) => st === 'proposed' || st === 'accepted',
): Planned {
  const live = current.filter((m) => !GONE.includes(m.status)).sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
  const byId = new Map(live.map((m) => [m.id, m]));
  const errors: FieldError[] = [];
  const stateErrors: { id: string; status: MilestoneStatus }[] = [];
  const updated = new Map<string, Partial<MilestoneFields>>();
  const removed = new Set<string>();
  const added: MilestoneFields[] = [];
  let order = live.map((m) => m.id);

  const target = (id: string, i: number): MilestoneView | undefined => {
    const m = byId.get(id);
    if (!m) {
      errors.push({ field: `operations[${i}].milestoneId`, message: 'is not a milestone of this contract' });
      return undefined;
    }
    if (removed.has(id)) {
      errors.push({ field: `operations[${i}].milestoneId`, message: 'was removed earlier in this change set' });
      return undefined;
    }
    if (!CHANGEABLE.includes(m.status)) stateErrors.push({ id, status: m.status });
    return m;
  };

  ops.forEach((op, i) => {
    switch (op.op) {
      case 'add':
        added.push({ title: op.milestone.title, amount: op.milestone.amount, dueDate: op.milestone.dueDate, description: op.milestone.description ?? null, attachmentIds: op.milestone.attachmentIds ?? [] });
        break;
      case 'update': {
        if (target(op.milestoneId, i)) updated.set(op.milestoneId, { ...updated.get(op.milestoneId), ...op.changes });
        break;
      }
      case 'remove': {
        const m = target(op.milestoneId, i);
        if (m && CHANGEABLE.includes(m.status) && !removable(m.status)) stateErrors.push({ id: m.id, status: m.status });
        if (m) {
          removed.add(op.milestoneId);
          order = order.filter((id) => id !== op.milestoneId);
          updated.delete(op.milestoneId);
        }
        break;
      }
      case 'reorder': {
        const ids = op.milestoneIds;
        const seen = new Set<string>();
        for (const id of ids) {
          if (seen.has(id)) errors.push({ field: `operations[${i}].milestoneIds`, message: `lists ${id} twice` });
          seen.add(id);
          if (!order.includes(id)) errors.push({ field: `operations[${i}].milestoneIds`, message: `${id} is not a current milestone of this contract` });
        }
        const missing = order.filter((id) => !seen.has(id));
        if (missing.length) errors.push({ field: `operations[${i}].milestoneIds`, message: `must list every milestone; missing ${missing.join(', ')}` });
        if (errors.length) break;
        ids.forEach((id, idx) => {
          const m = byId.get(id)!;
          if (!CHANGEABLE.includes(m.status) && order[idx] !== id) {
            errors.push({ field: `operations[${i}].milestoneIds`, message: `${id} is ${m.status} and must keep its place` });
          }
        });
        if (!errors.length) order = [...ids];
        break;
      }
    }
  });

  if (errors.length) throw new AppError('validation_failed', 'the change set is not valid', {}, errors);
  if (stateErrors.length) {
    const first = stateErrors[0]!;
    throw new AppError('invalid_state', `milestone ${first.id} is ${first.status}; only unfunded milestones can be changed`, {
      state: first.status,
      milestoneId: first.id,
    });
  }

  const after: Planned['after'] = order.map((id, idx) => {
    const m = byId.get(id)!;
    return { ...m, ...updated.get(id), position: idx + 1 };
  });
  for (const a of added) after.push({ ...a, id: null, status: 'accepted', position: after.length + 1 });

  const rows: DiffRow[] = [];
  for (const m of live) {
    if (removed.has(m.id)) {
      rows.push({ milestoneId: m.id, change: 'removed', before: side(m), after: null });
      continue;
    }
    const now = after.find((x) => x.id === m.id)!;
    const fieldsChanged =
      (['title', 'amount', 'dueDate', 'description'] as const).some((f) => (now[f] ?? null) !== (m[f] ?? null)) ||
      JSON.stringify(now.attachmentIds ?? []) !== JSON.stringify(m.attachmentIds ?? []);
    const moved = now.position !== positionIn(live, m.id);
    if (fieldsChanged || moved) rows.push({ milestoneId: m.id, change: fieldsChanged ? 'updated' : 'moved', before: { ...side(m)!, position: positionIn(live, m.id) }, after: side(now) });
  }
  for (const a of after.filter((x) => x.id === null)) rows.push({ milestoneId: null, change: 'added', before: null, after: side(a) });

  return { after, updated, removed, diff: { milestones: rows, totalBefore: total(live), totalAfter: total(after) } };
}

const positionIn = (list: { id: string }[], id: string) => list.findIndex((m) => m.id === id) + 1;

/** Agreed milestones (not proposed, declined, cancelled or refunded) count in the agreed total. */
const agreed = (m: { status: MilestoneStatus }) => m.status !== 'proposed' && m.status !== 'refunded' && !GONE.includes(m.status);

/**
 * The one notion of "total" a change set is shown with: what is agreed now, and what would be
 * agreed once this set is accepted (milestones it adds count; proposed ones it leaves alone do not).
 */
export function agreedTotals(current: MilestoneView[], plan: Planned): { agreedBefore: number; agreedAfter: number } {
  return {
    agreedBefore: current.filter(agreed).reduce((a, m) => a + m.amount, 0),
    agreedAfter: plan.after.filter((m) => m.id === null || agreed(m)).reduce((a, m) => a + m.amount, 0),
  };
}

/**
 * The diff in words, for notifications and emails: `add “Logo” (300.00 USD), remove “Draft”,
 * change “Design”: amount 400.00 USD → 450.00 USD, reorder the milestones`. Positions that only
 * shift because of an addition or removal are not news; a new relative order is. Long sets are
 * cut after `max` changes.
 */
export function describeDiff(diff: Diff, money: (amount: number) => string, max = 6): string {
  const q = (t: string) => `“${t}”`;
  const rows = diff.milestones;
  const kept = rows.filter((r) => r.before && r.after);
  const order = (side: 'before' | 'after') => [...kept].sort((x, y) => x[side]!.position - y[side]!.position).map((r) => r.milestoneId).join();
  const parts = [
    ...rows.filter((r) => r.change === 'added').map((r) => `add ${q(r.after!.title)} (${money(r.after!.amount)})`),
    ...rows.filter((r) => r.change === 'removed').map((r) => `remove ${q(r.before!.title)}`),
    ...rows
      .filter((r) => r.change === 'updated')
      .map((r) => `change ${q(r.before!.title)}: ${describeFieldChanges({ ...r.before!, position: 0 }, { ...r.after!, position: 0 }, money)}`),
    ...(order('before') !== order('after') ? ['reorder the milestones'] : []),
  ];
  const shown = parts.slice(0, max).join(', ');
  return parts.length > max ? `${shown} and ${parts.length - max} more` : shown || 'no change';
}

/** A milestone's changed fields in words: `amount 400.00 USD → 450.00 USD, due 2027-03-01 → 2027-04-01`. */
export function describeFieldChanges(
  b: MilestoneFields & { position?: number },
  a: MilestoneFields & { position?: number },
  money: (amount: number) => string,
): string {
  const what: string[] = [];
  if (a.title !== b.title) what.push(`title “${b.title}” → “${a.title}”`);
  if (a.amount !== b.amount) what.push(`amount ${money(b.amount)} → ${money(a.amount)}`);
  if (a.dueDate !== b.dueDate) what.push(`due ${b.dueDate} → ${a.dueDate}`);
  if ((a.description ?? null) !== (b.description ?? null)) what.push('description');
  if (JSON.stringify(a.attachmentIds ?? []) !== JSON.stringify(b.attachmentIds ?? [])) what.push('attachments');
  if (a.position !== b.position) what.push(`position ${b.position} → ${a.position}`);
  return what.join(', ') || 'no change';
}
