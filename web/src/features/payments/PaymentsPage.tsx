import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import type { Contract, Payment, User } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { contractQuery } from '../../app/queries.ts';
import { keys } from '../../app/query.ts';
import { cardName, paymentKindWord, statusWord } from '../../app/words.ts';
import { formatTime } from '../../format.ts';
import { feeOf, formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';

/** The payments of both sides ("Pay contractor"): what you pay or receive, named by contract and milestone; drafts are paid here. */
export function PaymentsPage({ me }: { me: User }) {
  const notice = useNotice();
  const confirm = useConfirm();
  const qc = useQueryClient();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const list = useQuery({ queryKey: keys.payments({ limit: 100 }), queryFn: () => ok(tranche.GET('/v1/payments', { params: { query: { limit: 100 } } })) });
  const payments = useMemo(() => list.data?.data ?? [], [list.data]);
  // Every payment listed is one of mine: the contractor's side is a user, the client's may be an
  // organisation I act for, so "not the contractor" is the client's side.
  const paying = (p: Payment) => p.contractorId !== me.id;
  const payable = payments.filter((p) => p.status === 'draft' && paying(p));
  // The fee the client pays on top comes from each contract's policy: only the contracts with drafts to pay are read (shared with the contract page's cache).
  const contracts = useQueries({ queries: [...new Set(payable.map((p) => p.contractId))].map((id) => contractQuery(id)) });
  const byId = new Map<string, Contract>();
  for (const q of contracts) if (q.data) byId.set(q.data.id, q.data);

  // Until a contract's fee is known its drafts cannot be paid: the confirmation must show the real charge.
  const feeKnown = (p: Payment) => byId.has(p.contractId);
  const chosen = payable.filter((p) => selected.has(p.id));
  const allChosen = payable.length > 0 && chosen.length === payable.length;
  const titleOf = (p: Payment) => p.contractTitle ?? 'Contract';
  const milestoneOf = (p: Payment) => p.milestoneTitle ?? undefined;
  const clientFee = (p: Payment) => feeOf(p.amount, byId.get(p.contractId)?.policy.platformFee.clientBps ?? 0);

  const pay = async (ps: Payment[]) => {
    // Totals per currency: amounts of different currencies never add up.
    const sums = new Map<string, { amount: number; fee: number }>();
    for (const p of ps) {
      const s = sums.get(p.currency) ?? { amount: 0, fee: 0 };
      sums.set(p.currency, { amount: s.amount + p.amount, fee: s.fee + clientFee(p) });
    }
    const [[currency, one]] = [...sums] as [[string, { amount: number; fee: number }]];
    const single = sums.size === 1;
    const total = [...sums].map(([c, s]) => formatMoney(s.amount + s.fee, c)).join(' + ');
    const yes = await confirm({
      title: ps.length === 1 ? `Pay ${milestoneOf(ps[0]!) ?? titleOf(ps[0]!)}?` : `Pay ${ps.length} payments?`,
      ...(single && { amount: one.amount, currency, fee: one.fee, feeLabel: 'Platform fee paid by you' }),
      card: me.defaultPaymentMethod,
      details: [
        ...(single ? [] : [...sums].map(([c, s]) => ({ label: `In ${c}`, value: `${formatMoney(s.amount, c)} + ${formatMoney(s.fee, c)} fee` }))),
        { label: 'Charged to your card', value: total },
        ...(ps.length > 1 ? [{ label: 'Contracts', value: [...new Set(ps.map(titleOf))].join(', ') }] : []),
      ],
      next: `${cardName(me.defaultPaymentMethod)} is charged ${total}. The contractor is paid once the charge settles; both of you see it here as Paid.`,
      confirmLabel: `Pay ${total}`,
    });
    if (!yes) return;
    setBusy(true);
    try {
      if (ps.length === 1) await ok(tranche.POST('/v1/payments/{id}/pay', { params: { path: { id: ps[0]!.id } } }));
      else await ok(tranche.POST('/v1/payments/pay', { body: { paymentIds: ps.map((p) => p.id) } }));
      notice.info(ps.length === 1 ? `${formatMoney(ps[0]!.amount, ps[0]!.currency)} paid.` : `${ps.length} payments paid.`);
      setSelected(new Set());
    } catch (e) {
      notice.error(e, { currency });
    } finally {
      setBusy(false);
      await qc.invalidateQueries({ queryKey: ['payments'] });
      for (const id of new Set(ps.map((p) => p.contractId))) void qc.invalidateQueries({ queryKey: keys.contract(id) });
    }
  };

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <section aria-labelledby="payments-title" aria-busy={busy || list.isPending} className="stack">
      <div className="row between wrap">
        <h1 id="payments-title">Payments</h1>
        {payable.length > 0 && (
          <div className="row wrap">
            <label className="row inline-check">
              <input type="checkbox" checked={allChosen} onChange={() => setSelected(allChosen ? new Set() : new Set(payable.map((p) => p.id)))} />
              Select all to pay
            </label>
            <button type="button" disabled={busy || chosen.length === 0 || !chosen.every(feeKnown)} onClick={() => void pay(chosen)}>
              Pay selected ({chosen.length})
            </button>
          </div>
        )}
      </div>
      {list.data && payments.length === 0 && (
        <div className="card empty">
          <h2>No payments yet</h2>
          <p className="muted">Payments appear here when milestones are approved or released. Open a contract to fund or approve work.</p>
          <Link to="/" className="button">
            Go to your contracts
          </Link>
        </div>
      )}
      {payments.length > 0 && (
        <table className="table cards">
          <caption className="sr-only">Your payments</caption>
          <thead>
            <tr>
              <th scope="col">
                <span className="sr-only">Select</span>
              </th>
              <th scope="col">Contract and milestone</th>
              <th scope="col">Kind</th>
              <th scope="col">Direction</th>
              <th scope="col" className="num">
                Amount
              </th>
              <th scope="col" className="num">
                Fee
              </th>
              <th scope="col" className="num">
                Net
              </th>
              <th scope="col">Status</th>
              <th scope="col">Date</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {payments.map((p) => {
              const title = titleOf(p);
              const ms = milestoneOf(p);
              const canPay = p.status === 'draft' && paying(p);
              const amount = formatMoney(p.amount, p.currency);
              return (
                <tr key={p.id}>
                  <td data-label={canPay ? 'Select' : ''} className={canPay ? undefined : 'empty-cell'}>
                    {canPay && <input type="checkbox" aria-label={`Select payment ${amount} for ${ms ?? title}`} checked={selected.has(p.id)} onChange={() => toggle(p.id)} />}
                  </td>
                  <td className="primary" data-label="">
                    <span>
                      <Link to={`/contracts/${p.contractId}`}>{title}</Link>
                      {ms && <span className="muted"> · {ms}</span>}
                    </span>
                  </td>
                  <td data-label="Kind">{paymentKindWord(p.kind)}</td>
                  <td data-label="Direction">{paying(p) ? 'You pay' : 'You receive'}</td>
                  <td data-label="Amount" className="num">
                    {amount}
                  </td>
                  <td data-label="Fee" className="num">
                    {formatMoney(p.fee, p.currency)}
                  </td>
                  <td data-label="Net" className="num">
                    {formatMoney(p.net, p.currency)}
                  </td>
                  <td data-label="Status">
                    <span className={`badge s-${p.status}`}>{statusWord(p.status)}</span>
                  </td>
                  <td data-label="Date">{formatTime(p.paidAt ?? p.createdAt)}</td>
                  <td data-label="" className={canPay ? undefined : 'empty-cell'}>
                    {canPay && (
                      <button type="button" disabled={busy || !feeKnown(p)} onClick={() => void pay([p])}>
                        Pay {amount}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
