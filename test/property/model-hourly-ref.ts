import fc from 'fast-check';
import { feeOn } from './model-ref.ts';

/*
 * The reference model of an hourly contract (seed 003) for model-hourly.test.ts: time entries,
 * milestone payment requests and the weekly jobs as PRODUCT.md and docs/lifecycle.md describe
 * them, written plainly with its own arithmetic. Like model-ref.ts (whose floor fee it shares) it
 * imports nothing from src/: no calendar, limit, rounding, fee or ledger code of the product.
 *
 * Time is a shared timeline of days in the platform's time zone (the test sets the clock to
 * local times; the model never needs the zone). Each day the clock is set to 01:00 and the worker
 * runs what is due (card charges accepted to settle later fail — the test's later card is
 * `pm_card_fails_later`; Monday: last week's invoices; Wednesday: payment of the invoices due that
 * day; retries of past-due invoices scheduled the day before; disputes left unanswered for 7
 * days), then the parties (and the platform admin) act at 12:00.
 */

export type Who = 'client' | 'contractor';
/** The client's default card: accepted, declined at once, or accepted and failing when settled. */
export type Card = 'ok' | 'declined' | 'later';
export type HourlySetup = { rate: number; limitHours: number | null; fees: { clientBps: number; contractorBps: number }; card: Card };

export type HourlyCmd =
  | { k: 'log'; who: Who; back: number; minutes: number }
  | { k: 'edit'; who: Who; e: number; minutes: number }
  | { k: 'delete'; who: Who; e: number }
  | { k: 'request'; who: Who; amount: number }
  | { k: 'accept' | 'decline' | 'withdraw'; who: Who; r: number }
  | { k: 'pay'; who: Who; i: number }
  | { k: 'card'; card: Card }
  /** A party changes the rate and/or the limit (hourly_requests: the client's applies, the contractor's is proposed). */
  | { k: 'terms'; who: Who; rate?: number; limit?: number | null }
  /** The open proposal of terms: accepted or declined by the other party, withdrawn by its proposer. */
  | { k: 'answerTerms'; who: Who; answer: 'accept' | 'decline' | 'withdraw' }
  | { k: 'dispute'; who: Who; i: number }
  /** The platform admin resolves invoice i's dispute: `pct` % of what is owed released, the rest refunded. */
  | { k: 'resolve'; i: number; pct: number };

export type Outcome = { ok: true } | { ok: false; code: string };

/** What both sides are compared on after every command and every day's jobs. */
export type HourlyObserved = {
  /** Entries in date order, then creation order: `date minutes billed|-`. */
  entries: string[];
  /** Requests in creation order: `amount status`. */
  requests: string[];
  /** What each accepted request's milestone still holds in escrow, in creation order. */
  escrow: number[];
  invoices: { week: string; logged: number; billed: number; rate: number; amount: number; due: number; status: string; pending: boolean; fromEscrow: number; charged: number; retries: number }[];
  /** Contractor payments: `kind amount fee status`, sorted. */
  payments: string[];
  /** Net of this contract's postings per account, zeros left out: world, contractor, feesClient, feesContractor, escrow:<index>. */
  balances: Record<string, number>;
  /** `invoice.past_due` events on the contract (told once per invoice). */
  pastDueNotices: number;
  /** Terms changes: `rate limit|- status`, sorted. */
  terms: string[];
};

export const DAY_MS = 86_400_000;
/** The retries of a past-due invoice, one a day. */
const RETRIES = 7;
const DAY_MINUTES = 24 * 60;

/** Date arithmetic of its own: days since 1970-01-01, weekday with Monday = 0. */
export const dateOf = (dayNumber: number) => new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
export const weekday = (dayNumber: number) => (dayNumber + 3) % 7; // 1970-01-01 was a Thursday
const dayNumberOf = (date: string) => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);

/** n × rate / 60 rounded half up, in integers. */
export function hoursAmount(minutes: number, rate: number): number {
  const n = BigInt(minutes) * BigInt(rate);
  const q = n / 60n;
  return Number(n % 60n >= 30n ? q + 1n : q);
}

type Entry = { date: string; minutes: number; billed: number | null; live: boolean };
type Invoice = {
  week: number;
  logged: number;
  billed: number;
  rate: number;
  amount: number;
  /** What is owed: the amount less what a dispute's resolution refunded. */
  due: number;
  status: 'open' | 'paid' | 'past_due' | 'void';
  /** A card charge accepted to settle later (its payment processing at `payment`). */
  pending: { payment: number } | null;
  dispute: { day: number; open: boolean } | null;
  fromEscrow: number;
  charged: number;
  retries: number;
};
type Terms = { rate: number; limit: number | null };
type Milestone = { amount: number; released: number; feeSoFar: number };

const refused = (code: string): Outcome => ({ ok: false, code });
const OK: Outcome = { ok: true };

export class HourlyRef {
  private entries: Entry[] = [];
  private requests: { amount: number; status: 'open' | 'accepted' | 'declined' | 'withdrawn' }[] = [];
  private milestones: Milestone[] = [];
  private invoices: Invoice[] = [];
  private payments: string[] = [];
  private acc = { world: 0, contractor: 0, feesClient: 0, feesContractor: 0 };
  private pastDueNotices = 0;
  /** Agreed terms changes in the order they were agreed, each billing from its Monday. */
  private changes: (Terms & { from: number })[] = [];
  private termsRows: (Terms & { status: string })[] = [];
  private proposal: { row: number; by: Who } | null = null;
  /** Retries due at the next day's run, in the order they were scheduled. */
  private retries: { invoice: number; n: number }[] = [];
  private card: Card;
  /** The current day (days since 1970-01-01). */
  today: number;

  constructor(
    private readonly s: HourlySetup,
    firstDay: number,
  ) {
    this.card = s.card;
    this.today = firstDay;
  }

  private weekStartOf(day: number) {
    return day - weekday(day);
  }

  /** Entries in the order the product bills them: date, then creation. */
  private ordered() {
    return this.entries
      .map((e, i) => ({ e, i }))
      .filter((x) => x.e.live)
      .sort((a, b) => (a.e.date === b.e.date ? a.i - b.i : a.e.date < b.e.date ? -1 : 1));
  }

  /** The index among live entries, as the implementation addresses them (creation order). */
  liveEntry(e: number): number | undefined {
    const live = this.entries.map((x, i) => ({ x, i })).filter((y) => y.x.live);
    return live.length ? live[e % live.length]!.i : undefined;
  }

  private dayTotal(date: string, except: number | null) {
    return this.entries.reduce((a, e, i) => (e.live && e.date === date && i !== except ? a + e.minutes : a), 0);
  }

  /** The terms of a week: the latest agreed change billing from that Monday or before, else the contract's. */
  private termsFor(week: number): Terms {
    let best: (Terms & { from: number }) | undefined;
    for (const c of this.changes) if (c.from <= week && (!best || c.from >= best.from)) best = c;
    return best ?? { rate: this.s.rate, limit: this.s.limitHours };
  }

  private balance(inv: Invoice) {
    return inv.due - inv.fromEscrow - inv.charged;
  }

  /** An entry's week must still be open: not invoiced, and not past its Monday 00:00. */
  private weekOpen(date: string): boolean {
    return dayNumberOf(date) >= this.weekStartOf(this.today);
  }

  apply(c: HourlyCmd): Outcome {
    switch (c.k) {
      case 'card':
        this.card = c.card;
        return OK;
      case 'log': {
        if (c.who !== 'contractor') return refused('forbidden');
        const date = dateOf(this.today - c.back);
        if (c.back < 0) return refused('validation_failed');
        if (!this.weekOpen(date)) return refused('week_invoiced');
        if (this.dayTotal(date, null) + c.minutes > DAY_MINUTES) return refused('daily_limit_exceeded');
        this.entries.push({ date, minutes: c.minutes, billed: null, live: true });
        return OK;
      }
      case 'edit':
      case 'delete': {
        const i = this.liveEntry(c.e);
        if (i === undefined) return refused('no_entry');
        if (c.who !== 'contractor') return refused('forbidden');
        const e = this.entries[i]!;
        if (e.billed !== null || !this.weekOpen(e.date)) return refused('week_invoiced');
        if (c.k === 'delete') {
          e.live = false;
          return OK;
        }
        if (this.dayTotal(e.date, i) + c.minutes > DAY_MINUTES) return refused('daily_limit_exceeded');
        e.minutes = c.minutes;
        return OK;
      }
      case 'request':
        if (c.who !== 'contractor') return refused('forbidden');
        this.requests.push({ amount: c.amount, status: 'open' });
        return OK;
      case 'accept':
      case 'decline':
      case 'withdraw': {
        const r = this.requests[c.r];
        if (!r) return refused('no_request');
        if (c.who !== (c.k === 'withdraw' ? 'contractor' : 'client')) return refused('forbidden');
        if (r.status !== 'open') return refused('invalid_state');
        if (c.k === 'accept') {
          // The client funds the milestone from their default card (the test names a good card
          // when the default is the later-failing one: a deposit failing later is model.test.ts's).
          if (this.card === 'declined') return refused('payment_declined');
          const fee = feeOn(r.amount, this.s.fees.clientBps);
          this.acc.world -= r.amount + fee;
          this.acc.feesClient += fee;
          this.milestones.push({ amount: r.amount, released: 0, feeSoFar: 0 });
        }
        r.status = ({ accept: 'accepted', decline: 'declined', withdraw: 'withdrawn' } as const)[c.k];
        return OK;
      }
      case 'pay': {
        const inv = this.invoices[c.i];
        if (!inv) return refused('no_invoice');
        if (c.who !== 'client') return refused('forbidden');
        if (inv.status === 'paid' || inv.status === 'void' || inv.pending || inv.dispute?.open) return refused('invalid_state');
        // The card is charged after commit: what escrow paid stays paid, a declined card is refused.
        return this.settle(c.i, 'client') ? OK : refused('payment_declined');
      }
      case 'terms': {
        if (this.proposal) return refused('change_request_open');
        const from = this.weekStartOf(this.today) + 7;
        const now = this.termsFor(from);
        const next = { rate: c.rate ?? now.rate, limit: c.limit === undefined ? now.limit : c.limit };
        if (c.who === 'client') {
          this.changes.push({ ...next, from });
          this.termsRows.push({ ...next, status: 'accepted' });
        } else {
          this.proposal = { row: this.termsRows.length, by: c.who };
          this.termsRows.push({ ...next, status: 'proposed' });
        }
        return OK;
      }
      case 'answerTerms': {
        const p = this.proposal;
        if (!p) return refused('no_terms');
        if ((c.answer === 'withdraw') !== (c.who === p.by)) return refused('forbidden');
        const row = this.termsRows[p.row]!;
        row.status = ({ accept: 'accepted', decline: 'declined', withdraw: 'withdrawn' } as const)[c.answer];
        if (c.answer === 'accept') this.changes.push({ rate: row.rate, limit: row.limit, from: this.weekStartOf(this.today) + 7 });
        this.proposal = null;
        return OK;
      }
      case 'dispute': {
        const inv = this.invoices[c.i];
        if (!inv) return refused('no_invoice');
        if (c.who !== 'client') return refused('forbidden');
        // The review window ends at the Wednesday 00:00 the invoice is due.
        if (inv.status !== 'open' || inv.pending || inv.dispute || this.today >= inv.week + 9) return refused('invalid_state');
        inv.dispute = { day: this.today, open: true };
        return OK;
      }
      case 'resolve': {
        const inv = this.invoices[c.i];
        if (!inv?.dispute) return refused('no_dispute');
        if (!inv.dispute.open) return refused('invalid_state');
        const owed = this.balance(inv);
        this.resolve(c.i, Math.floor((owed * c.pct) / 100));
        return OK;
      }
    }
  }

  /** A dispute settles once: the refund comes off what is owed, the release is paid now (escrow, then the card). */
  private resolve(i: number, release: number) {
    const inv = this.invoices[i]!;
    inv.dispute!.open = false;
    inv.due -= this.balance(inv) - release;
    if (release === 0) inv.status = 'void';
    else this.settle(i, 'resolution');
  }

  /** The worker's run at 01:00 of a new day. */
  newDay() {
    this.today += 1;
    // Retries scheduled yesterday; those scheduled by today's run are due tomorrow.
    const due = this.retries;
    this.retries = [];
    // First the worker's sweep: a charge accepted to settle later has failed.
    this.invoices.forEach((inv, i) => {
      if (!inv.pending) return;
      this.payments[inv.pending.payment] = this.payments[inv.pending.payment]!.replace(/processing$/, 'failed');
      inv.pending = null;
      this.pastDue(i);
    });
    const wd = weekday(this.today);
    if (wd === 0) this.invoiceWeek(this.today - 7);
    if (wd === 2) {
      this.invoices.forEach((inv, i) => {
        if (inv.week + 9 === this.today && inv.status === 'open' && !inv.pending && !inv.dispute?.open) this.settle(i, 'schedule');
      });
    }
    for (const r of due) {
      const inv = this.invoices[r.invoice]!;
      if (inv.status !== 'past_due' || inv.pending || inv.retries >= r.n) continue;
      inv.retries = r.n;
      this.settle(r.invoice, 'retry');
    }
    // A dispute opened at noon and not answered in 7 days: the client, who opened it, wins (nothing owed).
    this.invoices.forEach((inv, i) => {
      if (inv.dispute?.open && this.today >= inv.dispute.day + 8) this.resolve(i, 0);
    });
  }

  /** Monday: one invoice for last week's time, billing in date order up to the limit. */
  private invoiceWeek(week: number) {
    const inWeek = this.ordered().filter((x) => {
      const d = dayNumberOf(x.e.date);
      return d >= week && d < week + 7 && x.e.billed === null;
    });
    if (inWeek.length === 0) return;
    const terms = this.termsFor(week);
    const cap = terms.limit === null ? Infinity : terms.limit * 60;
    let used = 0;
    for (const { e } of inWeek) {
      e.billed = Math.max(0, Math.min(e.minutes, cap - used));
      used += e.minutes;
    }
    const logged = inWeek.reduce((a, x) => a + x.e.minutes, 0);
    const billed = Math.min(logged, cap);
    const amount = hoursAmount(billed, terms.rate);
    this.invoices.push({ week, logged, billed, rate: terms.rate, amount, due: amount, status: 'open', pending: null, dispute: null, fromEscrow: 0, charged: 0, retries: 0 });
  }

  /**
   * Escrow first, oldest milestone first, partially if need be; the rest on the client's card.
   * Returns false if the card was declined: what escrow paid stays paid; the worker (or a
   * dispute's resolution) leaves the invoice past due, the client's own payment is refused.
   * A card that fails later leaves the charge pending until the next day's sweep.
   */
  private settle(i: number, mode: 'schedule' | 'retry' | 'resolution' | 'client'): boolean {
    const inv = this.invoices[i]!;
    let rest = this.balance(inv);
    for (const m of this.milestones) {
      if (rest === 0) break;
      const held = m.amount - m.released;
      if (held === 0) continue;
      const take = Math.min(held, rest);
      m.released += take;
      const fee = feeOn(m.released, this.s.fees.contractorBps) - m.feeSoFar;
      m.feeSoFar += fee;
      this.acc.contractor += take - fee;
      this.acc.feesContractor += fee;
      this.payments.push(`invoice ${take} ${fee} paid`);
      inv.fromEscrow += take;
      rest -= take;
    }
    if (rest > 0) {
      if (this.card === 'declined') {
        if (mode !== 'client') this.pastDue(i);
        return false;
      }
      if (this.card === 'later') {
        inv.pending = { payment: this.payments.length };
        this.payments.push(`invoice ${rest} 0 processing`);
        return true;
      }
      const clientFee = feeOn(rest, this.s.fees.clientBps);
      const contractorFee = feeOn(rest, this.s.fees.contractorBps);
      this.acc.world -= rest + clientFee;
      this.acc.feesClient += clientFee;
      this.acc.contractor += rest - contractorFee;
      this.acc.feesContractor += contractorFee;
      this.payments.push(`invoice ${rest} ${contractorFee} paid`);
      inv.charged += rest;
    }
    inv.status = 'paid';
    return true;
  }

  /** Past due: both parties told the first time, retried the next day, RETRIES times. */
  private pastDue(i: number) {
    const inv = this.invoices[i]!;
    if (inv.status !== 'past_due') this.pastDueNotices++;
    inv.status = 'past_due';
    if (inv.retries < RETRIES) this.retries.push({ invoice: i, n: inv.retries + 1 });
  }

  observe(): HourlyObserved {
    const balances: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.acc)) if (v !== 0) balances[k] = v;
    this.milestones.forEach((m, i) => {
      if (m.amount - m.released !== 0) balances[`escrow:${i}`] = m.amount - m.released;
    });
    return {
      entries: this.ordered().map(({ e }) => `${e.date} ${e.minutes} ${e.billed ?? '-'}`),
      requests: this.requests.map((r) => `${r.amount} ${r.status}`),
      escrow: this.milestones.map((m) => m.amount - m.released),
      invoices: [...this.invoices]
        .sort((a, b) => a.week - b.week)
        .map((v) => ({
          week: dateOf(v.week), logged: v.logged, billed: v.billed, rate: v.rate, amount: v.amount, due: v.due, status: v.status, pending: v.pending !== null,
          fromEscrow: v.fromEscrow, charged: v.charged, retries: v.retries,
        })),
      payments: [...this.payments].sort(),
      balances,
      pastDueNotices: this.pastDueNotices,
      terms: this.termsRows.map((t) => `${t.rate} ${t.limit ?? '-'} ${t.status}`).sort(),
    };
  }
}

/** A contract's life: its setup, and for each day of the timeline what the parties do at noon. */
export type HourlySequence = { setup: HourlySetup; days: HourlyCmd[][] };

const party = (natural: Who) => fc.oneof({ weight: 12, arbitrary: fc.constant(natural) }, { weight: 1, arbitrary: fc.constant<Who>(natural === 'client' ? 'contractor' : 'client') });
const minutesArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 600 }) }, { weight: 1, arbitrary: fc.integer({ min: 600, max: 1440 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) });
const amountArb = fc.oneof(fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 1, max: 100 }));
const rateArb = fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 130 }));
const limitArb = fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 40 }));

export const hourlyCmdArb: fc.Arbitrary<HourlyCmd> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant('log' as const), who: party('contractor'), back: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 8 }) }), minutes: minutesArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), who: party('contractor'), e: fc.nat({ max: 20 }), minutes: minutesArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), who: party('contractor'), e: fc.nat({ max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('request' as const), who: party('contractor'), amount: amountArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('accept' as const), who: party('client'), r: fc.nat({ max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom('decline' as const, 'withdraw' as const), who: fc.constantFrom<Who>('client', 'contractor'), r: fc.nat({ max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('pay' as const), who: party('client'), i: fc.nat({ max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('card' as const), card: fc.constantFrom<Card>('ok', 'declined', 'later') }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({ k: fc.constant('terms' as const), who: fc.constantFrom<Who>('client', 'contractor'), rate: rateArb }),
      fc.record({ k: fc.constant('terms' as const), who: fc.constantFrom<Who>('client', 'contractor'), limit: limitArb }),
      fc.record({ k: fc.constant('terms' as const), who: fc.constantFrom<Who>('client', 'contractor'), rate: rateArb, limit: limitArb }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('answerTerms' as const), who: party('client'), answer: fc.constantFrom('accept' as const, 'accept' as const, 'decline' as const, 'withdraw' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dispute' as const), who: party('client'), i: fc.nat({ max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('resolve' as const), i: fc.nat({ max: 3 }), pct: fc.oneof(fc.constant(0), fc.constant(100), fc.integer({ min: 0, max: 100 })) }) },
);

export const hourlySetupArb: fc.Arbitrary<HourlySetup> = fc.record({
  rate: rateArb,
  limitHours: limitArb,
  fees: fc.record({ clientBps: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1500 })), contractorBps: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 })) }),
  card: fc.oneof({ weight: 6, arbitrary: fc.constant<Card>('ok') }, { weight: 2, arbitrary: fc.constant<Card>('declined') }, { weight: 1, arbitrary: fc.constant<Card>('later') }),
});

/** `days` days of commands, most days one or two, some none. */
export const hourlySequenceArb = (days: number): fc.Arbitrary<HourlySequence> =>
  fc.record({ setup: hourlySetupArb, days: fc.array(fc.array(hourlyCmdArb, { maxLength: 3 }), { minLength: days, maxLength: days }) });
