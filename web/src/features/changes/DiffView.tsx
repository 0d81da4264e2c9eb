import type { ChangeRequest, DiffSide } from '../../api.ts';
import { formatDate } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import './changes.css';

export type Diff = ChangeRequest['diff'];
type DiffRow = Diff['milestones'][number];

const CHANGE_WORDS: Record<DiffRow['change'], string> = { added: 'Added', updated: 'Changed', removed: 'Removed', moved: 'Moved' };

type Field = { label: string; before: string | null; after: string | null };

/** The fields of one row, before and after; for a change, only what changed (and the title to know which). */
function fields(row: DiffRow, currency: string): Field[] {
  const show = (s: DiffSide, f: 'title' | 'amount' | 'dueDate' | 'description' | 'position' | 'files'): string | null => {
    if (!s) return null;
    switch (f) {
      case 'title': return s.title;
      case 'amount': return formatMoney(s.amount, currency);
      case 'dueDate': return formatDate(s.dueDate);
      case 'description': return s.description || '—';
      case 'position': return `${s.position}`;
      case 'files': return `${s.attachmentIds.length} file${s.attachmentIds.length === 1 ? '' : 's'}`;
    }
  };
  const all: { key: 'title' | 'amount' | 'dueDate' | 'description' | 'position' | 'files'; label: string }[] = [
    { key: 'title', label: 'Title' },
    { key: 'amount', label: 'Amount' },
    { key: 'dueDate', label: 'Due' },
    { key: 'description', label: 'Description' },
    { key: 'files', label: 'Files' },
    { key: 'position', label: 'Position' },
  ];
  const filesDiffer = (row.before?.attachmentIds ?? []).join() !== (row.after?.attachmentIds ?? []).join();
  return all
    .map((f) => {
      const before = show(row.before, f.key);
      let after = show(row.after, f.key);
      // As many files as before, but other ones.
      if (f.key === 'files' && filesDiffer && before === after && row.before && row.after) after = `${after} (other files)`;
      return { label: f.label, before, after };
    })
    .filter((f) => (row.change === 'added' || row.change === 'removed' ? f.label !== 'Position' && (f.label !== 'Description' || (f.before ?? f.after) !== '—') && (f.label !== 'Files' || !/^0 /.test(f.before ?? f.after ?? '')) : f.before !== f.after));
}

/**
 * A change set's diff, readable on a phone: one card per milestone that changes, each field
 * before → after, and the total: what is agreed now and what it would be (`agreed` is the
 * agreed total before the change).
 */
export function DiffView({ diff, currency, label, agreed }: { diff: Diff; currency: string; label: string; agreed: number }) {
  const money = (n: number) => formatMoney(n, currency);
  const delta = diff.totalAfter - diff.totalBefore;
  return (
    <div className="diff-view">
      <p className="diff-total">
        Agreed total {money(agreed)} → proposed <strong>{money(agreed + delta)}</strong>
        {delta !== 0 && (
          <span className="muted">
            {' '}
            ({delta > 0 ? '+' : '−'}
            {money(Math.abs(delta))})
          </span>
        )}
      </p>
      {diff.milestones.length === 0 ? (
        <p className="muted">No milestone changes.</p>
      ) : (
        <ul className="diff-rows" aria-label={label}>
          {diff.milestones.map((row, i) => {
            const name = (row.after ?? row.before)?.title ?? 'Milestone';
            const list = fields(row, currency);
            const showTitle = row.change !== 'added' && row.change !== 'removed' && !list.some((f) => f.label === 'Title');
            return (
              <li key={`${row.milestoneId ?? 'new'}-${i}`} className={`diff-row d-${row.change}`}>
                <div className="row wrap">
                  <span className={`badge d-badge d-${row.change}`}>{CHANGE_WORDS[row.change]}</span>
                  {showTitle && <strong>{name}</strong>}
                </div>
                <dl>
                  {list.map((f) => (
                    <div key={f.label} className="diff-field">
                      <dt>{f.label}</dt>
                      <dd>
                        {row.change === 'added' ? (
                          <ins>{f.after}</ins>
                        ) : row.change === 'removed' ? (
                          <del>{f.before}</del>
                        ) : (
                          <>
                            <span className="sr-only">before: </span>
                            <del>{f.before}</del> <span aria-hidden="true">→</span> <span className="sr-only">after: </span>
                            <ins>{f.after}</ins>
                          </>
                        )}
                      </dd>
                    </div>
                  ))}
                </dl>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
