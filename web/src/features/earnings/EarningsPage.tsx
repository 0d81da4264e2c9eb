import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { ok, tranche } from '../../app/client.ts';
import { useTitle } from '../../app/page.ts';
import { keys } from '../../app/query.ts';
import { useMe } from '../../app/session.tsx';
import { formatMoney } from '../../money.ts';
import { Balance } from './Balance.tsx';
import { EarningsChart } from './EarningsChart.tsx';
import { PayoutAccount, payoutAccountKey } from './PayoutAccount.tsx';
import { lastMonths, monthlyEarnings } from './series.ts';
import './earnings.css';

/**
 * A contractor's earnings: what was received (net of fees), what is on its way, how it reaches
 * their bank — with the sandbox, a payout of their balance; with Stripe, their payout account —
 * and a chart of the last twelve months.
 */
export function EarningsPage() {
  useTitle('Earnings');
  const me = useMe();
  const account = useQuery({ queryKey: payoutAccountKey, queryFn: () => ok(tranche.GET('/v1/me/payout-account')) });
  const stripe = account.data?.provider === 'stripe';
  const list = useQuery({ queryKey: keys.payments({ limit: 100 }), queryFn: () => ok(tranche.GET('/v1/payments', { params: { query: { limit: 100 } } })) });
  const mine = useMemo(() => (list.data?.data ?? []).filter((p) => p.contractorId === me.id), [list.data, me.id]);
  const currencies = useMemo(() => {
    const totals = new Map<string, number>();
    for (const p of mine) totals.set(p.currency, (totals.get(p.currency) ?? 0) + p.net);
    return [...totals].sort((a, b) => b[1] - a[1]).map(([c]) => c);
  }, [mine]);
  const [picked, setPicked] = useState<string | null>(null);
  const currency = picked && currencies.includes(picked) ? picked : (currencies[0] ?? 'USD');
  const inCurrency = mine.filter((p) => p.currency === currency);
  const received = inCurrency.filter((p) => p.status === 'paid').reduce((s, p) => s + p.net, 0);
  const coming = inCurrency.filter((p) => p.status === 'draft' || p.status === 'processing').reduce((s, p) => s + p.net, 0);
  const months = lastMonths(new Date(), 12);
  const series = monthlyEarnings(inCurrency, currency, months);
  const thisMonth = series[series.length - 1]?.amount ?? 0;
  // How money reaches the bank: the payout account with Stripe (also before any earnings), else the balance's payout.
  const payouts = stripe ? <PayoutAccount account={account.data!} currency={currency} /> : account.data ? <Balance currency={currency} /> : null;

  return (
    <section aria-labelledby="earnings-title" aria-busy={list.isPending || account.isPending} className="stack-lg">
      <div className="row between wrap">
        <h1 id="earnings-title">Earnings</h1>
        {currencies.length > 1 && (
          <label className="row inline-check">
            Currency
            <select value={currency} onChange={(e) => setPicked(e.target.value)}>
              {currencies.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      {list.data && mine.length === 0 ? (
        <>
          <div className="card empty">
            <h2>No earnings yet</h2>
            <p className="muted">When you work as a contractor, what you are paid shows here, month by month. Start by sending an offer to a client.</p>
            <Link to="/contracts/new" className="button">
              Start a contract
            </Link>
          </div>
          {stripe && payouts}
        </>
      ) : (
        <>
          <dl className="overview card">
            <div>
              <dt>Received</dt>
              <dd>{formatMoney(received, currency)}</dd>
            </div>
            <div>
              <dt>This month</dt>
              <dd>{formatMoney(thisMonth, currency)}</dd>
            </div>
            <div>
              <dt>On its way</dt>
              <dd>{formatMoney(coming, currency)}</dd>
            </div>
            <div>
              <dt>Payments</dt>
              <dd>{inCurrency.filter((p) => p.status === 'paid').length}</dd>
            </div>
          </dl>
          {payouts}
          <div className="card stack">
            <h2>Payments over time</h2>
            <p className="muted">What you received each month, after fees.</p>
            <EarningsChart data={series} currency={currency} />
          </div>
          <p>
            <Link to="/payments">See every payment</Link>
          </p>
        </>
      )}
    </section>
  );
}
