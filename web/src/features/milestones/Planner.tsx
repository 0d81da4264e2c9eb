import { DndContext, KeyboardSensor, PointerSensor, closestCenter, useSensor, useSensors, type Announcements, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMemo, useRef, useState, type FormEvent } from 'react';
import type { ChangeRequest } from '../../api.ts';
import { ApiError } from '../../api.ts';
import { problemSentence, statusWord } from '../../app/words.ts';
import { formatDate } from '../../format.ts';
import { decimals, parseMoney } from '../../money.ts';
import { DiffView } from '../changes/DiffView.tsx';
import { FileDrop } from '../files/FileDrop.tsx';
import { FileLinks } from '../files/FileLinks.tsx';
import { counterChangeRequest, previewChangeSet, previewCounter, sendChangeSet, type Preview } from '../changes/change-api.ts';
import { useContractView } from './contract-data.ts';
import { moveRow, newRow, rowsFrom, rowsFromChangeRequest, toOperations, type Row } from './plan.ts';
import './milestones.css';

/**
 * "Manage milestones" (seed 001): edit, delete, add and reorder the milestones that have no money
 * attached yet, by drag and drop or with the keyboard, preview the changes ("show changes", a dry
 * run of the API), then save them — applied at once where the policy lets the author change alone,
 * otherwise sent to the other party as one change request. `counter` starts from another party's
 * change request and sends a counter-proposal that replaces it.
 */
export function Planner({ counter, onClose }: { counter?: ChangeRequest; onClose: () => void }) {
  const { contract, other, run, busy, can, money } = useContractView();
  const cur = contract.currency;
  const original = contract.milestones ?? [];
  const [rows, setRows] = useState<Row[]>(() => (counter ? rowsFromChangeRequest(original, counter, cur) : rowsFrom(original, cur)));
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [said, setSaid] = useState('');
  const movedOnce = useRef(false);
  const planned = useMemo(() => toOperations(original, rows, cur), [original, rows, cur]);
  const agreement = counter !== undefined || can.needsAgreement;

  const titleOf = (r: Row) => r.title.trim() || 'New milestone';
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
  const movable = rows.filter((r) => !r.locked && r.id !== null && !r.removed);
  const indexOf = (key: string) => rows.findIndex((r) => r.key === key);
  const nameOf = (key: string | number) => titleOf(rows[indexOf(String(key))] ?? newRow());
  const placeOf = (key: string | number) => movable.findIndex((r) => r.key === String(key)) + 1;

  const changed = (next: Row[]) => {
    setRows(next);
    setPreview(null);
    setPreviewError(null);
  };
  const move = (key: string, by: -1 | 1) => {
    const i = movable.findIndex((r) => r.key === key);
    const target = movable[i + by];
    if (!target) return;
    changed(moveRow(rows, indexOf(key), indexOf(target.key)));
    setSaid(`“${nameOf(key)}” moved to place ${i + by + 1} of ${movable.length}.`);
  };
  const onDragEnd = (e: DragEndEvent) => {
    if (!e.over || e.active.id === e.over.id) return;
    changed(moveRow(rows, indexOf(String(e.active.id)), indexOf(String(e.over.id))));
  };
  const announcements: Announcements = {
    onDragStart: ({ active }) => {
      movedOnce.current = false;
      return `Picked up “${nameOf(active.id)}”, place ${placeOf(active.id)} of ${movable.length}.`;
    },
    onDragOver: ({ active, over }) => {
      if (!over) return `“${nameOf(active.id)}” is not over a place.`;
      // Over its own place right after the pick-up: the pick-up announcement stays.
      if (over.id === active.id && !movedOnce.current) return undefined;
      movedOnce.current = true;
      return `“${nameOf(active.id)}” is over place ${placeOf(over.id)} of ${movable.length}.`;
    },
    onDragEnd: ({ active, over }) => (over ? `“${nameOf(active.id)}” dropped at place ${placeOf(over.id)} of ${movable.length}.` : `“${nameOf(active.id)}” dropped where it was.`),
    onDragCancel: ({ active }) => `Moving “${nameOf(active.id)}” was cancelled; it is back at place ${placeOf(active.id)}.`,
  };

  const update = (key: string, patch: Partial<Row>) => changed(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const remove = (r: Row) => {
    if (r.id === null) changed(rows.filter((x) => x.key !== r.key));
    else update(r.key, { removed: !r.removed });
    setSaid(r.removed ? `“${titleOf(r)}” is kept.` : `“${titleOf(r)}” will be removed.`);
  };
  const add = () => {
    const r = newRow();
    changed([...rows, r]);
    setEditing(r.key);
  };

  const showPreview = async () => {
    if (preview) return setPreview(null);
    if (planned.problems.length || planned.operations.length === 0) return;
    try {
      setPreview(await (counter ? previewCounter(counter.id, planned.operations) : previewChangeSet(contract.id, planned.operations)));
      setPreviewError(null);
    } catch (e) {
      setPreviewError(e instanceof ApiError ? problemSentence(e, { currency: cur }) : String(e));
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (planned.problems.length || planned.operations.length === 0) return;
    const msg = message.trim() || undefined;
    const done = await run(
      () => (counter ? counterChangeRequest(counter.id, planned.operations, msg) : sendChangeSet(contract.id, planned.operations, msg)),
      counter ? `Your counter-proposal was sent to the ${other}.` : agreement ? `Your changes were sent to the ${other} for approval.` : 'The milestones were saved.',
    );
    if (done) onClose();
  };

  const count = planned.operations.length;
  return (
    <section className="card planner" aria-labelledby="planner-title">
      <h2 id="planner-title">{counter ? 'Counter-proposal' : 'Manage milestones'}</h2>
      <p className="muted">
        {counter
          ? `Start from the ${counter.authorRole}’s proposal, change what you would do differently, and send it back: it replaces their proposal.`
          : agreement
            ? `Your changes are sent to the ${other} as one proposal; nothing changes until they accept it.`
            : 'Your changes apply as soon as you save them.'}{' '}
        Funded, submitted and paid milestones keep their place and cannot change.
      </p>
      <p className="sr-only" aria-live="polite">
        {said}
      </p>
      <form className="stack" onSubmit={save} aria-label={counter ? 'Counter-proposal' : 'Manage milestones'}>
        <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd} accessibility={{ announcements, screenReaderInstructions: { draggable: 'To move a milestone with the keyboard, press Space to pick it up, the arrow keys to move it, Space again to drop it, or Escape to cancel.' } }}>
          <SortableContext items={rows.map((r) => r.key)} strategy={verticalListSortingStrategy}>
            <ol className="plan-rows">
              {rows.map((r) => (
                <PlanRow
                  key={r.key}
                  row={r}
                  place={movable.findIndex((x) => x.key === r.key)}
                  count={movable.length}
                  editing={editing === r.key}
                  onEdit={() => setEditing(editing === r.key ? null : r.key)}
                  onChange={(patch) => update(r.key, patch)}
                  onRemove={() => remove(r)}
                  onMove={(by) => move(r.key, by)}
                  currency={cur}
                  money={money}
                />
              ))}
            </ol>
          </SortableContext>
        </DndContext>
        {can.mayCreate && (
          <div>
            <button type="button" className="secondary" onClick={add}>
              Add a milestone to the plan
            </button>
          </div>
        )}
        {agreement && (
          <label>
            Message to the {other} (optional)
            <textarea rows={2} maxLength={2000} value={message} onChange={(e) => setMessage(e.target.value)} />
          </label>
        )}
        {planned.problems.length > 0 && (
          <ul className="plan-problems" aria-label="To fix before saving">
            {planned.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        <div className="row wrap">
          <button type="button" className="secondary" aria-expanded={preview !== null} disabled={count === 0 || planned.problems.length > 0} onClick={showPreview}>
            {preview ? 'Hide changes' : 'Show changes'}
          </button>
          <button type="submit" disabled={busy || count === 0 || planned.problems.length > 0}>
            {counter ? 'Send counter-proposal' : agreement ? `Send changes to the ${other}` : 'Save changes'}
          </button>
          <button type="button" className="link" onClick={onClose}>
            Cancel
          </button>
          <span className="muted small">{count === 0 ? 'No changes yet.' : `${count} change${count === 1 ? '' : 's'} planned.`}</span>
        </div>
        {previewError && <p role="alert" className="field-problem">{previewError}</p>}
        {preview && (
          <section aria-label="Preview of your changes" className="preview stack">
            <p className="muted">{preview.mode === 'direct' ? 'Saving applies these changes at once.' : `Nothing changes until the ${other} accepts.`}</p>
            <DiffView diff={preview.diff} currency={cur} label="Changes in your plan" agreed={contract.overview?.total ?? preview.agreedBefore} />
          </section>
        )}
      </form>
    </section>
  );
}

function PlanRow(props: {
  row: Row;
  place: number;
  count: number;
  editing: boolean;
  onEdit: () => void;
  onChange: (patch: Partial<Row>) => void;
  onRemove: () => void;
  onMove: (by: -1 | 1) => void;
  currency: string;
  money: (n: number) => string;
}) {
  const { row: r, place, count, currency: cur } = props;
  const sortable = !r.locked && r.id !== null && !r.removed;
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id: r.key, disabled: !sortable });
  const name = r.title.trim() || 'New milestone';
  const minor = parseMoney(r.amount, cur);
  const style = { transform: CSS.Transform.toString(transform), transition };
  return (
    <li ref={setNodeRef} style={style} className={`plan-row${r.locked ? ' locked' : ''}${r.removed ? ' removed' : ''}${isDragging ? ' dragging' : ''}`} aria-label={name}>
      <div className="plan-line">
        {sortable ? (
          <button type="button" className="handle" ref={setActivatorNodeRef} {...attributes} {...listeners} aria-label={`Drag to reorder “${name}”`}>
            <span aria-hidden="true">⋮⋮</span>
          </button>
        ) : (
          <span className="handle-space" aria-hidden="true" />
        )}
        <div className="plan-summary">
          <strong>{r.removed ? <del>{name}</del> : name}</strong>
          <span className="muted small">
            {minor !== null ? props.money(minor) : r.amount || 'no amount'} · {r.dueDate ? `due ${formatDate(r.dueDate)}` : 'no due date'}
            {r.status === 'new' ? ' · new' : ` · ${statusWord(r.status)}`}
            {r.removed && ' · will be removed'}
          </span>
        </div>
        {!r.locked && (
          <div className="plan-tools">
            {sortable && (
              <>
                <button type="button" className="icon" disabled={place <= 0} onClick={() => props.onMove(-1)} aria-label={`Move “${name}” up`}>
                  <span aria-hidden="true">↑</span>
                </button>
                <button type="button" className="icon" disabled={place < 0 || place >= count - 1} onClick={() => props.onMove(1)} aria-label={`Move “${name}” down`}>
                  <span aria-hidden="true">↓</span>
                </button>
              </>
            )}
            {!r.removed && (
              <button type="button" className="icon" aria-expanded={props.editing} onClick={props.onEdit} aria-label={`Edit “${name}”`}>
                <span aria-hidden="true">✎</span>
              </button>
            )}
            <button type="button" className="icon" onClick={props.onRemove} aria-label={r.removed ? `Keep “${name}”` : `Remove “${name}”`}>
              <span aria-hidden="true">{r.removed ? '↺' : '✕'}</span>
            </button>
          </div>
        )}
      </div>
      {props.editing && !r.removed && !r.locked && (
        <fieldset className="plan-edit">
          <legend className="sr-only">Edit {name}</legend>
          <label>
            Title
            <input required maxLength={200} value={r.title} onChange={(e) => props.onChange({ title: e.target.value })} autoFocus />
          </label>
          <div className="row wrap">
            <label>
              Amount ({cur})
              <input inputMode="decimal" value={r.amount} onChange={(e) => props.onChange({ amount: e.target.value })} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
            </label>
            <label>
              Due date
              <input type="date" value={r.dueDate} onChange={(e) => props.onChange({ dueDate: e.target.value })} />
            </label>
          </div>
          <label>
            Description (optional)
            <textarea rows={2} maxLength={5000} value={r.description} onChange={(e) => props.onChange({ description: e.target.value })} />
          </label>
          <AttachedFiles row={r} onChange={props.onChange} />
        </fieldset>
      )}
    </li>
  );
}

/** The row's files: those attached already (each can be taken off) and new ones dropped here. */
function AttachedFiles({ row: r, onChange }: { row: Row; onChange: (patch: Partial<Row>) => void }) {
  // The ids attached before this edit; what FileDrop uploads is added to them.
  const [kept, setKept] = useState(r.attachmentIds);
  const [added, setAdded] = useState<string[]>([]);
  const update = (k: string[], a: string[]) => onChange({ attachmentIds: [...k, ...a.filter((id) => !k.includes(id))] });
  return (
    <div className="stack">
      {kept.length > 0 && (
        <ul className="file-links" aria-label="Attached files">
          {kept.map((id) => (
            <li key={id} className="row wrap">
              <FileLinks ids={[id]} label="File" />
              <button
                type="button"
                className="link"
                onClick={() => {
                  const k = kept.filter((x) => x !== id);
                  setKept(k);
                  update(k, added);
                }}
              >
                Take off
              </button>
            </li>
          ))}
        </ul>
      )}
      <FileDrop
        label="Attach files to this milestone"
        onChange={(files) => {
          const a = files.map((f) => f.id);
          setAdded(a);
          update(kept, a);
        }}
      />
    </div>
  );
}
