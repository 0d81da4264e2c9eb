import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { keys } from '../../app/query.ts';
import { formatTime } from '../../format.ts';
import { decimals, parseMoney } from '../../money.ts';
import { useContractView } from '../milestones/contract-data.ts';
import './money.css';

/** Refund requests of the contract (a client's refund at close waits for the contractor). */
export const useRefundRequests = (contractId: string) =>
  useQuery({
    queryKey: keys.contractPart(contractId, 'refund-requests'),
    queryFn: async () => (await ok(tranche.GET('/v1/contracts/{id}/refund-requests', { params: { path: { id: contractId } } }))).data,
  });

/**
 * Closing a live contract. Escrow still held is split between release to the contractor and a
 * refund to the client; a client's refund is a request the contractor answers, so the page says
 * so before anything is sent. The contractor closing gives any escrow back.
 */
export function CloseContract() {
  const { contract, role, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const [open, setOpen] = useState(false);
  const [release, setRelease] = useState('');
  const [message, setMessage] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const requests = useRefundRequests(contract.id);
  const cur = contract.currency;
  const held = contract.overview?.inEscrow ?? 0;
  const pending = requests.data?.find((r) => r.status === 'open');
  if (contract.status !== 'active') return null;
  if (pending) return <RefundRequestCard request={pending} />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let rel = 0;
    if (role === 'client' && held > 0) {
      const parsed = release.trim() === '' ? 0 : parseMoney(release, cur);
      if (parsed === null || parsed > held) return setProblem(`Enter an amount between ${money(0)} and ${money(held)}, with at most ${decimals(cur)} decimals.`);
      rel = parsed;
    }
    setProblem(null);
    const refund = held - rel;
    const asks = role === 'client' && refund > 0;
    const yes = await confirm({
      title: asks ? 'Ask to close with a refund?' : 'Close the contract?',
      ...(held > 0 && { amount: held, currency: cur }),
      details: held > 0 ? [{ label: 'Released to the contractor', value: money(rel) }, { label: 'Refunded to the client', value: money(refund) }] : [],
      next: asks
        ? `The contractor is asked to agree to the refund of ${money(refund)}${rel > 0 ? ` and the release of ${money(rel)}` : ''}. If they accept, the contract closes; if they decline or do not answer in ${contract.policy.disputeResponseDays} days, the escrow goes to a dispute the platform decides.`
        : `The contract closes now${held > 0 ? (role === 'client' ? `: ${money(rel)} is released to the contractor` : `: the ${money(held)} in escrow goes back to the client`) : ''}. Milestones not yet funded are cancelled; nothing more can be funded or submitted.`,
      confirmLabel: asks ? 'Send the request' : 'Close the contract',
      danger: true,
    });
    if (!yes) return;
    const body = { ...(role === 'client' && held > 0 && { release: rel, refund }), ...(message.trim() && { message: message.trim() }) };
    const done = await run(() => ok(tranche.POST('/v1/contracts/{id}/close', { params: { path: { id: contract.id } }, body })), asks ? 'The contractor was asked to agree to the refund.' : 'The contract is closed.');
    if (done) setOpen(false);
  };

  return (
    <section className="card stack" aria-labelledby="close-title">
      <h2 id="close-title">Close the contract</h2>
      {!open ? (
        <div>
          <p className="muted">{held > 0 ? `${money(held)} is still held in escrow; closing settles it.` : 'Nothing is held in escrow.'}</p>
          <button type="button" className="secondary" onClick={() => setOpen(true)}>
            Close the contract…
          </button>
        </div>
      ) : (
        <form className="stack" onSubmit={submit} aria-label="Close the contract">
          {role === 'client' && held > 0 && (
            <>
              <label>
                Release to the contractor ({cur})
                <input inputMode="decimal" value={release} onChange={(e) => setRelease(e.target.value)} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
              </label>
              <p className="muted small">Whatever you do not release of the {money(held)} is refunded to you, once the contractor agrees.</p>
            </>
          )}
          {role === 'contractor' && held > 0 && <p className="muted small">The {money(held)} in escrow goes back to the client.</p>}
          <FormEnd message={message} onMessage={setMessage} problem={problem} busy={busy} submit="Review and close" onCancel={() => setOpen(false)} />
        </form>
      )}
    </section>
  );
}

type RefundRequest = NonNullable<ReturnType<typeof useRefundRequests>['data']>[number];

/** An open refund request at close: the other party accepts, counters or declines; the one who asked may withdraw. */
function RefundRequestCard({ request: r }: { request: RefundRequest }) {
  const { contract, role, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const mine = r.requesterRole === role;
  const id = { params: { path: { id: r.id } } };
  const [countering, setCountering] = useState(false);
  const [counterRefund, setCounterRefund] = useState('');
  const [counterMessage, setCounterMessage] = useState('');
  const [counterProblem, setCounterProblem] = useState<string | null>(null);
  const cur = contract.currency;
  const escrow = r.refund + r.release;
  const counter = async (e: FormEvent) => {
    e.preventDefault();
    const refund = parseMoney(counterRefund, cur);
    if (refund === null || refund > escrow) return setCounterProblem(`Enter a refund between ${money(0)} and ${money(escrow)}, with at most ${decimals(cur)} decimals.`);
    setCounterProblem(null);
    const yes = await confirm({
      title: 'Propose this split instead?',
      amount: escrow,
      currency: cur,
      details: [
        { label: 'Refunded to the client', value: money(refund) },
        { label: 'Released to the contractor', value: money(escrow - refund) },
      ],
      next: `The ${r.requesterRole} is asked to agree to your split. If they accept, the contract closes; if they decline or do not answer, the escrow goes to a dispute the platform decides.`,
      confirmLabel: 'Send the counter-proposal',
    });
    if (!yes) return;
    const body = { refund, ...(counterMessage.trim() && { message: counterMessage.trim() }) };
    const done = await run(() => ok(tranche.POST('/v1/refund-requests/{id}/counter', { ...id, body })), `Your split was sent to the ${r.requesterRole}.`);
    if (done) setCountering(false);
  };
  const accept = async () => {
    const yes = await confirm({
      title: 'Agree to close with this refund?',
      amount: r.refund,
      currency: contract.currency,
      details: [
        { label: 'Refunded to the client', value: money(r.refund) },
        { label: role === 'contractor' ? 'Released to you' : 'Released to the contractor', value: money(r.release) },
      ],
      next: 'The escrow moves as shown and the contract closes. This cannot be undone.',
      confirmLabel: 'Agree and close',
      danger: true,
    });
    if (yes) await run(() => ok(tranche.POST('/v1/refund-requests/{id}/accept', { ...id, body: {} })), 'The refund was agreed; the contract is closed.');
  };
  return (
    <section className="card stack" aria-labelledby="refund-title">
      <h2 id="refund-title">{mine ? 'Your request to close with a refund' : `The ${r.requesterRole} asks to close with a refund`}</h2>
      <p>
        Refund to the client: <strong>{money(r.refund)}</strong> · release to the contractor: <strong>{money(r.release)}</strong>
      </p>
      {r.message && <blockquote className="cr-message">“{r.message}”</blockquote>}
      <p className="muted small">
        {mine ? 'The other party' : 'You'} can answer until {formatTime(r.respondBy)}; without an answer the escrow goes to a dispute.
      </p>
      <div className="row wrap">
        {mine ? (
          <button type="button" className="secondary" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/refund-requests/{id}/withdraw', { ...id, body: {} })), 'Your refund request was withdrawn.')}>
            Withdraw the request
          </button>
        ) : (
          <>
            <button type="button" disabled={busy} onClick={accept}>
              Agree and close
            </button>
            <button type="button" className="secondary" aria-expanded={countering} disabled={busy} onClick={() => setCountering(!countering)}>
              Propose another split…
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => run(() => ok(tranche.POST('/v1/refund-requests/{id}/decline', { ...id, body: {} })), 'You declined the refund; the escrow goes to a dispute.')}>
              Decline
            </button>
          </>
        )}
      </div>
      {!mine && countering && (
        <form className="stack" onSubmit={counter} aria-label="Propose another split">
          <label>
            Refund to the client instead ({cur})
            <input inputMode="decimal" value={counterRefund} onChange={(e) => setCounterRefund(e.target.value)} placeholder={decimals(cur) ? `0.${'0'.repeat(decimals(cur))}` : '0'} />
          </label>
          <p className="muted small">Of the {money(escrow)} in escrow, what you do not refund is released to the contractor.</p>
          <FormEnd message={counterMessage} onMessage={setCounterMessage} problem={counterProblem} busy={busy} submit="Review the split" onCancel={() => setCountering(false)} />
        </form>
      )}
    </section>
  );
}

/** The end of a close or counter form: an optional message, the problem found, submit and cancel. */
function FormEnd(p: { message: string; onMessage: (m: string) => void; problem: string | null; busy: boolean; submit: string; onCancel: () => void }) {
  return (
    <>
      <label>
        Message (optional)
        <textarea rows={2} maxLength={2000} value={p.message} onChange={(e) => p.onMessage(e.target.value)} />
      </label>
      {p.problem && (
        <p className="field-problem" role="alert">
          {p.problem}
        </p>
      )}
      <div className="row wrap">
        <button type="submit" disabled={p.busy}>
          {p.submit}
        </button>
        <button type="button" className="link" onClick={p.onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
