import { useState, type FormEvent } from 'react';
import { api, type Contract } from '../../api.ts';
import { statusWord } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { decimals, formatMoney, parseMoney } from '../../money.ts';
import type { Act } from './HourlyPanel.tsx';
import type { MilestoneRequest, Role } from './types.ts';

/**
 * Seed 003's Milestone Requests section, on top of the milestones: the contractor requests a
 * milestone payment (amount and description, in the contract's currency); the client accepts
 * (it becomes a funded milestone payment) or declines with a reason.
 */
export function MilestoneRequests({ contract, role, live, requests, act }: { contract: Contract; role: Role; live: boolean; requests: MilestoneRequest[]; act: Act }) {
  const cur = contract.currency;
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [declining, setDeclining] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>, success: string) => {
    setBusy(true);
    const ok = await act(action, success);
    setBusy(false);
    return ok;
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const minor = parseMoney(amount, cur);
    if (minor === null || minor <= 0) return void act(() => Promise.reject(new Error(`Enter an amount with at most ${decimals(cur)} decimals.`)), '');
    if (await run(() => api.post(`/v1/contracts/${contract.id}/milestone-requests`, { amount: minor, description: description.trim() }), 'Milestone requested.')) {
      setAmount('');
      setDescription('');
    }
  };
  const open = requests.filter((r) => r.status === 'open');
  const done = requests.filter((r) => r.status !== 'open').slice(0, 5);
  return (
    <section aria-labelledby="mr-title" className="card">
      <h2 id="mr-title">
        Milestone Requests <span className="count">{open.length}</span>
      </h2>
      {requests.length === 0 && <p className="muted">No milestone requests.</p>}
      <ul className="stack">
        {[...open, ...done].map((r) => (
          <li key={r.id} className="row between wrap" aria-label={`Request ${formatMoney(r.amount, cur)}: ${r.description}`}>
            <span>
              <strong>{formatMoney(r.amount, cur)}</strong> — {r.description} <span className="muted">({statusWord(r.status)}, {formatTime(r.createdAt)})</span>
              {r.declineReason && <span className="muted"> “{r.declineReason}”</span>}
            </span>
            {r.status === 'open' && role === 'client' && live && declining !== r.id && (
              <span className="row">
                <button type="button" disabled={busy} onClick={() => void run(() => api.post(`/v1/milestone-requests/${r.id}/accept`), 'Request accepted: the milestone payment is funded.')}>
                  Accept
                </button>
                <button type="button" className="secondary" disabled={busy} onClick={() => setDeclining(r.id)}>
                  Decline
                </button>
              </span>
            )}
            {r.status === 'open' && role === 'contractor' && (
              <button type="button" className="secondary" disabled={busy} onClick={() => void run(() => api.post(`/v1/milestone-requests/${r.id}/withdraw`), 'Request withdrawn.')}>
                Withdraw
              </button>
            )}
            {declining === r.id && (
              <form
                className="row wrap"
                onSubmit={(e) => {
                  e.preventDefault();
                  void run(() => api.post(`/v1/milestone-requests/${r.id}/decline`, { reason: reason.trim() }), 'Request declined.').then((ok) => ok && (setDeclining(null), setReason('')));
                }}
              >
                <label>
                  Reason <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={2000} />
                </label>
                <button type="submit" disabled={busy}>
                  Decline request
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
      {role === 'contractor' && live && (
        <form className="inline-form stack" onSubmit={(e) => void submit(e)} aria-label="Request a milestone payment">
          <label>
            Amount ({cur}) <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
          </label>
          <label>
            Description <input value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={2000} />
          </label>
          <button type="submit" disabled={busy}>
            Request Milestone
          </button>
        </form>
      )}
    </section>
  );
}
