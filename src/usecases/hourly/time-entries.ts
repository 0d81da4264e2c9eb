import { findTimeEntry, type TimeEntryRow } from '../../db/repos/hourly.ts';
import type { ContractRow } from '../../db/repos/contracts.ts';
import { findContract } from '../../db/repos/contracts.ts';
import { forbidden, notFound, validation } from '../../domain/errors.ts';
import { addDays, assertDayFits, assertEntryDate, isDate, localDate, termsForWeek, weekFigures, weekInvoiced, weekOf, weekStart, type DateStr } from '../../domain/hourly.ts';
import { newId } from '../../domain/ids.ts';
import { partyRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { enqueueJob } from '../record.ts';
import { assertVersion } from '../run-milestone-command.ts';
import { assertActive, initialTerms, loadHourlyContract, platformTimeZone, termsChanges } from './hourly-contract.ts';

export type TimeEntryInput = { date: string; minutes: number; memo: string };

/**
 * A week is open for time until it is invoiced: the Monday 00:00 after it, or earlier if an
 * invoice for it exists already (a test clock moved back, a job that ran ahead).
 */
async function assertWeekOpen(ctx: UseCaseCtx, contract: ContractRow, date: DateStr, tz: string, field = 'date'): Promise<void> {
  assertEntryDate(date, ctx.now, tz, field);
  const start = weekStart(date);
  const [inv] = await ctx.tx.query('SELECT 1 FROM invoices WHERE contract_id = $1 AND period_start = $2', [contract.id, start]);
  if (inv) throw weekInvoiced(start);
}

async function minutesOn(ctx: UseCaseCtx, contractId: string, date: DateStr, except: string | null): Promise<number> {
  const [row] = await ctx.tx.query<{ m: number }>(
    'SELECT COALESCE(SUM(minutes), 0)::int AS m FROM time_entries WHERE contract_id = $1 AND date = $2 AND id IS DISTINCT FROM $3',
    [contractId, date, except],
  );
  return row!.m;
}

/** Monday's invoicing run for a week, scheduled by the first entry of any contract of the platform in that week. */
async function scheduleInvoicing(ctx: UseCaseCtx, platformId: string, date: DateStr, tz: string) {
  const week = weekOf(date, tz);
  await enqueueJob(ctx, {
    kind: 'hourly_invoicing',
    payload: { periodStart: week.start },
    platformId,
    runAt: week.invoiceAt,
    dedupeKey: `hourly-invoicing:${platformId}:${week.start}`,
  });
}

/** The contractor logs time on a live hourly contract. */
export async function logTimeEntry(ctx: UseCaseCtx, contractId: string, input: TimeEntryInput): Promise<TimeEntryRow> {
  const { contract, role } = await loadHourlyContract(ctx, contractId, true);
  if (role !== 'contractor') throw forbidden('only the contractor logs time');
  assertActive(contract);
  const tz = await platformTimeZone(ctx.tx, contract.platform_id);
  await assertWeekOpen(ctx, contract, input.date, tz);
  assertDayFits(input.date, await minutesOn(ctx, contract.id, input.date, null), input.minutes);
  const [row] = await ctx.tx.query<TimeEntryRow>(
    `INSERT INTO time_entries (id, platform_id, contract_id, date, minutes, memo, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$7) RETURNING *`,
    [newId('timeEntry'), contract.platform_id, contract.id, input.date, input.minutes, input.memo, ctx.now],
  );
  await scheduleInvoicing(ctx, contract.platform_id, input.date, tz);
  return row!;
}

/** Loads an entry for a change by the contractor: contract locked first, then the entry. */
async function loadForChange(ctx: UseCaseCtx, id: string) {
  const peek = await findTimeEntry(ctx.tx, ctx.principal.platformId, id);
  if (!peek) throw notFound('time entry');
  const contract = (await findContract(ctx.tx, ctx.principal.platformId, peek.contract_id, true))!;
  const role = partyRole(ctx, contract, 'time entry');
  if (role !== 'contractor') throw forbidden('only the contractor changes time entries');
  const entry = (await findTimeEntry(ctx.tx, contract.platform_id, id, true))!;
  const tz = await platformTimeZone(ctx.tx, contract.platform_id);
  if (entry.invoice_id) throw weekInvoiced(weekStart(entry.date));
  await assertWeekOpen(ctx, contract, entry.date, tz);
  return { contract, entry, tz };
}

export async function editTimeEntry(ctx: UseCaseCtx, id: string, input: Partial<TimeEntryInput> & { expectedVersion?: number }): Promise<TimeEntryRow> {
  const { contract, entry, tz } = await loadForChange(ctx, id);
  assertVersion(entry, input.expectedVersion);
  assertActive(contract);
  const next = { date: input.date ?? entry.date, minutes: input.minutes ?? entry.minutes, memo: input.memo ?? entry.memo };
  if (next.date !== entry.date) await assertWeekOpen(ctx, contract, next.date, tz);
  assertDayFits(next.date, await minutesOn(ctx, contract.id, next.date, entry.id), next.minutes);
  const [row] = await ctx.tx.query<TimeEntryRow>(
    'UPDATE time_entries SET date = $2, minutes = $3, memo = $4, version = version + 1, updated_at = $5 WHERE id = $1 RETURNING *',
    [id, next.date, next.minutes, next.memo, ctx.now],
  );
  if (next.date !== entry.date) await scheduleInvoicing(ctx, contract.platform_id, next.date, tz);
  return row!;
}

export async function deleteTimeEntry(ctx: UseCaseCtx, id: string, expectedVersion?: number): Promise<void> {
  const { entry } = await loadForChange(ctx, id);
  assertVersion(entry, expectedVersion);
  await ctx.tx.query('DELETE FROM time_entries WHERE id = $1', [id]);
}

const MAX_RANGE_DAYS = 366;

/**
 * Both parties (and the admin) list a contract's entries between two dates, by default the
 * current week, with a summary of every week the range touches: logged, billable under the
 * limit, unbilled past it, the amount so far, and the invoice once there is one.
 */
export async function listTimeEntries(ctx: UseCaseCtx, contractId: string, range: { from?: string; to?: string }) {
  const { contract } = await loadHourlyContract(ctx, contractId, false);
  const tz = await platformTimeZone(ctx.tx, contract.platform_id);
  const today = localDate(ctx.now, tz);
  const from = range.from ?? weekStart(range.to ?? today);
  const to = range.to ?? addDays(weekStart(from), 6);
  if (!isDate(from)) throw validation('from', 'must be a real date as YYYY-MM-DD');
  if (!isDate(to)) throw validation('to', 'must be a real date as YYYY-MM-DD');
  if (to < from) throw validation('to', 'must not be before from');
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * 86_400_000) throw validation('to', `the range spans at most ${MAX_RANGE_DAYS} days`);
  const first = weekStart(from);
  const last = addDays(weekStart(to), 6);
  const rows = await ctx.tx.query<TimeEntryRow>('SELECT * FROM time_entries WHERE contract_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date, id', [contract.id, first, last]);
  const invoices = await ctx.tx.query<{ id: string; period_start: string; status: string; billed_minutes: number; amount: number }>(
    'SELECT id, period_start, status, billed_minutes, amount FROM invoices WHERE contract_id = $1 AND period_start BETWEEN $2 AND $3',
    [contract.id, first, last],
  );
  const changes = await termsChanges(ctx.tx, contract.id);
  const weeks = [];
  for (let w = first; w <= last; w = addDays(w, 7)) {
    const logged = rows.filter((r) => weekStart(r.date) === w).reduce((a, r) => a + r.minutes, 0);
    const terms = termsForWeek(initialTerms(contract), changes, w);
    const invoice = invoices.find((i) => i.period_start === w);
    weeks.push({
      weekStart: w,
      weekEnd: addDays(w, 6),
      ...terms,
      ...weekFigures(logged, terms),
      closed: ctx.now >= weekOf(w, tz).invoiceAt || Boolean(invoice),
      invoiceId: invoice?.id ?? null,
      invoiceStatus: invoice?.status ?? null,
    });
  }
  return { contract, from, to, entries: rows.filter((r) => r.date >= from && r.date <= to), weeks };
}
