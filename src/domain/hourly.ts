/**
 * Hourly contracts, the pure part: calendar weeks in the platform's time zone, the weekly
 * limit, and the rules a time entry must meet. No I/O; the clock is passed in.
 */
import { AppError } from './errors.ts';

/** A calendar date as YYYY-MM-DD. */
export type DateStr = string;

export const MINUTES_PER_DAY = 1440;
/** Past-due invoices are retried daily this many times. */
export const PAST_DUE_RETRIES = 7;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date (2026-02-30 is not). */
export function isDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

const utc = (d: DateStr) => Date.parse(`${d}T00:00:00Z`);
const fromUtc = (ms: number): DateStr => new Date(ms).toISOString().slice(0, 10);

export const addDays = (d: DateStr, n: number): DateStr => fromUtc(utc(d) + n * 86_400_000);

/** The Monday of the week a date is in (weeks run Monday–Sunday). */
export function weekStart(d: DateStr): DateStr {
  const dow = (new Date(utc(d)).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return addDays(d, -dow);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(instant: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, ms: Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) };
}

/** The calendar date an instant falls on in a time zone. */
export const localDate = (at: Date, tz: string): DateStr => wallClock(at.getTime(), tz).date;

/**
 * The instant a date begins (00:00) in a time zone. Two passes of the zone's offset settle
 * on the right side of a DST change (a midnight that does not exist starts at the first
 * instant after it).
 */
export function startOfDay(d: DateStr, tz: string): Date {
  const wall = utc(d);
  let t = wall - (wallClock(wall, tz).ms - wall);
  t = wall - (wallClock(t, tz).ms - t);
  return new Date(t);
}

/** The week an entry dated `d` belongs to, and when it is invoiced (the next Monday 00:00) and paid (Wednesday 00:00). */
export function weekOf(d: DateStr, tz: string) {
  const start = weekStart(d);
  const end = addDays(start, 6);
  return { start, end, invoiceAt: startOfDay(addDays(start, 7), tz), payDate: addDays(start, 9), payAt: startOfDay(addDays(start, 9), tz) };
}

/** Minutes an invoice bills: all of them, or at most the weekly limit. */
export const billableMinutes = (logged: number, limitHours: number | null) => (limitHours === null ? logged : Math.min(logged, limitHours * 60));

/** minutes × rate / 60 rounded half up, once per invoice (BigInt: minutes × rate may pass 2^53). */
export const hourlyAmount = (minutes: number, rate: number) => Number((BigInt(minutes) * BigInt(rate) + 30n) / 60n);

/** The invoice number: the week and the contract, unique without a global counter. */
export const invoiceNumber = (periodStart: DateStr, contractId: string) =>
  `INV-${periodStart.replace(/-/g, '')}-${contractId.slice(-12).toUpperCase()}`;

/**
 * An entry's date must be a real date, not in the future (in the platform's time zone), and
 * in a week still open: a week closes when it is invoiced, the Monday 00:00 after it.
 */
export function assertEntryDate(date: string, now: Date, tz: string, field = 'date'): void {
  if (!isDate(date)) throw new AppError('validation_failed', `${field} is not a calendar date`, {}, [{ field, message: 'must be a real date as YYYY-MM-DD' }]);
  const today = localDate(now, tz);
  if (date > today) throw new AppError('validation_failed', `${field} is in the future`, {}, [{ field, message: `must be today (${today}) or earlier` }]);
  const week = weekOf(date, tz);
  if (now >= week.invoiceAt) throw weekInvoiced(week.start);
}

export const weekInvoiced = (start: DateStr) =>
  new AppError('week_invoiced', `the week of ${start} is invoiced: its time entries can no longer change`, { weekStart: start });

/** At most 24 hours on one day: `others` is what the day already holds without this entry. */
export function assertDayFits(date: DateStr, others: number, minutes: number): void {
  if (others + minutes > MINUTES_PER_DAY) {
    throw new AppError('daily_limit_exceeded', `${date} would hold ${others + minutes} minutes; a day holds at most ${MINUTES_PER_DAY}`, {
      date,
      loggedMinutes: others,
      availableMinutes: Math.max(0, MINUTES_PER_DAY - others),
    });
  }
}

export type HourlyTerms = { hourlyRate: number; weeklyLimitHours: number | null };
export type TermsChange = HourlyTerms & { effectiveFrom: DateStr };

/**
 * The terms a week bills at: the latest agreed change that applies from that week's Monday
 * or earlier, else the terms the contract was accepted with.
 */
export function termsForWeek(initial: HourlyTerms, changes: TermsChange[], week: DateStr): HourlyTerms {
  let best: TermsChange | undefined;
  for (const c of changes) if (c.effectiveFrom <= week && (!best || c.effectiveFrom >= best.effectiveFrom)) best = c;
  return best ? { hourlyRate: best.hourlyRate, weeklyLimitHours: best.weeklyLimitHours } : initial;
}

/** A week's figures: what was logged, what bills under the limit, and its amount. */
export function weekFigures(loggedMinutes: number, terms: HourlyTerms) {
  const billed = billableMinutes(loggedMinutes, terms.weeklyLimitHours);
  return { loggedMinutes, billableMinutes: billed, unbilledMinutes: loggedMinutes - billed, amount: hourlyAmount(billed, terms.hourlyRate) };
}
