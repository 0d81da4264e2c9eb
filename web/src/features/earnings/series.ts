import type { Payment } from '../../api.ts';

export type MonthTotal = { month: string; label: string; amount: number };

/** The last `count` calendar months (UTC) up to `now`, oldest first, as YYYY-MM. */
export function lastMonths(now: Date, count: number): string[] {
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
    out.push(d.toISOString().slice(0, 7));
  }
  return out;
}

/** What a contractor received per month in one currency: the net of paid payments, by the month they were paid. */
export function monthlyEarnings(payments: Payment[], currency: string, months: string[]): MonthTotal[] {
  const sums = new Map(months.map((m) => [m, 0]));
  for (const p of payments) {
    if (p.status !== 'paid' || p.currency !== currency) continue;
    const month = (p.paidAt ?? p.createdAt).slice(0, 7);
    if (sums.has(month)) sums.set(month, sums.get(month)! + p.net);
  }
  return months.map((month) => ({
    month,
    label: new Date(`${month}-01T00:00:00Z`).toLocaleDateString('en-US', { month: 'short', year: '2-digit', timeZone: 'UTC' }),
    amount: sums.get(month) ?? 0,
  }));
}
