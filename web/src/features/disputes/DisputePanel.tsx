import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { Milestone } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { keys } from '../../app/query.ts';
import { statusWord } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { FileDrop } from '../files/FileDrop.tsx';
import { FileLinks } from '../files/FileLinks.tsx';
import type { UploadedFile } from '../files/upload.ts';
import { useActivity, useContractView } from '../milestones/contract-data.ts';
import { defaultOutcome } from './outcome.ts';
import './disputes.css';

/**
 * The dispute on a disputed milestone: reason, evidence, the deadline to answer and what silence
 * leads to; the other party answers here. The dispute is found through the contract's activity
 * (`dispute.opened` names it), which the page has loaded anyway.
 */
export function DisputePanel({ milestone: m }: { milestone: Milestone }) {
  const { contract, role, money } = useContractView();
  const activity = useActivity(contract.id);
  const opened = activity.data?.find((a) => a.kind === 'dispute.opened' && a.milestoneId === m.id);
  const disputeId = typeof opened?.data.disputeId === 'string' ? opened.data.disputeId : null;
  const dispute = useQuery({
    queryKey: keys.contractPart(contract.id, 'dispute', { id: disputeId }),
    queryFn: () => ok(tranche.GET('/v1/disputes/{id}', { params: { path: { id: disputeId! } } })),
    enabled: disputeId !== null,
  });
  const d = dispute.data;
  if (!d) return <p className="muted">{dispute.isError ? 'The dispute could not be loaded.' : 'Loading the dispute…'}</p>;
  const mine = d.openerRole === role;
  const late = Date.parse(d.respondBy) <= Date.now();
  return (
    <section className="dispute" aria-label={`Dispute on ${m.title}`}>
      <h4>
        Dispute <span className={`badge s-${d.status === 'resolved' ? 'paid' : 'disputed'}`}>{statusWord(d.status)}</span>
      </h4>
      <p>
        <span className="muted">Opened by {mine ? 'you' : `the ${d.openerRole}`} on {formatTime(d.createdAt)}:</span> {d.reason}
      </p>
      <FileLinks ids={d.evidenceIds} label="Evidence" />
      {d.status === 'open' && (
        <>
          <p className="deadline">
            {mine ? `The ${d.openerRole === 'client' ? 'contractor' : 'client'} has` : 'You have'} until <time dateTime={d.respondBy}>{formatTime(d.respondBy)}</time> to answer.
          </p>
          <p className="muted small">{defaultOutcome(contract.policy.disputeDefaultOutcome, d.openerRole, role, m.inEscrow, money)}</p>
        </>
      )}
      {d.response && (
        <div className="note">
          <p>
            <span className="muted">Answer of the {d.openerRole === 'client' ? 'contractor' : 'client'} ({formatTime(d.response.respondedAt)}):</span> {d.response.message}
          </p>
          <FileLinks ids={d.response.attachmentIds} label="Files with the answer" />
          {d.status === 'responded' && <p className="muted small">The platform now decides how the escrow is split.</p>}
        </div>
      )}
      {d.resolution && (
        <p>
          Resolved: {money(d.resolution.releaseAmount)} released to the contractor, {money(d.resolution.refundAmount)} refunded to the client.
        </p>
      )}
      {!mine && d.status === 'open' && !late && <AnswerForm disputeId={d.id} title={m.title} />}
    </section>
  );
}

function AnswerForm({ disputeId, title }: { disputeId: string; title: string }) {
  const { run, busy } = useContractView();
  const [message, setMessage] = useState('');
  const [files, setFiles] = useState<UploadedFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { message: message.trim(), ...(files.length && { attachmentIds: files.map((f) => f.id) }) };
    if (await run(() => ok(tranche.POST('/v1/disputes/{id}/respond', { params: { path: { id: disputeId } }, body })), `Your answer on “${title}” was sent.`)) setMessage('');
  };
  return (
    <form className="stack" onSubmit={submit} aria-label={`Answer the dispute: ${title}`}>
      <label>
        Your answer
        <textarea rows={3} required maxLength={5000} value={message} onChange={(e) => setMessage(e.target.value)} />
      </label>
      <FileDrop
        label="Files with your answer"
        onChange={(f, u) => {
          setFiles(f);
          setUploading(u);
        }}
      />
      <div>
        <button type="submit" disabled={busy || uploading || !message.trim()}>
          Send the answer
        </button>
      </div>
    </form>
  );
}
