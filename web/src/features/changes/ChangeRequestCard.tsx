import { useState, type FormEvent } from 'react';
import type { ChangeRequest } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { formatTime } from '../../format.ts';
import { useContractView } from '../milestones/contract-data.ts';
import { Planner } from '../milestones/Planner.tsx';
import { DiffView } from './DiffView.tsx';

/**
 * An open change request: what it changes (each milestone before → after, the total before →
 * after), and the answers — the other party accepts, declines or modifies it (a counter-proposal
 * that replaces it); its author may withdraw it.
 */
export function ChangeRequestCard({ cr }: { cr: ChangeRequest }) {
  const { contract, role, run, busy } = useContractView();
  const [shown, setShown] = useState(true);
  const [answer, setAnswer] = useState<'decline' | 'modify' | null>(null);
  const [reason, setReason] = useState('');
  const mine = cr.authorRole === role;
  const id = { params: { path: { id: cr.id } } };
  const titleId = `cr-${cr.id}`;

  const decline = async (e: FormEvent) => {
    e.preventDefault();
    const r = reason.trim();
    if (await run(() => ok(tranche.POST('/v1/change-requests/{id}/decline', { ...id, body: r ? { reason: r } : {} })), 'The changes were declined.')) setAnswer(null);
  };

  return (
    <article className="card stack change-request" aria-labelledby={titleId}>
      <div className="row between wrap">
        <h3 id={titleId}>{mine ? 'Your proposed changes' : `Changes proposed by the ${cr.authorRole}`}</h3>
        <button type="button" className="link" aria-expanded={shown} onClick={() => setShown(!shown)}>
          {shown ? 'Hide changes' : 'Show changes'}
        </button>
      </div>
      <p className="muted small">
        Sent {formatTime(cr.createdAt)}. {mine ? `Waiting for the ${cr.authorRole === 'client' ? 'contractor' : 'client'} to answer.` : 'Nothing changes until you accept.'}
      </p>
      {cr.message && <blockquote className="cr-message">“{cr.message}”</blockquote>}
      {shown && <DiffView diff={cr.diff} currency={contract.currency} label="Proposed milestone changes" agreed={contract.overview?.total ?? cr.diff.totalBefore} />}
      {answer !== 'modify' && (
        <div className="row wrap">
          {!mine && (
            <>
              <button type="button" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/change-requests/{id}/accept', { ...id, body: {} })), 'The changes were accepted and applied.')}>
                Accept changes
              </button>
              <button type="button" className="secondary" disabled={busy} aria-expanded={answer === 'decline'} onClick={() => setAnswer(answer === 'decline' ? null : 'decline')}>
                Decline changes
              </button>
              <button type="button" className="secondary" disabled={busy} onClick={() => setAnswer('modify')}>
                Modify
              </button>
            </>
          )}
          {mine && (
            <button type="button" className="secondary" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/change-requests/{id}/withdraw', { ...id, body: {} })), 'Your changes were withdrawn.')}>
              Withdraw changes
            </button>
          )}
        </div>
      )}
      {answer === 'decline' && (
        <form className="inline-form stack" aria-label="Decline changes" onSubmit={decline}>
          <label>
            Reason (optional)
            <textarea rows={2} maxLength={2000} autoFocus value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row wrap">
            <button type="submit" disabled={busy}>
              Decline
            </button>
            <button type="button" className="link" onClick={() => setAnswer(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {answer === 'modify' && <Planner counter={cr} onClose={() => setAnswer(null)} />}
    </article>
  );
}
