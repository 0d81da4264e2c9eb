import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type Activity, type ChangeRequest, type Contract, type DiffSide, type Milestone, type Page, type User } from '../api.ts';
import { link } from '../router.ts';
import { formatDate, formatTime, statusLabel } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { decimals, formatMoney, parseMoney } from '../money.ts';
import { useNotice } from '../notice.tsx';
import { HourlyPanel } from '../features/hourly/HourlyPanel.tsx';
import { ChatPanel } from '../features/chat/ChatPanel.tsx';
import { useLiveReload } from '../features/live/live.tsx';

type Role = 'client' | 'contractor';
type Data = { contract: Contract; pending: Milestone[]; approved: Milestone[]; changeRequests: ChangeRequest[]; activity: Activity[] };
type Run = (action: () => Promise<unknown>, success: string) => Promise<boolean>;

export function ContractPage({ id, me, onUnauthenticated }: { id: string; me: User; onUnauthenticated: () => void }) {
  const notice = useNotice();
  const [busy, setBusy] = useState(false);
  const { data, reload, loading } = useLoad(async (): Promise<Data> => {
    const base = `/v1/contracts/${encodeURIComponent(id)}`;
    const [contract, pending, approved, open, activity] = await Promise.all([
      api.get<Contract>(base),
      api.get<Page<Milestone>>(`${base}/milestones?section=pending`),
      api.get<Page<Milestone>>(`${base}/milestones?section=approved`),
      api.get<Page<ChangeRequest>>(`${base}/change-requests?status=open`),
      api.get<Page<Activity>>(`${base}/activity?limit=100`),
    ]);
    const changeRequests = await Promise.all(open.data.map((cr) => api.get<ChangeRequest>(`/v1/change-requests/${cr.id}`)));
    return { contract, pending: pending.data, approved: approved.data, changeRequests, activity: activity.data };
  }, onUnauthenticated);
  // Whatever either party does on this contract shows here as it happens.
  useLiveReload(reload, (e) => e.type === 'activity' && e.activity.contractId === id);

  const run: Run = async (action, success) => {
    setBusy(true);
    try {
      await action();
      notice.info(success);
      await reload();
      return true;
    } catch (e) {
      notice.error(e);
      await reload();
      return false;
    } finally {
      setBusy(false);
    }
  };

  if (!data) {
    return (
      <p aria-busy={loading}>
        {loading ? 'Loading contract…' : 'This contract could not be loaded.'}{' '}
        <a href="/" onClick={link('/')}>
          Back to contracts
        </a>
      </p>
    );
  }

  const { contract } = data;
  const role: Role = contract.clientId === me.id ? 'client' : 'contractor';
  const other: Role = role === 'client' ? 'contractor' : 'client';
  const open = contract.status === 'proposal' || contract.status === 'active';
  const mayAdd = open && contract.type === 'fixed' && (contract.policy.milestoneCreators === 'both' || contract.policy.milestoneCreators === role);
  const cur = contract.currency;

  return (
    <div className="stack-lg" aria-busy={busy || loading}>
      <nav aria-label="Breadcrumb" className="muted">
        <a href="/" onClick={link('/')}>
          Contracts
        </a>{' '}
        / {contract.title}
      </nav>
      <div className="row between wrap">
        <div>
          <h1>{contract.title}</h1>
          <p className="muted">
            You are the <strong>{role}</strong> · <span className={`badge s-${contract.status}`}>{statusLabel(contract.status)}</span> · {contract.type} · {cur} ·
            policy {contract.policy.preset.replace(/_/g, ' ')}
          </p>
          {contract.description && <p>{contract.description}</p>}
        </div>
        <div className="row">
          {contract.status === 'proposal' && contract.createdBy !== me.id && (
            <button type="button" disabled={busy} onClick={() => run(() => api.post(`/v1/contracts/${contract.id}/activate`), 'The contract is active.')}>
              Accept contract
            </button>
          )}
          {contract.status === 'proposal' && contract.createdBy === me.id && (
            <button type="button" className="secondary" disabled={busy} onClick={() => run(() => api.post(`/v1/contracts/${contract.id}/withdraw`), 'The proposal was withdrawn.')}>
              Withdraw proposal
            </button>
          )}
          {contract.status === 'proposal' && contract.createdBy !== me.id && (
            <button type="button" className="secondary" disabled={busy} onClick={() => run(() => api.post(`/v1/contracts/${contract.id}/decline`), 'The proposal was declined.')}>
              Decline proposal
            </button>
          )}
        </div>
      </div>

      {contract.overview && (
        <section aria-labelledby="overview-title" className="card">
          <h2 id="overview-title">Payment overview</h2>
          <dl className="overview">
            <Figure label="Total" value={formatMoney(contract.overview.total, cur)} />
            <Figure label="In escrow" value={formatMoney(contract.overview.inEscrow, cur)} />
            <Figure label="Paid" value={formatMoney(contract.overview.paid, cur)} />
            <Figure label="Remaining" value={formatMoney(contract.overview.remaining, cur)} />
          </dl>
        </section>
      )}

      {data.changeRequests.length > 0 && (
        <section aria-labelledby="cr-title">
          <h2 id="cr-title">Proposed changes</h2>
          {data.changeRequests.map((cr) => (
            <ChangeRequestCard key={cr.id} cr={cr} role={role} currency={cur} busy={busy} run={run} />
          ))}
        </section>
      )}

      {contract.type === 'hourly' && <HourlyPanel contract={contract} role={role} onChanged={reload} onUnauthenticated={onUnauthenticated} />}

      <div className="columns">
        <div className="stack-lg">
          <MilestoneList title="Pending" empty="No pending milestones." milestones={data.pending} contract={contract} role={role} busy={busy} run={run} />
          <MilestoneList title="Approved" empty="No approved milestones yet." milestones={data.approved} contract={contract} role={role} busy={busy} run={run} />
          {mayAdd && data.changeRequests.length === 0 && <AddMilestone contract={contract} other={other} busy={busy} run={run} />}
          {mayAdd && data.changeRequests.length > 0 && <p className="muted">Milestones can be added again once the proposed changes are answered.</p>}
        </div>
        <div className="stack-lg">
        <ChatPanel contract={contract} me={me} onUnauthenticated={onUnauthenticated} />
        <section aria-labelledby="activity-title" className="card">
          <h2 id="activity-title">Activity</h2>
          {data.activity.length === 0 ? (
            <p className="muted">Nothing happened yet.</p>
          ) : (
            <ol className="timeline">
              {data.activity.map((a) => (
                <li key={a.id}>
                  <time dateTime={a.createdAt}>{formatTime(a.createdAt)}</time>
                  <span>{describeActivity(a, role, cur)}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
        </div>
      </div>
    </div>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function MilestoneList(props: { title: string; empty: string; milestones: Milestone[]; contract: Contract; role: Role; busy: boolean; run: Run }) {
  const headingId = `ms-${props.title.toLowerCase()}`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>
        {props.title} <span className="count">{props.milestones.length}</span>
      </h2>
      {props.milestones.length === 0 ? (
        <p className="muted">{props.empty}</p>
      ) : (
        <ul className="milestones">
          {props.milestones.map((m) => (
            <li key={m.id}>
              <MilestoneCard m={m} contract={props.contract} role={props.role} busy={props.busy} run={props.run} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

type Form = 'submit' | 'reject' | 'release' | 'decline' | null;

function MilestoneCard({ m, contract, role, busy, run }: { m: Milestone; contract: Contract; role: Role; busy: boolean; run: Run }) {
  const [form, setForm] = useState<Form>(null);
  const [text, setText] = useState('');
  const notice = useNotice();
  const cur = contract.currency;
  const escrow = contract.policy.escrow === 'required';
  const live = contract.status === 'active';
  const open = live || contract.status === 'proposal';
  const url = `/v1/milestones/${m.id}`;
  const titleId = `title-${m.id}`;

  const canAnswer = open && m.status === 'proposed' && m.proposedBy !== null && m.proposedBy !== role;
  const canFund = live && role === 'client' && escrow && m.status === 'accepted';
  const canSubmit = live && role === 'contractor' && (escrow ? m.status === 'funded' : m.status === 'accepted' || m.status === 'in_progress');
  const canApprove =
    live && role === 'client' && !m.fundingPending &&
    (m.status === 'submitted' || (!contract.policy.submissionRequired && (escrow ? m.status === 'funded' : m.status === 'accepted' || m.status === 'in_progress')));
  const canReject = live && role === 'client' && m.status === 'submitted';
  const canRelease = live && role === 'client' && escrow && (m.status === 'funded' || m.status === 'submitted') && !m.fundingPending && m.inEscrow > 0;

  const openForm = (f: Form) => {
    setForm(f);
    setText('');
  };
  const done = (ok: boolean) => {
    if (ok) setForm(null);
  };

  const onForm = async (e: FormEvent) => {
    e.preventDefault();
    if (form === 'submit') done(await run(() => api.post(`${url}/submit`, text.trim() ? { note: text.trim() } : {}), `“${m.title}” was submitted for review.`));
    else if (form === 'reject') {
      if (!text.trim()) return notice.error(new Error('Say why the work is sent back: a reason is required.'));
      done(await run(() => api.post(`${url}/reject`, { reason: text.trim() }), `“${m.title}” was sent back to the contractor.`));
    } else if (form === 'decline') done(await run(() => api.post(`${url}/decline`, text.trim() ? { reason: text.trim() } : {}), `“${m.title}” was declined.`));
    else if (form === 'release') {
      const amount = parseMoney(text, cur);
      if (amount === null || amount <= 0) {
        return notice.error(new Error(`Enter an amount in ${cur} with at most ${decimals(cur)} decimals.`));
      }
      done(await run(() => api.post(`${url}/release`, { amount }), `${formatMoney(amount, cur)} was released for “${m.title}”.`));
    }
  };

  const formLabel = { submit: 'Note for the client', reject: 'Reason for sending it back', decline: 'Reason (optional)', release: `Amount to release (${cur})` };
  const formButton = { submit: 'Submit for review', reject: 'Send back', decline: 'Decline milestone', release: 'Release' };

  return (
    <article className="milestone card" aria-labelledby={titleId}>
      <div className="row between wrap">
        <h3 id={titleId}>{m.title}</h3>
        <span className={`badge s-${m.status}`}>{statusLabel(m.status)}</span>
      </div>
      <p className="meta">
        <strong>{formatMoney(m.amount, cur)}</strong> · due {formatDate(m.dueDate)}
        {m.inEscrow > 0 && <> · {formatMoney(m.inEscrow, cur)} in escrow</>}
        {m.releasedAmount > 0 && m.status !== 'paid' && <> · {formatMoney(m.releasedAmount, cur)} released</>}
        {m.fundingPending && <> · payment settling</>}
      </p>
      {m.description && <p>{m.description}</p>}
      {m.status === 'proposed' && m.proposedBy && <p className="muted">Proposed by the {m.proposedBy}{m.proposedBy === role ? '; waiting for the other party.' : '.'}</p>}
      {m.submission && (m.status === 'submitted' || m.status === 'approved' || m.status === 'paid') && (
        <p className="note">
          <span className="muted">Submitted {formatTime(m.submission.submittedAt)}:</span> {m.submission.note ?? 'no note'}
        </p>
      )}
      {m.lastRejectReason && (m.status === 'funded' || m.status === 'in_progress') && (
        <p className="note warn">
          <span className="muted">Sent back:</span> {m.lastRejectReason}
        </p>
      )}
      <div className="row wrap actions">
        {canAnswer && (
          <>
            <button type="button" disabled={busy} onClick={() => run(() => api.post(`${url}/accept`), `“${m.title}” was accepted.`)}>
              Accept
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => openForm('decline')}>
              Decline
            </button>
          </>
        )}
        {canFund && (
          <button type="button" disabled={busy} onClick={() => run(() => api.post(`${url}/fund`), `${formatMoney(m.amount, cur)} is held in escrow for “${m.title}”.`)}>
            Fund {formatMoney(m.amount, cur)}
          </button>
        )}
        {canSubmit && (
          <button type="button" disabled={busy} onClick={() => openForm('submit')}>
            Submit work
          </button>
        )}
        {canApprove && (
          <button type="button" disabled={busy} onClick={() => run(() => api.post(`${url}/approve`), `“${m.title}” was approved.`)}>
            Approve
          </button>
        )}
        {canReject && (
          <button type="button" className="secondary" disabled={busy} onClick={() => openForm('reject')}>
            Reject
          </button>
        )}
        {canRelease && (
          <button type="button" className="secondary" disabled={busy} onClick={() => openForm('release')}>
            Release part
          </button>
        )}
      </div>
      {form && (
        <form className="inline-form stack" onSubmit={onForm} aria-label={`${formButton[form]}: ${m.title}`}>
          <label>
            {formLabel[form]}
            {form === 'release' ? (
              <input inputMode="decimal" required autoFocus value={text} onChange={(e) => setText(e.target.value)} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
            ) : (
              <textarea rows={3} required={form === 'reject'} autoFocus value={text} onChange={(e) => setText(e.target.value)} maxLength={form === 'submit' ? 5000 : 2000} />
            )}
          </label>
          <div className="row">
            <button type="submit" disabled={busy}>
              {formButton[form]}
            </button>
            <button type="button" className="link" onClick={() => setForm(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </article>
  );
}

function AddMilestone({ contract, other, busy, run }: { contract: Contract; other: Role; busy: boolean; run: Run }) {
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState('');
  const [dueDate, setDueDate] = useState('');
  const [description, setDescription] = useState('');
  const notice = useNotice();
  const cur = contract.currency;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const minor = parseMoney(amount, cur);
    if (minor === null || minor <= 0) return notice.error(new Error(`Enter the amount in ${cur} with at most ${decimals(cur)} decimals.`));
    let status = '';
    const ok = await run(async () => {
      const m = await api.post<Milestone>(`/v1/contracts/${contract.id}/milestones`, { title: title.trim(), amount: minor, dueDate, description: description.trim() || undefined });
      status = m.status;
    }, `Milestone “${title.trim()}” added.`);
    if (ok) {
      if (status === 'proposed') notice.info(`Milestone “${title.trim()}” proposed; the ${other} must accept it.`);
      setTitle('');
      setAmount('');
      setDueDate('');
      setDescription('');
    }
  };

  return (
    <section aria-labelledby="add-title" className="card">
      <h2 id="add-title">Add a milestone</h2>
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
        <div>
          <button type="submit" disabled={busy}>
            Add milestone
          </button>
        </div>
      </form>
    </section>
  );
}

function ChangeRequestCard({ cr, role, currency, busy, run }: { cr: ChangeRequest; role: Role; currency: string; busy: boolean; run: Run }) {
  const [shown, setShown] = useState(true);
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState('');
  const mine = cr.authorRole === role;
  const money = (n: number) => formatMoney(n, currency);
  const side = (s: DiffSide): ReactNode =>
    s ? (
      <>
        <strong>{s.title}</strong>
        <br />
        {money(s.amount)} · due {formatDate(s.dueDate)} · #{s.position}
        {s.description && (
          <>
            <br />
            <span className="muted">{s.description}</span>
          </>
        )}
      </>
    ) : (
      <span className="muted">—</span>
    );
  const id = `cr-${cr.id}`;
  return (
    <article className="card stack" aria-labelledby={id}>
      <div className="row between wrap">
        <h3 id={id}>{mine ? 'Your proposed changes' : `Changes proposed by the ${cr.authorRole}`}</h3>
        <button type="button" className="link" aria-expanded={shown} onClick={() => setShown(!shown)}>
          {shown ? 'Hide changes' : 'Show changes'}
        </button>
      </div>
      {cr.message && <p>“{cr.message}”</p>}
      <p>
        Contract total: {money(cr.diff.totalBefore)} → <strong>{money(cr.diff.totalAfter)}</strong>
      </p>
      {shown && (
        <table className="table diff">
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {cr.diff.milestones.map((d, i) => (
              <tr key={`${d.milestoneId ?? 'new'}-${i}`} className={`d-${d.change}`}>
                <td>{d.change}</td>
                <td>{side(d.before)}</td>
                <td>{side(d.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row wrap">
        {!mine && (
          <>
            <button type="button" disabled={busy} onClick={() => run(() => api.post(`/v1/change-requests/${cr.id}/accept`), 'The changes were accepted and applied.')}>
              Accept changes
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => setDeclining(true)}>
              Decline changes
            </button>
          </>
        )}
        {mine && (
          <button type="button" className="secondary" disabled={busy} onClick={() => run(() => api.post(`/v1/change-requests/${cr.id}/withdraw`), 'Your changes were withdrawn.')}>
            Withdraw changes
          </button>
        )}
      </div>
      {declining && (
        <form
          className="inline-form stack"
          aria-label="Decline changes"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await run(() => api.post(`/v1/change-requests/${cr.id}/decline`, reason.trim() ? { reason: reason.trim() } : {}), 'The changes were declined.')) setDeclining(false);
          }}
        >
          <label>
            Reason (optional)
            <textarea rows={2} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" disabled={busy}>
              Decline
            </button>
            <button type="button" className="link" onClick={() => setDeclining(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </article>
  );
}

/** One readable line per activity entry; amounts are formatted from minor units. */
export function describeActivity(a: Activity, viewer: Role, currency: string): string {
  const who = a.actorRole === viewer ? 'You' : a.actorRole === 'system' ? 'Tranche' : a.actorRole === 'admin' ? 'The platform admin' : `The ${a.actorRole}`;
  const d = a.data;
  const title = typeof d.title === 'string' ? `“${d.title}”` : 'a milestone';
  const cur = typeof d.currency === 'string' ? d.currency : currency;
  const amount = typeof d.amount === 'number' ? formatMoney(d.amount, cur) : '';
  const reason = typeof d.reason === 'string' && d.reason ? `: ${d.reason}` : '';
  switch (a.kind) {
    case 'contract.created': return `${who} proposed the contract`;
    case 'contract.activated': return `${who} activated the contract`;
    case 'contract.withdrawn': return `${who} withdrew the proposal`;
    case 'contract.declined': return `${who} declined the proposal`;
    case 'contract.closed': return `${who} closed the contract`;
    case 'milestone.added': return `${who} added ${title} (${amount})${d.status === 'proposed' ? ', waiting for acceptance' : ''}`;
    case 'milestone.updated': return `${who} changed ${title}`;
    case 'milestone.deleted': return `${who} removed ${title}`;
    case 'milestone.accepted': return `${who} accepted ${title}`;
    case 'milestone.declined': return `${who} declined ${title}${reason}`;
    case 'milestone.reordered': return `${who} reordered the milestones`;
    case 'milestone.funded': return `${who} funded ${title}: ${amount} held in escrow`;
    case 'milestone.funding_failed': return `Funding of ${title} failed${reason}`;
    case 'milestone.funding_settled': return `Funding of ${title} settled`;
    case 'milestone.submitted': return `${who} submitted ${title} for review`;
    case 'milestone.approved': return `${who} approved ${title}${amount ? ` (${amount})` : ''}`;
    case 'milestone.auto_approval_due': return `${title} will be approved automatically unless reviewed`;
    case 'milestone.auto_approved': return `${title} was approved automatically`;
    case 'milestone.rejected': return `${who} sent back ${title}${reason}`;
    case 'milestone.released': return `${who} released ${amount} for ${title}`;
    case 'milestone.refunded': return `${amount} of escrow for ${title} was refunded`;
    case 'payment.created': return `Draft payment of ${amount} created`;
    case 'payment.paid': return `Payment of ${amount} paid`;
    case 'change_request.opened': return `${who} proposed milestone changes`;
    case 'change_request.accepted': return `${who} accepted the milestone changes`;
    case 'change_request.declined': return `${who} declined the milestone changes${reason}`;
    case 'change_request.withdrawn': return `${who} withdrew the milestone changes`;
    case 'change_request.failed': return `The milestone changes could not be applied${reason}`;
    case 'dispute.opened': return `${who} opened a dispute on ${title}${reason}`;
    case 'dispute.responded': return `${who} answered the dispute on ${title}`;
    case 'dispute.resolved': return `The dispute on ${title} was resolved`;
    case 'refund_request.opened': return `${who} asked for a refund before closing${typeof d.refund === 'number' ? ` (${formatMoney(d.refund, cur)})` : ''}`;
    case 'refund_request.countered': return `${who} proposed another refund${typeof d.refund === 'number' ? ` (${formatMoney(d.refund, cur)})` : ''}`;
    case 'refund_request.accepted': return `${who} agreed to the refund; the contract is closed`;
    case 'refund_request.declined': return `${who} declined the refund${reason}; the escrow is disputed`;
    case 'refund_request.withdrawn': return `${who} withdrew the refund request`;
    case 'refund_request.escalated': return 'The refund request was not answered in time; the escrow is disputed';
    case 'refund_request.failed': return 'The refund could not be applied: the escrow changed';
    case 'conversation.started': return `${who} started the conversation (see Conversation)`;
    default: return `${who}: ${a.kind.replace(/[._]/g, ' ')}`;
  }
}
