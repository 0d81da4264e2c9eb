import { useState, type FormEvent } from 'react';
import type { Milestone } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { formatTime } from '../../format.ts';
import { FileDrop } from '../files/FileDrop.tsx';
import type { UploadedFile } from '../files/upload.ts';
import { useContractView } from '../milestones/contract-data.ts';
import { defaultOutcome } from './outcome.ts';
import './disputes.css';

const DAY = 86_400_000;

/** Opens a dispute on a funded or submitted milestone: the reason, evidence, and what silence would lead to. */
export function DisputeForm({ m, onDone, onCancel }: { m: Milestone; onDone: (ok: boolean) => void; onCancel: () => void }) {
  const { contract, role, other, run, busy, money } = useContractView();
  const [reason, setReason] = useState('');
  const [files, setFiles] = useState<UploadedFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const days = contract.policy.disputeResponseDays;
  const by = new Date(Date.now() + days * DAY).toISOString();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { reason: reason.trim(), ...(files.length && { evidenceIds: files.map((f) => f.id) }) };
    onDone(await run(() => ok(tranche.POST('/v1/milestones/{id}/dispute', { params: { path: { id: m.id } }, body })), `A dispute on “${m.title}” is open; the ${other} has ${days} days to answer.`));
  };
  return (
    <form className="inline-form stack dispute-form" onSubmit={submit} aria-label={`Open a dispute: ${m.title}`}>
      <p className="muted small">
        The {money(m.inEscrow)} in escrow is frozen while the dispute is open. The {other} has {days} days to answer (until about {formatTime(by)}).{' '}
        {defaultOutcome(contract.policy.disputeDefaultOutcome, role, role, m.inEscrow, money)}
      </p>
      <label>
        Reason
        <textarea rows={3} required autoFocus maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <FileDrop
        label="Evidence"
        onChange={(f, u) => {
          setFiles(f);
          setUploading(u);
        }}
      />
      <div className="row wrap">
        <button type="submit" disabled={busy || uploading || !reason.trim()}>
          Open the dispute
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
