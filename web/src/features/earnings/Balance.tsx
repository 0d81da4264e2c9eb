import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ok, tranche } from '../../app/client.ts';
import { useConfirm } from '../../app/ConfirmDialog.tsx';
import { formatTime } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';

const PAYOUT_STATUS = { processing: 'On its way', paid: 'Paid to your bank', failed: 'Failed: the money is back in your balance' } as const;

/**
 * The contractor's balance in one currency — what releases and paid payments left them, less
 * payouts — with a payout of all that is available to their bank (after a confirmation) and the
 * latest payouts.
 */
export function Balance({ currency }: { currency: string }) {
  const qc = useQueryClient();
  const notice = useNotice();
  const confirm = useConfirm();
  const [busy, setBusy] = useState(false);
  const balance = useQuery({ queryKey: ['balance'], queryFn: () => ok(tranche.GET('/v1/me/balance')) });
  const payouts = useQuery({ queryKey: ['payouts'], queryFn: () => ok(tranche.GET('/v1/payouts', { params: { query: { limit: 5 } } })) });
  const row = balance.data?.data.find((b) => b.currency === currency);
  const available = row?.available ?? 0;
  const pending = row?.pending ?? 0;
  const recent = (payouts.data?.data ?? []).filter((p) => p.currency === currency);

  const payOut = async () => {
    const yes = await confirm({
      title: 'Pay out your balance?',
      amount: available,
      currency,
      details: [{ label: 'To your bank', value: formatMoney(available, currency) }],
      next: 'The money leaves your balance now and reaches your bank account in a few working days. If the bank refuses it, it comes back to your balance.',
      confirmLabel: 'Pay out',
    });
    if (!yes) return;
    setBusy(true);
    try {
      const p = await ok(tranche.POST('/v1/payouts', { body: { amount: available, currency } }));
      notice.info(p.status === 'failed' ? 'The payout failed; the money is back in your balance.' : `${formatMoney(p.amount, currency)} is on its way to your bank.`);
    } catch (e) {
      notice.error(e, { currency });
    } finally {
      setBusy(false);
      await Promise.all([qc.invalidateQueries({ queryKey: ['balance'] }), qc.invalidateQueries({ queryKey: ['payouts'] })]);
    }
  };

  return (
    <section className="card stack" aria-labelledby="balance-title" aria-busy={balance.isPending}>
      <h2 id="balance-title">Your balance</h2>
      <dl className="overview">
        <div>
          <dt>Available</dt>
          <dd>{formatMoney(available, currency)}</dd>
        </div>
        <div>
          <dt>On its way to your bank</dt>
          <dd>{formatMoney(pending, currency)}</dd>
        </div>
      </dl>
      <div>
        <button type="button" disabled={busy || available <= 0} onClick={() => void payOut()}>
          Pay out {formatMoney(available, currency)}
        </button>
      </div>
      {recent.length > 0 && (
        <ul className="plain stack" aria-label="Latest payouts">
          {recent.map((p) => (
            <li key={p.id}>
              {formatMoney(p.amount, currency)} · {PAYOUT_STATUS[p.status]} · <span className="muted">{formatTime(p.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
