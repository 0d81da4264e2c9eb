import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { useNotice } from '../../notice.tsx';
import { decimals, parseMoney } from '../../money.ts';
import { FileDrop } from '../files/FileDrop.tsx';
import type { UploadedFile } from '../files/upload.ts';
import { useContractView } from './contract-data.ts';

/** Adds one milestone (seed 000: title, deadline, amount; description and attachment optional). */
export function AddMilestone() {
  const { contract, other, run, busy, can } = useContractView();
  const notice = useNotice();
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState('');
  const [dueDate, setDueDate] = useState('');
  const [description, setDescription] = useState('');
  const [files, setFiles] = useState<UploadedFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const [round, setRound] = useState(0);
  const cur = contract.currency;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const minor = parseMoney(amount, cur);
    if (minor === null || minor <= 0) return notice.error(new Error(`Enter the amount in ${cur}, greater than zero, with at most ${decimals(cur)} decimals.`));
    const name = title.trim();
    const body = { title: name, amount: minor, dueDate, ...(description.trim() && { description: description.trim() }), ...(files.length && { attachmentIds: files.map((f) => f.id) }) };
    const added = await run(
      () => ok(tranche.POST('/v1/contracts/{id}/milestones', { params: { path: { id: contract.id } }, body })),
      can.needsAgreement ? `Milestone “${name}” proposed; the ${other} must accept it.` : `Milestone “${name}” added.`,
    );
    if (added) {
      setTitle('');
      setAmount('');
      setDueDate('');
      setDescription('');
      setFiles([]);
      setRound((r) => r + 1);
    }
  };

  return (
    <section aria-labelledby="add-title" className="card">
      <h2 id="add-title">Add a milestone</h2>
      {can.needsAgreement && <p className="muted small">The {other} is asked to accept it before it counts.</p>}
      <form className="stack" onSubmit={submit}>
        <label>
          Title
          <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <div className="row wrap">
          <label>
            Amount ({cur})
            <input required inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
          </label>
          <label>
            Due date
            <input required type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} />
          </label>
        </div>
        <label>
          Description (optional)
          <textarea rows={2} maxLength={5000} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <FileDrop
          key={round}
          label="Attachments (optional)"
          onChange={(f, u) => {
            setFiles(f);
            setUploading(u);
          }}
        />
        <div>
          <button type="submit" disabled={busy || uploading}>
            Add milestone
          </button>
        </div>
      </form>
    </section>
  );
}
