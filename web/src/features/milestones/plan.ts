import type { ChangeRequest, Milestone } from '../../api.ts';
import { decimals, formatMoney, parseMoney } from '../../money.ts';

/**
 * The milestone planner's draft: the contract's milestones as the author wants them, turned into
 * the change set of the API (add / update / remove / reorder, see POST /v1/contracts/{id}/change-requests).
 * Only milestones without money attached can change (the server's CHANGEABLE states); the others
 * are shown and keep their place.
 */
export type Row = {
  /** Stable key for the list (the milestone id, or a generated one for a new row). */
  key: string;
  id: string | null;
  title: string;
  /** As typed, in major units ("1,500.00"). */
  amount: string;
  dueDate: string;
  description: string;
  /** Files attached (ids from POST /v1/files). */
  attachmentIds: string[];
  status: Milestone['status'] | 'new';
  locked: boolean;
  removed: boolean;
};

export type Operation =
  | { op: 'add'; milestone: { title: string; amount: number; dueDate: string; description?: string | null; attachmentIds?: string[] } }
  | { op: 'update'; milestoneId: string; changes: { title?: string; amount?: number; dueDate?: string; description?: string | null; attachmentIds?: string[] } }
  | { op: 'remove'; milestoneId: string }
  | { op: 'reorder'; milestoneIds: string[] };

const CHANGEABLE = new Set<string>(['proposed', 'accepted', 'in_progress']);
const GONE = new Set<string>(['declined', 'cancelled']);

const majorUnits = (minor: number, currency: string) => formatMoney(minor, currency).replace(/[^\d.,]/g, '');

export const liveMilestones = (list: readonly Milestone[]) =>
  list.filter((m) => !GONE.has(m.status)).sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));

export function rowsFrom(list: readonly Milestone[], currency: string): Row[] {
  return liveMilestones(list).map((m) => ({
    key: m.id,
    id: m.id,
    title: m.title,
    amount: majorUnits(m.amount, currency),
    dueDate: m.dueDate,
    description: m.description ?? '',
    attachmentIds: [...m.attachmentIds],
    status: m.status,
    locked: !CHANGEABLE.has(m.status),
    removed: false,
  }));
}

let counter = 0;
export const newRow = (): Row => ({ key: `new-${++counter}`, id: null, title: '', amount: '', dueDate: '', description: '', attachmentIds: [], status: 'new', locked: false, removed: false });

/**
 * The draft of a change request's "after" state, to counter-propose from it: its updates,
 * removals, order and additions applied to the current milestones.
 */
export function rowsFromChangeRequest(list: readonly Milestone[], cr: ChangeRequest, currency: string): Row[] {
  let rows = rowsFrom(list, currency);
  const added: Row[] = [];
  for (const d of cr.diff.milestones) {
    if (d.change === 'added' && d.after) {
      added.push({ ...newRow(), title: d.after.title, amount: majorUnits(d.after.amount, currency), dueDate: d.after.dueDate, description: d.after.description ?? '', attachmentIds: [...d.after.attachmentIds] });
      continue;
    }
    rows = rows.map((r) => {
      if (r.id !== d.milestoneId) return r;
      if (d.change === 'removed') return { ...r, removed: true };
      const a = d.after!;
      return { ...r, title: a.title, amount: majorUnits(a.amount, currency), dueDate: a.dueDate, description: a.description ?? '', attachmentIds: [...a.attachmentIds] };
    });
  }
  const position = new Map(cr.diff.milestones.filter((d) => d.after && d.milestoneId).map((d) => [d.milestoneId!, d.after!.position]));
  if (position.size) {
    // Milestones the request did not touch keep their place; moved ones take theirs.
    const kept = rows.filter((r) => !r.removed);
    const ordered: Row[] = new Array(kept.length);
    for (const r of kept) {
      const p = position.get(r.id!);
      if (p !== undefined && p >= 1 && p <= kept.length && !ordered[p - 1]) ordered[p - 1] = r;
    }
    const rest = kept.filter((r) => !ordered.includes(r));
    for (let i = 0; i < ordered.length; i++) if (!ordered[i]) ordered[i] = rest.shift()!;
    rows = [...ordered, ...rows.filter((r) => r.removed)];
  }
  return [...rows, ...added];
}

/**
 * Moves the row at `from` to `to` among the rows that may move: locked rows (funded and later)
 * keep their index, as the API requires.
 */
export function moveRow(rows: Row[], from: number, to: number): Row[] {
  const slots = rows.map((r, i) => (r.locked || r.id === null ? -1 : i)).filter((i) => i >= 0);
  const a = slots.indexOf(from);
  const b = slots.indexOf(to);
  if (a < 0 || b < 0 || a === b) return rows;
  const movable = slots.map((i) => rows[i]!);
  const [item] = movable.splice(a, 1);
  movable.splice(b, 0, item!);
  const next = [...rows];
  slots.forEach((i, k) => {
    next[i] = movable[k]!;
  });
  return next;
}

export type Planned = { operations: Operation[]; problems: string[] };

/** The change set that turns `original` into the draft, and what in the draft is not valid yet. */
export function toOperations(original: readonly Milestone[], rows: readonly Row[], currency: string): Planned {
  const problems: string[] = [];
  const ops: Operation[] = [];
  const before = new Map(original.map((m) => [m.id, m]));
  const amountOf = (r: Row, name: string) => {
    const minor = parseMoney(r.amount, currency);
    if (minor === null || minor <= 0) {
      problems.push(`${name}: enter an amount in ${currency} greater than zero, with at most ${decimals(currency)} decimals.`);
      return null;
    }
    return minor;
  };
  const check = (r: Row, name: string) => {
    if (!r.title.trim()) problems.push(`${name}: a title is required.`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(r.dueDate)) problems.push(`${name}: choose a due date.`);
  };

  for (const r of rows) {
    if (r.id === null || r.locked) continue;
    const m = before.get(r.id)!;
    if (r.removed) {
      ops.push({ op: 'remove', milestoneId: r.id });
      continue;
    }
    const name = `“${m.title}”`;
    check(r, name);
    const amount = amountOf(r, name);
    const changes: Extract<Operation, { op: 'update' }>['changes'] = {};
    if (r.title.trim() !== m.title) changes.title = r.title.trim();
    if (amount !== null && amount !== m.amount) changes.amount = amount;
    if (r.dueDate !== m.dueDate) changes.dueDate = r.dueDate;
    if (r.description.trim() !== (m.description ?? '')) changes.description = r.description.trim() || null;
    if (r.attachmentIds.join() !== m.attachmentIds.join()) changes.attachmentIds = r.attachmentIds;
    if (Object.keys(changes).length) ops.push({ op: 'update', milestoneId: r.id, changes });
  }

  const kept = rows.filter((r) => r.id !== null && !r.removed).map((r) => r.id!);
  const originalOrder = liveMilestones(original).map((m) => m.id).filter((id) => kept.includes(id));
  if (kept.join() !== originalOrder.join()) ops.push({ op: 'reorder', milestoneIds: kept });

  rows
    .filter((r) => r.id === null && !r.removed)
    .forEach((r, i) => {
      const name = r.title.trim() ? `New milestone “${r.title.trim()}”` : `New milestone ${i + 1}`;
      check(r, name);
      const amount = amountOf(r, name);
      if (amount !== null && r.title.trim()) {
        ops.push({ op: 'add', milestone: { title: r.title.trim(), amount, dueDate: r.dueDate, description: r.description.trim() || null, ...(r.attachmentIds.length && { attachmentIds: r.attachmentIds }) } });
      }
    });
  return { operations: ops, problems };
}
