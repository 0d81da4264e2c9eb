import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { operations } from '@tranche/client';
import { ok, tranche } from '../../app/client.ts';
import { payoutAccountWords, payoutFailureWord } from '../../app/words.ts';
import { formatDate } from '../../format.ts';
import { formatMoney } from '../../money.ts';
import { useNotice } from '../../notice.tsx';

export type PayoutAccountState = operations['getMePayoutAccount']['responses'][200]['content']['application/json'];
type StripePayout = PayoutAccountState['payouts'][number];

/** Where a payout of the account to the bank stands, in words. */
export function payoutStatusWords(p: Pick<StripePayout, 'status' | 'arrivalDate'>): string {
  const arrives = p.arrivalDate ? `, arrives ${formatDate(p.arrivalDate.slice(0, 10))}` : '';
  switch (p.status) {
    case 'paid':
      return 'Paid to your bank';
    case 'failed':
      return 'Failed';
    case 'canceled':
      return 'Canceled';
    default:
      return `On its way${arrives}`;
  }
}

/** The query every part of the page shares (the provider decides which payout card is shown). */
export const payoutAccountKey = ['payout-account'] as const;

/**
 * With Stripe: the contractor's payout account (an Express account) — where it stands, what
 * waits for it, the last payout Stripe could not make to the bank, Stripe's latest payouts of
 * the account to the bank (paid, on its way and when it arrives, failed) — and the button that opens
 * Stripe's onboarding (the browser leaves for Stripe and comes back to `/earnings?onboarding=done`).
 * Released money is sent there by the server; there is no payout to ask for here.
 */
export function PayoutAccount({ account, currency }: { account: PayoutAccountState; currency: string }) {
  const qc = useQueryClient();
  const notice = useNotice();
  const [busy, setBusy] = useState(false);
  const [params, setParams] = useSearchParams();
  const words = payoutAccountWords(account.status);
  const waiting = account.waiting.find((w) => w.currency === currency);
  const back = params.get('onboarding');

  // Back from Stripe: say what happens next once, then forget the marker.
  useEffect(() => {
    if (!back) return;
    if (back === 'done') notice.info(account.status === 'enabled' ? 'Your payout account is ready.' : 'Thank you. Stripe tells us when your payout account is ready.');
    else notice.info('The setup link expired. Choose the button again to go on where you left off.');
    setParams((p) => {
      p.delete('onboarding');
      return p;
    }, { replace: true });
  }, [back, account.status, notice, setParams]);

  const open = async () => {
    setBusy(true);
    try {
      const next = await ok(tranche.POST('/v1/me/payout-account'));
      if (next.url) {
        window.location.assign(next.url);
        return;
      }
      qc.setQueryData(payoutAccountKey, next);
      notice.info('Your payout account is ready.');
    } catch (e) {
      notice.error(e, { currency });
    }
    setBusy(false);
  };

  const failure = account.lastPayoutFailure;
  const payouts = account.payouts ?? [];
  return (
    <section className="card stack" aria-labelledby="payout-account-title">
      <h2 id="payout-account-title">Payouts</h2>
      <p>
        <strong>{words.title}.</strong> {words.text}
      </p>
      {waiting && waiting.amount > 0 && (
        <p>
          Waiting for your payout account: <strong>{formatMoney(waiting.amount, currency)}</strong> ({waiting.count === 1 ? '1 payment' : `${waiting.count} payments`}). It is sent as soon as the account can receive money.
        </p>
      )}
      {failure && (
        <p className="split-error">
          Stripe could not pay {formatMoney(failure.amount, failure.currency)} to your bank: {payoutFailureWord(failure.code)}. The money is back in your payout account; check your bank details with Stripe.
        </p>
      )}
      {payouts.length > 0 && (
        <table className="table">
          <caption>Stripe’s payouts to your bank, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Amount</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {payouts.map((p) => (
              <tr key={p.id}>
                <td>{formatMoney(p.amount, p.currency)}</td>
                <td>{payoutStatusWords(p)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {words.action && (
        <div>
          <button type="button" disabled={busy} onClick={() => void open()}>
            {words.action}
          </button>
        </div>
      )}
    </section>
  );
}
