import { useState } from 'react';
import type { Payment } from '../../api.ts';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { formatTime } from '../../format.ts';
import { useContractView } from '../milestones/contract-data.ts';
import { cardLines, chargeQuote } from './quote.ts';
import './money.css';

/**
 * Approved but unpaid (seed 000's "Pay contractor" on the contract): each draft payment with a Pay
 * button, several at once with Pay selected; every payment is confirmed with its amount, fee and card.
 */
export function DraftPayments({ payments }: { payments: Payment[] }) {
  const { contract, role, me, run, busy, money } = useContractView();
  const confirm = useConfirm();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const drafts = payments.filter((p) => p.status === 'draft');
  if (drafts.length === 0) return null;
  const titles = new Map((contract.milestones ?? []).map((m) => [m.id, m.title]));
  const nameOf = (p: Payment) => (p.milestoneId && titles.get(p.milestoneId)) || 'Payment';
  const chosen = drafts.filter((p) => selected.has(p.id));

  const pay = async (list: Payment[]) => {
    const amount = list.reduce((a, p) => a + p.amount, 0);
    // The fee is taken per payment (src/usecases/pay-payments.ts), so it is summed, not taken on the total.
    const fee = list.reduce((a, p) => a + chargeQuote(contract, p.amount).fee, 0);
    const q = { fee, total: amount + fee };
    const names = list.map((p) => `“${nameOf(p)}”`).join(', ');
    const card = await cardLines(contract, me.defaultPaymentMethod);
    const yes = await confirm({
      title: list.length === 1 ? `Pay ${names}?` : `Pay ${list.length} payments?`,
      amount,
      currency: contract.currency,
      fee: q.fee,
      feeLabel: 'Platform fee paid by you',
      card: card.card,
      details: [...(list.length > 1 ? [{ label: 'Payments', value: names }] : []), ...card.details, { label: 'Charged to the card', value: money(q.total) }],
      next: `Your card is charged ${money(q.total)} and the contractor is paid ${money(amount)}. The payment${list.length === 1 ? '' : 's'} then show${list.length === 1 ? 's' : ''} as paid for both of you.`,
      confirmLabel: `Pay ${money(amount)}`,
    });
    if (!yes) return;
    const done = await run(
      () =>
        list.length === 1
          ? ok(tranche.POST('/v1/payments/{id}/pay', { params: { path: { id: list[0]!.id } }, body: {} }))
          : ok(tranche.POST('/v1/payments/pay', { body: { paymentIds: list.map((p) => p.id) } })),
      list.length === 1 ? `${money(amount)} was paid for ${names}.` : `${list.length} payments of ${money(amount)} in all were paid.`,
    );
    if (done) setSelected(new Set());
  };

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <section className="card stack" aria-labelledby="drafts-title">
      <div className="row between wrap">
        <h2 id="drafts-title">{role === 'client' ? 'Approved, to pay' : 'Approved, waiting for payment'}</h2>
        {role === 'client' && drafts.length > 1 && (
          <button type="button" disabled={busy || chosen.length === 0} onClick={() => pay(chosen)}>
            Pay selected ({chosen.length}){chosen.length > 0 && ` · ${money(chosen.reduce((a, p) => a + p.amount, 0))}`}
          </button>
        )}
      </div>
      <ul className="drafts">
        {drafts.map((p) => (
          <li key={p.id}>
            {role === 'client' && drafts.length > 1 ? (
              <label>
                <input type="checkbox" checked={selected.has(p.id)} onChange={() => toggle(p.id)} />
                <span>
                  <strong>{nameOf(p)}</strong> · {money(p.amount)}
                </span>
              </label>
            ) : (
              <span>
                <strong>{nameOf(p)}</strong> · {money(p.amount)}
              </span>
            )}
            <span className="muted small">
              approved {formatTime(p.createdAt)}
              {p.pendingApproval && `; paid by ${p.pendingApproval.approvedBy === me.id ? 'you' : 'a member of the company'} on ${formatTime(p.pendingApproval.approvedAt)}, waiting for a second member`}
            </span>
            {role === 'client' && (
              <button type="button" disabled={busy} onClick={() => pay([p])} aria-label={`Pay ${money(p.amount)} for “${nameOf(p)}”`}>
                Pay {money(p.amount)}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
