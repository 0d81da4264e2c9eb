import { useState, type FormEvent } from 'react';
import type { Milestone } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { statusWord } from '../../app/words.ts';
import { formatDate, formatTime } from '../../format.ts';
import { useNotice } from '../../notice.tsx';
import { DisputeForm } from '../disputes/DisputeForm.tsx';
import { DisputePanel } from '../disputes/DisputePanel.tsx';
import { FileDrop } from '../files/FileDrop.tsx';
import { FileLinks } from '../files/FileLinks.tsx';
import type { UploadedFile } from '../files/upload.ts';
import { ApproveButton, ConfirmReleaseButton, FundButton, GiveBackButton, ReleaseForm, RemoveFundedButton } from '../money/MilestoneMoney.tsx';
import { useContractView } from './contract-data.ts';

type Form = 'submit' | 'reject' | 'decline' | 'release' | 'dispute' | null;

const DAY = 86_400_000;

/** One milestone: its terms, where it stands, its files, and what the viewer can do with it now. */
export function MilestoneCard({ m, next }: { m: Milestone; next: Milestone | null }) {
  const { contract, role, other, me, run, busy, can, money } = useContractView();
  const [form, setForm] = useState<Form>(null);
  const p = contract.policy;
  const id = { params: { path: { id: m.id } } };
  const titleId = `title-${m.id}`;
  const { live, open, escrow } = can;

  // A chargeback froze the escrow: nothing may move it until the client's bank decides.
  const held = !m.fundingPending && !m.escrowFrozen;
  const canAnswer = open && m.status === 'proposed' && m.proposedBy !== null && m.proposedBy !== role;
  const canFund = live && role === 'client' && escrow && m.status === 'accepted';
  const canSubmit = live && role === 'contractor' && (escrow ? m.status === 'funded' : m.status === 'accepted' || m.status === 'in_progress');
  // Four eyes (a company client): a first member's approval or release waits for a second member.
  const pending = m.status === 'approval_pending' ? m.pendingApproval : null;
  const secondMember = pending !== null && role === 'client' && pending.approvedBy !== me.id;
  const canApprove =
    live && role === 'client' && held &&
    ((secondMember && pending?.action === 'approve') ||
      m.status === 'submitted' || (!p.submissionRequired && (escrow ? m.status === 'funded' : m.status === 'accepted' || m.status === 'in_progress')));
  const canReject = live && role === 'client' && m.status === 'submitted';
  const canRelease = live && role === 'client' && escrow && (m.status === 'funded' || m.status === 'submitted') && held && m.inEscrow > 0;
  const canDispute = live && escrow && (m.status === 'funded' || m.status === 'submitted') && held;
  const canRemoveFunded = live && role === 'client' && escrow && p.deletableUntil === 'funded_unpaid' && m.status === 'funded' && held && m.inEscrow > 0;
  const canGiveBack = live && role === 'contractor' && escrow && (m.status === 'funded' || m.status === 'submitted') && held && m.inEscrow > 0;
  const autoApproveOn =
    m.status === 'submitted' && m.submission && p.reviewPeriodDays !== null ? new Date(Date.parse(m.submission.submittedAt) + p.reviewPeriodDays * DAY).toISOString() : null;

  const toggle = (f: Form) => setForm((cur) => (cur === f ? null : f));
  const closeIf = (done: boolean) => {
    if (done) setForm(null);
  };

  return (
    <article className="milestone card" aria-labelledby={titleId}>
      <div className="row between wrap">
        <h3 id={titleId}>{m.title}</h3>
        <span className={`badge s-${m.status}`}>{statusWord(m.status)}</span>
      </div>
      <p className="meta">
        <strong>{money(m.amount)}</strong> · due {formatDate(m.dueDate)}
        {m.inEscrow > 0 && <> · {money(m.inEscrow)} in escrow</>}
        {m.releasedAmount > 0 && m.status !== 'paid' && <> · {money(m.releasedAmount)} released</>}
        {m.status === 'paid' && m.releasedAmount < m.amount && <> · {money(m.releasedAmount)} paid; the other {money(m.amount - m.releasedAmount)} funded the next milestone or went back to the client</>}
        {m.refundedAmount > 0 && m.status !== 'paid' && <> · {money(m.refundedAmount)} refunded</>}
        {m.fundingPending && <> · the deposit is being processed</>}
      </p>
      {m.escrowFrozen && (
        <p className="frozen">
          The escrow of this milestone is frozen: the client’s bank is reviewing a chargeback on the card payment. Nothing can be released, refunded or
          disputed until the bank decides; both of you will be told.
        </p>
      )}
      {m.description && <p>{m.description}</p>}
      <FileLinks ids={m.attachmentIds} label={`Files of ${m.title}`} />
      {canAnswer && role === 'contractor' && escrow && p.fundingTrigger === 'on_acceptance' && (
        <p className="muted small">Accepting charges the client {money(m.amount)} and holds it in escrow: you can start at once.</p>
      )}
      {m.status === 'proposed' && m.proposedBy && (
        <p className="muted">
          Proposed by the {m.proposedBy}
          {m.proposedBy === role ? `; waiting for the ${other} to accept it.` : '.'}
        </p>
      )}
      {m.submission && (m.status === 'submitted' || m.status === 'approved' || m.status === 'paid') && (
        <div className="note">
          <p>
            <span className="muted">Submitted {formatTime(m.submission.submittedAt)}:</span> {m.submission.note ?? 'no note'}
          </p>
          <FileLinks ids={m.submission.attachmentIds} label={`Delivered files of ${m.title}`} />
        </div>
      )}
      {autoApproveOn && (
        <p className="muted auto-approve">
          {role === 'client' ? 'Review it by' : 'If the client does not review it, it is approved automatically on'} <time dateTime={autoApproveOn}>{formatTime(autoApproveOn)}</time>
          {role === 'client' ? '; after that it is approved automatically.' : '.'}
        </p>
      )}
      {m.lastRejectReason && (m.status === 'funded' || m.status === 'in_progress' || m.status === 'accepted') && (
        <p className="note warn">
          <span className="muted">Sent back:</span> {m.lastRejectReason}
        </p>
      )}
      {pending && (
        <p className="note warn">
          {pending.approvedBy === me.id ? 'You' : 'A member of the company'} {pending.action === 'approve' ? 'approved it' : `released ${money(pending.amount)}`} on {formatTime(pending.approvedAt)}.{' '}
          {secondMember ? `A second member must confirm it: ${pending.action === 'approve' ? 'approve it' : `release the same ${money(pending.amount)}`} to go ahead.` : 'Another member of the company must confirm it before anything moves.'}
        </p>
      )}
      {secondMember && pending?.action === 'release' && live && (
        <div className="row wrap actions">
          <ConfirmReleaseButton m={m} amount={pending.amount} />
        </div>
      )}
      {m.status === 'disputed' && <DisputePanel milestone={m} />}
      <div className="row wrap actions">
        {canAnswer && (
          <>
            <button type="button" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/milestones/{id}/accept', id)), `“${m.title}” was accepted.`)}>
              Accept
            </button>
            <button type="button" className="secondary" disabled={busy} aria-expanded={form === 'decline'} onClick={() => toggle('decline')}>
              Decline
            </button>
          </>
        )}
        {canFund && <FundButton m={m} />}
        {canSubmit && (
          <button type="button" disabled={busy} aria-expanded={form === 'submit'} onClick={() => toggle('submit')}>
            Submit work
          </button>
        )}
        {canApprove && <ApproveButton m={m} />}
        {canReject && (
          <button type="button" className="secondary" disabled={busy} aria-expanded={form === 'reject'} onClick={() => toggle('reject')}>
            Reject
          </button>
        )}
        {canRelease && (
          <button type="button" className="secondary" disabled={busy} aria-expanded={form === 'release'} onClick={() => toggle('release')}>
            Release part
          </button>
        )}
        {canGiveBack && <GiveBackButton m={m} />}
        {canRemoveFunded && <RemoveFundedButton m={m} />}
        {canDispute && (
          <button type="button" className="secondary" disabled={busy} aria-expanded={form === 'dispute'} onClick={() => toggle('dispute')}>
            Open a dispute
          </button>
        )}
      </div>
      {form === 'submit' && <SubmitForm m={m} onDone={closeIf} onCancel={() => setForm(null)} />}
      {(form === 'reject' || form === 'decline') && <ReasonForm kind={form} m={m} onDone={closeIf} onCancel={() => setForm(null)} />}
      {form === 'release' && <ReleaseForm m={m} next={next} onDone={closeIf} onCancel={() => setForm(null)} />}
      {form === 'dispute' && <DisputeForm m={m} onDone={closeIf} onCancel={() => setForm(null)} />}
    </article>
  );
}

type FormProps = { m: Milestone; onDone: (ok: boolean) => void; onCancel: () => void };

function SubmitForm({ m, onDone, onCancel }: FormProps) {
  const { run, busy } = useContractView();
  const [note, setNote] = useState('');
  const [files, setFiles] = useState<UploadedFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { ...(note.trim() && { note: note.trim() }), ...(files.length && { attachmentIds: files.map((f) => f.id) }) };
    onDone(await run(() => ok(tranche.POST('/v1/milestones/{id}/submit', { params: { path: { id: m.id } }, body })), `“${m.title}” was submitted for review.`));
  };
  return (
    <form className="inline-form stack" onSubmit={submit} aria-label={`Submit work: ${m.title}`}>
      <label>
        Note for the client
        <textarea rows={3} autoFocus value={note} onChange={(e) => setNote(e.target.value)} maxLength={5000} />
      </label>
      <FileDrop
        label="Deliverables"
        onChange={(f, u) => {
          setFiles(f);
          setUploading(u);
        }}
      />
      <div className="row wrap">
        <button type="submit" disabled={busy || uploading}>
          {uploading ? 'Uploading…' : 'Submit for review'}
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ReasonForm({ kind, m, onDone, onCancel }: FormProps & { kind: 'reject' | 'decline' }) {
  const { run, busy } = useContractView();
  const notice = useNotice();
  const [reason, setReason] = useState('');
  const reject = kind === 'reject';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = reason.trim();
    const id = { params: { path: { id: m.id } } };
    if (reject) {
      if (!r) return notice.error(new Error('Say why the work is sent back: a reason is required.'));
      onDone(await run(() => ok(tranche.POST('/v1/milestones/{id}/reject', { ...id, body: { reason: r } })), `“${m.title}” was sent back to the contractor.`));
    } else {
      onDone(await run(() => ok(tranche.POST('/v1/milestones/{id}/decline', { ...id, body: r ? { reason: r } : {} })), `“${m.title}” was declined.`));
    }
  };
  return (
    <form className="inline-form stack" onSubmit={submit} aria-label={`${reject ? 'Send back' : 'Decline milestone'}: ${m.title}`}>
      <label>
        {reject ? 'Reason for sending it back' : 'Reason (optional)'}
        <textarea rows={3} required={reject} autoFocus value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
      </label>
      <div className="row wrap">
        <button type="submit" disabled={busy}>
          {reject ? 'Send back' : 'Decline milestone'}
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
