import { Accounts, describeAccount } from '../../ledger/accounts.ts';
import { invoiceNumber, termsForWeek, weekFigures, weekOf, type TermsChange } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import type { UseCaseCtx } from '../context.ts';
import { RetryLater } from '../settle-charges.ts';
import { PAYMENT_BATCH } from './pay-invoice.ts';
import { initialTerms, platformTimeZone } from './hourly-contract.ts';

type WeekTotal = {
  contract_id: string;
  client_id: string;
  contractor_id: string;
  currency: string;
  hourly_rate: number;
  weekly_limit_hours: number | null;
  logged: number;
  changes: TermsChange[] | null;
};

/**
 * Monday's job (state job `hourly_invoicing`, one per platform and week): one invoice per
 * hourly contract with time in the week just ended, billing at most the weekly limit, its
 * amount rounded once; the week's entries become its lines; their payment is scheduled for
 * Wednesday 00:00, in batches. Set-based (a handful of statements whatever the number of
 * contracts), and idempotent: the invoice is unique per contract and week, and entries
 * already on an invoice are not billed again, so a second run, here or in another worker,
 * creates nothing.
 */
export async function createWeeklyInvoices(ctx: UseCaseCtx, periodStart: string): Promise<string> {
  const { tx, now } = ctx;
  const platformId = ctx.principal.platformId;
  const tz = await platformTimeZone(tx, platformId);
  const week = weekOf(periodStart, tz);
  // The platform's time zone changed after the job was scheduled: wait for the week's end there.
  if (now < week.invoiceAt) throw new RetryLater(`the week of ${week.start} ends at ${week.invoiceAt.toISOString()}`);

  const totals = await tx.query<WeekTotal>(
    `SELECT c.id AS contract_id, c.client_id, c.contractor_id, c.currency, c.hourly_rate, c.weekly_limit_hours, t.logged,
       (SELECT json_agg(json_build_object('hourlyRate', h.hourly_rate, 'weeklyLimitHours', h.weekly_limit_hours, 'effectiveFrom', h.effective_from) ORDER BY h.effective_from, h.answered_at, h.id)
        FROM hourly_terms h WHERE h.contract_id = c.id AND h.status = 'accepted') AS changes
     FROM (SELECT contract_id, SUM(minutes)::int AS logged FROM time_entries
           WHERE platform_id = $1 AND date BETWEEN $2 AND $3 AND invoice_id IS NULL GROUP BY contract_id) t
     JOIN contracts c ON c.id = t.contract_id
     WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.contract_id = c.id AND i.period_start = $2)`,
    [platformId, week.start, week.end],
  );
  if (totals.length === 0) return 'no time logged';

  const cols = {
    id: [] as string[], contract: [] as string[], number: [] as string[], client: [] as string[], contractor: [] as string[],
    logged: [] as number[], billed: [] as number[], rate: [] as number[], limit: [] as (number | null)[], amount: [] as number[], currency: [] as string[],
  };
  for (const t of totals) {
    const terms = termsForWeek(initialTerms(t), t.changes ?? [], week.start);
    const f = weekFigures(t.logged, terms);
    cols.id.push(newId('invoice'));
    cols.contract.push(t.contract_id);
    cols.number.push(invoiceNumber(week.start, t.contract_id));
    cols.client.push(t.client_id);
    cols.contractor.push(t.contractor_id);
    cols.logged.push(f.loggedMinutes);
    cols.billed.push(f.billableMinutes);
    cols.rate.push(terms.hourlyRate);
    cols.limit.push(terms.weeklyLimitHours);
    cols.amount.push(f.amount);
    cols.currency.push(t.currency);
  }
  const created = await tx.query<{ id: string; contract_id: string }>(
    `INSERT INTO invoices (id, platform_id, contract_id, number, client_id, contractor_id, period_start, period_end, logged_minutes, billed_minutes,
       hourly_rate, weekly_limit_hours, amount, amount_due, currency, status, due_at, due_date, created_at, updated_at)
     SELECT x.id, $1, x.contract_id, x.number, x.client_id, x.contractor_id, $2, $3, x.logged, x.billed, x.rate, x.lim, x.amount, x.amount, x.currency,
       'open', $4, $5, $6, $6
     FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[], $14::bigint[], $15::int[], $16::bigint[], $17::text[])
       AS x(id, contract_id, number, client_id, contractor_id, logged, billed, rate, lim, amount, currency)
     ON CONFLICT (contract_id, period_start) DO NOTHING
     RETURNING id, contract_id`,
    [platformId, week.start, week.end, week.payAt, week.payDate, now,
     cols.id, cols.contract, cols.number, cols.client, cols.contractor, cols.logged, cols.billed, cols.rate, cols.limit, cols.amount, cols.currency],
  );
  const ids = created.map((r) => r.id);
  const totalOf = new Map(totals.map((t) => [t.contract_id, t]));
  await openPartyAccounts(ctx, created.map((r) => totalOf.get(r.contract_id)!));
  // The week's entries become the invoice's lines. Under a limit, entries bill in date order
  // until the limit is reached; the rest stay visible with 0 billed minutes.
  await tx.query(
    `UPDATE time_entries t SET invoice_id = x.invoice_id, billed_minutes = x.billed
     FROM (
       SELECT e.id, i.id AS invoice_id,
         CASE WHEN i.weekly_limit_hours IS NULL THEN e.minutes
              ELSE GREATEST(0, LEAST(e.minutes, i.weekly_limit_hours * 60 - (SUM(e.minutes) OVER (PARTITION BY e.contract_id ORDER BY e.date, e.id) - e.minutes))) END AS billed
       FROM invoices i JOIN time_entries e ON e.contract_id = i.contract_id AND e.date BETWEEN i.period_start AND i.period_end AND e.invoice_id IS NULL
       WHERE i.id = ANY($1)
     ) x
     WHERE t.id = x.id`,
    [ids],
  );
  // Wednesday's payments: one state job per PAYMENT_BATCH invoices in contract order, so that
  // any number of workers share the work and a commit serves a whole batch (one job per invoice
  // made each claim and commit the cost of the payment itself).
  const batches: string[][] = [];
  const inOrder = [...created].sort((x, y) => (x.contract_id < y.contract_id ? -1 : 1)).map((r) => r.id);
  for (let i = 0; i < inOrder.length; i += PAYMENT_BATCH) batches.push(inOrder.slice(i, i + PAYMENT_BATCH));
  await tx.query(
    `INSERT INTO jobs (id, platform_id, kind, payload, run_at, dedupe_key, created_at, updated_at)
     SELECT x.job_id, $1, 'invoice_payment', jsonb_build_object('invoiceIds', x.ids::jsonb), $2, 'invoice-payments:' || (x.ids::jsonb ->> 0), $3, $3
     FROM unnest($4::text[], $5::text[]) AS x(job_id, ids)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [platformId, week.payAt, now, batches.map(() => newId('job')), batches.map((b) => JSON.stringify(b))],
  );
  return `${ids.length} invoices for the week of ${week.start}`;
}

/**
 * Opens the shared ledger accounts Wednesday's payments of these invoices post to (the
 * parties' funding and balance accounts, the fee accounts, the world), in address order and
 * committed with Monday's job. postEntry would create a missing one itself, but inside a
 * payment batch: a second batch paying the same contractor would then wait for the first
 * batch's commit, and batches sharing new parties would run one after another.
 */
async function openPartyAccounts(ctx: UseCaseCtx, parties: Pick<WeekTotal, 'client_id' | 'contractor_id' | 'currency'>[]): Promise<void> {
  const wanted = new Map<string, { address: string; currency: string }>();
  for (const p of parties) {
    for (const address of [Accounts.world(), Accounts.clientFees(), Accounts.contractorFees(), Accounts.clientFunding(p.client_id), Accounts.contractorBalance(p.contractor_id)]) {
      wanted.set(`${p.currency}:${address}`, { address, currency: p.currency });
    }
  }
  const rows = [...wanted.values()].sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : x.currency < y.currency ? -1 : 1));
  await ctx.tx.query(
    `INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
     SELECT $1, a.address, a.currency, a.kind, NULL, a.allow_negative, NULL, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[]) WITH ORDINALITY AS a(address, currency, kind, allow_negative, n)
     ORDER BY a.n
     ON CONFLICT DO NOTHING`,
    [ctx.principal.platformId, ctx.now, rows.map((r) => r.address), rows.map((r) => r.currency), rows.map((r) => describeAccount(r.address).kind), rows.map((r) => describeAccount(r.address).allowNegative)],
  );
}
