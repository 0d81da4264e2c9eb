import { useState } from 'react';
import { api, type Contract, type Page, type Payment, type User } from '../../api.ts';
import { link } from '../../router.ts';
import { formatTime, statusLabel } from '../../format.ts';
import { useLoad } from '../../hooks.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';
import { useLiveReload } from '../../features/live/live.tsx';

/** The "Pay contractor" view: what you pay (client) or receive (contractor), with status. */
export function PaymentsPage({ me, onUnauthenticated }: { me: User; onUnauthenticated: () => void }) {
  const notice = useNotice();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const { data, loading, reload } = useLoad(async () => {
    const [payments, contracts] = await Promise.all([api.get<Page<Payment>>('/v1/payments?limit=100'), api.get<Page<Contract>>('/v1/contracts?limit=100')]);
    return { payments: payments.data, titles: new Map(contracts.data.map((c) => [c.id, c.title])) };
  }, onUnauthenticated);
  // Payments change with contract activity (approvals, releases, payments made).
  useLiveReload(reload, (e) => e.type === 'activity');

  const payments = data?.payments ?? [];
  const payable = payments.filter((p) => p.status === 'draft' && p.clientId === me.id);
  const chosen = payable.filter((p) => selected.has(p.id));

  const pay = async (ids: string[], what: string) => {
    setBusy(true);
    try {
      if (ids.length === 1) await api.post(`/v1/payments/${ids[0]}/pay`);
      else await api.post('/v1/payments/pay', { paymentIds: ids });
      notice.info(what);
      setSelected(new Set());
    } catch (e) {
      notice.error(e);
    } finally {
      setBusy(false);
      await reload();
    }
  };

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allChosen = payable.length > 0 && chosen.length === payable.length;

  // Totals of the selection, per currency (amounts of different currencies never add up).
  const totals = new Map<string, number>();
  for (const p of chosen) totals.set(p.currency, (totals.get(p.currency) ?? 0) + p.amount);

  return (
    <section aria-labelledby="payments-title" aria-busy={busy || loading}>
      <div className="row between wrap">
        <h1 id="payments-title">Payments</h1>
        <div className="row">
          {payable.length > 0 && (
            <button type="button" disabled={busy || chosen.length === 0} onClick={() => pay(chosen.map((p) => p.id), `${chosen.length} payment(s) paid.`)}>
              Pay selected ({chosen.length})
              {chosen.length > 0 && ` · ${[...totals].map(([c, n]) => formatMoney(n, c)).join(' + ')}`}
            </button>
          )}
        </div>
      </div>
      {data && payments.length === 0 && <p className="muted">No payments yet.</p>}
      {payments.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">
                {payable.length > 0 && (
                  <input
                    type="checkbox"
                    aria-label="Select all draft payments"
                    checked={allChosen}
                    onChange={() => setSelected(allChosen ? new Set() : new Set(payable.map((p) => p.id)))}
                  />
                )}
              </th>
              <th scope="col">Contract</th>
              <th scope="col">For</th>
              <th scope="col">Direction</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col" className="num">Fee</th>
              <th scope="col" className="num">Net</th>
              <th scope="col">Status</th>
              <th scope="col">Date</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {payments.map((p) => {
              const title = data?.titles.get(p.contractId) ?? p.contractId;
              const canPay = p.status === 'draft' && p.clientId === me.id;
              return (
                <tr key={p.id} aria-label={`${title} ${p.kind} payment ${formatMoney(p.amount, p.currency)} ${p.status}`}>
                  <td>{canPay && <input type="checkbox" aria-label={`Select payment ${formatMoney(p.amount, p.currency)} on ${title}`} checked={selected.has(p.id)} onChange={() => toggle(p.id)} />}</td>
                  <td>
                    <a href={`/contracts/${p.contractId}`} onClick={link(`/contracts/${p.contractId}`)}>
                      {title}
                    </a>
                  </td>
                  <td>{statusLabel(p.kind)}</td>
                  <td>{p.clientId === me.id ? 'You pay' : 'You receive'}</td>
                  <td className="num">{formatMoney(p.amount, p.currency)}</td>
                  <td className="num">{formatMoney(p.fee, p.currency)}</td>
                  <td className="num">{formatMoney(p.net, p.currency)}</td>
                  <td>
                    <span className={`badge s-${p.status}`}>{statusLabel(p.status)}</span>
                  </td>
                  <td>{formatTime(p.paidAt ?? p.createdAt)}</td>
                  <td>
                    {canPay && (
                      <button type="button" disabled={busy} onClick={() => pay([p.id], `${formatMoney(p.amount, p.currency)} paid.`)}>
                        Pay
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
