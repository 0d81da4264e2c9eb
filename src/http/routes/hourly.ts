import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { invoiceLines, toInvoice, toMilestoneRequest, toTimeEntry, type InvoiceRow, type MilestoneRequestRow, type TimeEntryRow } from '../../db/repos/hourly.ts';
import { listByParty } from '../../db/repos/party-list.ts';
import { renderInvoicePdf } from '../../documents/invoice-pdf.ts';
import { isPlatformAdmin, type UseCaseCtx } from '../../usecases/context.ts';
import { hourlyOverview } from '../../usecases/hourly/hourly-overview.ts';
import { answerHourlyTerms, changeHourlyTerms, listHourlyTerms, type HourlyTermsRow } from '../../usecases/hourly/hourly-terms.ts';
import { loadHourlyContract } from '../../usecases/hourly/hourly-contract.ts';
import { disputeInvoice } from '../../usecases/hourly/invoice-disputes.ts';
import { answerMilestoneRequest, listMilestoneRequests, loadMilestoneRequest, requestMilestone } from '../../usecases/hourly/milestone-requests.ts';
import { loadInvoice, payInvoice, voidInvoice } from '../../usecases/hourly/pay-invoice.ts';
import { deleteTimeEntry, editTimeEntry, listTimeEntries, logTimeEntry } from '../../usecases/hourly/time-entries.ts';
import { loadPlatform } from '../../usecases/platform-settings.ts';
import type { RouteContext } from '../app.ts';
import { sendCsv, toCsv, wantsCsv } from '../csv.ts';
import { presentDispute, decodeCursor, page } from '../present.ts';
import { toProblem, sendProblem } from '../problem.ts';
import { Amount, DisputeSchema, exampleId, ExpectedVersion, Id, IdParams, ListQuery, Page, PaymentMethod, Reason, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

// ---- Schemas (they also document the API) -----------------------------------------------

const at = '2026-11-23T00:00:00.000Z';
const DateOnly = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD').meta({ example: '2026-11-18', description: 'A day (YYYY-MM-DD)' });
const Minutes = z.number().int('must be a whole number of minutes').min(1, 'must be at least 1').max(1440, 'must be at most 1440 (24 hours)').describe('Minutes of work (1–1440; at most 24 hours a day in all)');
const Memo = z.string().trim().max(2000, 'must be at most 2000 characters').describe('What the time was spent on (at most 2000 characters)');
const Format = z.enum(['json', 'csv']).optional().meta({ description: 'csv: the same rows as text/csv (also chosen by `Accept: text/csv`).' });

const exEntry = { id: exampleId('timeEntry'), contractId: exampleId('contract'), date: '2026-11-18', minutes: 150, memo: 'Checkout flow: payment form', invoiceId: null, billedMinutes: null, version: 1, createdAt: at, updatedAt: at };

export const TimeEntrySchema = z
  .object({
    id: z.string(), contractId: z.string(), date: z.string(), minutes: z.number().int(), memo: z.string(),
    invoiceId: z.string().nullable().describe('The invoice that billed it; null until its week is invoiced'),
    billedMinutes: z.number().int().nullable().describe('Minutes of it billed (fewer past the weekly limit); null until invoiced'),
    version: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp,
  })
  .meta({ id: 'TimeEntry', description: 'Time a contractor logged on an hourly contract for one day.', example: exEntry });

const WeekSchema = z
  .object({
    weekStart: z.string().describe('The Monday (YYYY-MM-DD, platform time zone)'), weekEnd: z.string().describe('The Sunday (YYYY-MM-DD)'),
    hourlyRate: z.number().int(), weeklyLimitHours: z.number().int().nullable(),
    loggedMinutes: z.number().int().describe('Minutes logged in the week'),
    billableMinutes: z.number().int().describe('Minutes billed: the logged ones up to the weekly limit'),
    unbilledMinutes: z.number().int().describe('Minutes past the weekly limit: kept visible, never billed'),
    amount: z.number().int().describe('The week’s amount so far: round half up (billableMinutes × hourlyRate / 60)'),
    closed: z.boolean().meta({ description: 'True once the week is invoiced (the Monday 00:00 after it): its entries no longer change.' }),
    invoiceId: z.string().nullable().describe('The week’s invoice; null before Monday’s invoicing'),
    invoiceStatus: z.string().nullable().describe('The invoice’s status; null without one'),
  })
  .meta({ id: 'TimesheetWeek', description: 'One week of a timesheet with its totals against the weekly limit.' });
const exWeek = { weekStart: '2026-11-16', weekEnd: '2026-11-22', hourlyRate: 4500, weeklyLimitHours: 20, loggedMinutes: 1380, billableMinutes: 1200, unbilledMinutes: 180, amount: 90000, closed: false, invoiceId: null, invoiceStatus: null };

const TimesheetSchema = z
  .object({
    from: z.string().describe('First day listed (YYYY-MM-DD)'),
    to: z.string().describe('Last day listed (YYYY-MM-DD)'),
    currency: z.string(),
    data: z.array(TimeEntrySchema).describe('The time entries between `from` and `to`, by date'),
    weeks: z.array(WeekSchema).describe('A summary of each week the range touches'),
  })
  .meta({ id: 'Timesheet', description: 'Time entries of a range of days, with a summary per week.', example: { from: '2026-11-16', to: '2026-11-22', currency: 'USD', data: [exEntry], weeks: [exWeek] } });

export const InvoiceSchema = z
  .object({
    id: z.string(), number: z.string().describe('The invoice number printed on the PDF'), contractId: z.string(), clientId: z.string(), contractorId: z.string(),
    periodStart: z.string().describe('The Monday of the invoiced week (YYYY-MM-DD)'), periodEnd: z.string().describe('The Sunday of the invoiced week'),
    loggedMinutes: z.number().int().describe('Minutes logged in the week'), billedMinutes: z.number().int().describe('Minutes billed (up to the weekly limit)'),
    unbilledMinutes: z.number().int().describe('Minutes past the weekly limit, not billed'),
    hourlyRate: z.number().int(), weeklyLimitHours: z.number().int().nullable(),
    amount: z.number().int().meta({ description: 'round half up (billedMinutes × hourlyRate / 60), once per invoice' }),
    amountDue: z.number().int().meta({ description: 'the amount, or what a dispute resolution left owed' }),
    currency: z.string(), status: z.enum(['open', 'paid', 'past_due', 'void']).describe('`open` until Wednesday’s payment; `past_due` after a failed charge (retried daily for 7 days); `void`: cancelled by the admin'),
    dueDate: z.string().meta({ description: 'the Wednesday it is paid (platform time zone)' }), dueAt: Timestamp.describe('The moment it is paid: Wednesday 00:00 in the platform’s time zone'),
    paidFromEscrow: z.number().int().describe('Paid from the contract’s escrowed milestone payments, in minor units'),
    charged: z.number().int().describe('Charged to the client’s payment method, in minor units'),
    clientFee: z.number().int().describe('The platform’s client fee charged on top, in minor units'),
    balanceDue: z.number().int().describe('Still to pay, in minor units'),
    chargePending: z.boolean().describe('A card charge is on its way: made after commit and not answered yet, or accepted and not settled yet'),
    pendingApproval: z
      .object({ by: z.string().describe('The member who paid it first'), at: Timestamp.describe('When they did') })
      .nullable()
      .describe('Four eyes: a first member of the client organisation paid this invoice at or above its approval threshold; another member must pay it too before the card is charged. Null otherwise'),
    pastDueReason: z.string().nullable().describe('Why the last charge failed; null unless past due'),
    disputeId: z.string().nullable().describe('The client’s dispute of the invoice; null when none'),
    paidAt: Timestamp.nullable(), version: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp,
    lines: z
      .array(
        z.object({
          entryId: z.string().describe('The time entry'),
          date: z.string(),
          minutes: z.number().int().describe('Minutes logged'),
          billedMinutes: z.number().int().describe('Minutes of it billed'),
          memo: z.string(),
        }),
      )
      .optional()
      .describe('One line per time entry (on the single-invoice answer)'),
  })
  .meta({
    id: 'Invoice',
    description: 'The weekly invoice of an hourly contract, paid on Wednesday from escrow first, then by card.',
    example: {
      id: exampleId('invoice'), number: 'INV-20261116-Q4Z9V6X7M3K8', contractId: exampleId('contract'), clientId: exampleId('user', 1), contractorId: exampleId('user', 2),
      periodStart: '2026-11-16', periodEnd: '2026-11-22', loggedMinutes: 1380, billedMinutes: 1200, unbilledMinutes: 180, hourlyRate: 4500, weeklyLimitHours: 20,
      amount: 90000, amountDue: 90000, currency: 'USD', status: 'paid', dueDate: '2026-11-25', dueAt: '2026-11-25T00:00:00.000Z', paidFromEscrow: 50000, charged: 40000,
      clientFee: 0, balanceDue: 0, chargePending: false, pendingApproval: null, pastDueReason: null, disputeId: null, paidAt: '2026-11-25T00:00:01.000Z', version: 4, createdAt: at, updatedAt: at,
      lines: [{ entryId: exampleId('timeEntry'), date: '2026-11-18', minutes: 150, billedMinutes: 150, memo: 'Checkout flow: payment form' }],
    },
  });

export const MilestoneRequestSchema = z
  .object({
    id: z.string(), contractId: z.string(), requestedBy: z.string().describe('The contractor who asked'), amount: z.number().int().describe('The payment asked for, in minor units'),
    currency: z.string(), description: z.string().describe('What the payment is for'),
    status: z.enum(['open', 'accepted', 'declined', 'withdrawn']).describe('`open` until the client accepts or declines it or the contractor withdraws it'),
    declineReason: z.string().nullable().describe('Why the client declined; null otherwise'),
    milestoneId: z.string().nullable().describe('The funded milestone its acceptance created; null otherwise'),
    answeredBy: z.string().nullable().describe('Who accepted or declined it'), answeredAt: Timestamp.nullable(), version: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp,
  })
  .meta({
    id: 'MilestoneRequest',
    description: 'A contractor’s request for a milestone payment on an hourly contract; accepted, it is funded in escrow.',
    example: {
      id: exampleId('milestoneRequest'), contractId: exampleId('contract'), requestedBy: exampleId('user', 2), amount: 50000, currency: 'USD',
      description: 'Advance for the next two weeks', status: 'accepted', declineReason: null, milestoneId: exampleId('milestone'), answeredBy: exampleId('user', 1),
      answeredAt: at, version: 2, createdAt: at, updatedAt: at,
    },
  });

const HourlyOverviewSchema = z
  .object({
    contractId: z.string(), currency: z.string(), thisWeek: WeekSchema,
    invoiced: z.number().int().describe('Invoiced in all, in minor units'), paid: z.number().int().describe('Paid in all'),
    open: z.number().int().describe('Invoiced and waiting for Wednesday'), pastDue: z.number().int().describe('Owed on past-due invoices'),
    inEscrow: z.number().int(), openRequests: z.number().int().describe('Milestone requests waiting for the client'),
  })
  .meta({ id: 'HourlyOverview', description: 'An hourly contract at a glance: this week’s hours and the money (minor units).', example: { contractId: exampleId('contract'), currency: 'USD', thisWeek: exWeek, invoiced: 270000, paid: 180000, open: 90000, pastDue: 0, inEscrow: 50000, openRequests: 1 } });

const HourlyTermsSchema = z
  .object({
    id: z.string(), contractId: z.string(), proposedBy: z.enum(['client', 'contractor']).describe('The party who proposed the terms'),
    status: z.enum(['proposed', 'accepted', 'declined', 'withdrawn']).describe('`proposed` until the other party accepts or declines (or the proposer withdraws)'),
    hourlyRate: z.number().int(), weeklyLimitHours: z.number().int().nullable(),
    effectiveFrom: z.string().nullable().meta({ description: 'The Monday from which accepted terms bill' }), version: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp,
  })
  .meta({
    id: 'HourlyTerms',
    description: 'A change of an hourly contract’s rate or weekly limit, applying from the next week.',
    example: { id: exampleId('hourlyTerms'), contractId: exampleId('contract'), proposedBy: 'contractor', status: 'accepted', hourlyRate: 5000, weeklyLimitHours: 25, effectiveFrom: '2026-11-30', version: 2, createdAt: at, updatedAt: at },
  });
const toHourlyTerms = (r: HourlyTermsRow) => ({
  id: r.id, contractId: r.contract_id, proposedBy: r.proposed_by, status: r.status, hourlyRate: r.hourly_rate, weeklyLimitHours: r.weekly_limit_hours,
  effectiveFrom: r.effective_from, version: r.version, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
});

const ContractParams = IdParams('contract');
const InvoiceStatus = z.enum(['open', 'paid', 'past_due', 'void']);

// ---- Presenters -------------------------------------------------------------------------

const entryCsv = toCsvColumns<TimeEntryRow>([
  ['date', (r) => r.date], ['minutes', (r) => r.minutes], ['hours', (r) => (r.minutes / 60).toFixed(2)], ['memo', (r) => r.memo],
  ['invoice_id', (r) => r.invoice_id], ['billed_minutes', (r) => r.billed_minutes], ['id', (r) => r.id],
]);
const invoiceCsv = toCsvColumns<InvoiceRow>([
  ['number', (r) => r.number], ['period_start', (r) => r.period_start], ['period_end', (r) => r.period_end], ['logged_minutes', (r) => r.logged_minutes],
  ['billed_minutes', (r) => r.billed_minutes], ['hourly_rate', (r) => r.hourly_rate], ['amount', (r) => r.amount], ['amount_due', (r) => r.amount_due],
  ['currency', (r) => r.currency], ['status', (r) => r.status], ['due_date', (r) => r.due_date], ['paid_from_escrow', (r) => r.paid_from_escrow],
  ['charged', (r) => r.charged], ['contract_id', (r) => r.contract_id], ['id', (r) => r.id],
]);
function toCsvColumns<T>(cols: [string, (r: T) => unknown][]) {
  return (rows: T[]) => toCsv(cols, rows);
}

async function presentInvoiceWithLines(ctx: UseCaseCtx, inv: InvoiceRow) {
  return toInvoice(inv, await invoiceLines(ctx.tx, inv.id));
}

// ---- Routes -----------------------------------------------------------------------------

export function hourlyRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Hourly contracts'];

  app.post(
    '/contracts/:id/time-entries',
    {
      schema: {
        tags,
        summary: 'The contractor logs time (date, minutes, memo) in a week not yet invoiced',
        description: 'minutes 1–1440, at most 24 hours per day (422 daily_limit_exceeded), no future dates (platform time zone), not in an invoiced week (409 week_invoiced). The client gets 403; a fixed-price contract 422 not_hourly.',
        params: ContractParams,
        body: z.object({ date: DateOnly, minutes: Minutes, memo: Memo.default('') }).strict().meta({ example: { date: '2026-11-18', minutes: 150, memo: 'Checkout flow: payment form' } }),
        response: { 201: TimeEntrySchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: toTimeEntry(await logTimeEntry(ctx, req.params.id, req.body)) })),
  );

  app.get(
    '/contracts/:id/time-entries',
    {
      schema: {
        tags,
        summary: 'Time entries between two dates (default: this week) with a summary of each week',
        description: 'Each week: logged, billable under the weekly limit, unbilled past it, and the amount so far. `?format=csv` (or `Accept: text/csv`) exports the entries as CSV.',
        params: ContractParams,
        querystring: z.object({ from: DateOnly.optional().describe('First day (default: this week’s Monday)'), to: DateOnly.optional().describe('Last day (default: this week’s Sunday)'), format: Format }).strict(),
        response: { 200: TimesheetSchema },
      },
    },
    async (req, reply) => {
      if (!wantsCsv(req, req.query.format)) {
        return runner.run(req, reply, async (ctx) => {
          const t = await listTimeEntries(ctx, req.params.id, req.query);
          return { status: 200, body: { from: t.from, to: t.to, currency: t.contract.currency, data: t.entries.map(toTimeEntry), weeks: t.weeks } };
        });
      }
      try {
        const t = await runner.within(req, (ctx) => listTimeEntries(ctx, req.params.id, req.query));
        return sendCsv(reply, `time-entries-${t.from}-${t.to}.csv`, entryCsv(t.entries));
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  app.patch(
    '/time-entries/:id',
    {
      schema: {
        tags,
        summary: 'The contractor edits a time entry until its week is invoiced (then 409 week_invoiced)',
        params: IdParams('timeEntry'),
        body: z.object({ date: DateOnly.optional(), minutes: Minutes.optional(), memo: Memo.optional(), ...ExpectedVersion }).strict().meta({ example: { minutes: 180 } }),
        response: { 200: TimeEntrySchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => ({ status: 200, body: toTimeEntry(await editTimeEntry(ctx, req.params.id, { ...req.body, expectedVersion: expectedVersion(req, req.body.expectedVersion) })) })),
  );

  app.delete(
    '/time-entries/:id',
    { schema: { tags, summary: 'The contractor deletes a time entry until its week is invoiced (then 409 week_invoiced)', params: IdParams('timeEntry'), response: { 204: z.null().meta({ description: 'Deleted' }) } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        await deleteTimeEntry(ctx, req.params.id, expectedVersion(req, undefined));
        return { status: 204, body: null };
      }),
  );

  app.get(
    '/contracts/:id/hourly',
    { schema: { tags, summary: 'Overview of an hourly contract: hours this week, invoiced, paid, past due, in escrow', params: ContractParams, response: { 200: HourlyOverviewSchema } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await hourlyOverview(ctx, req.params.id) })),
  );

  // Rate and limit changes.
  app.post(
    '/contracts/:id/hourly-terms',
    {
      schema: {
        tags,
        summary: 'Change the hourly rate and/or weekly limit: agreed at once or proposed, by the policy’s change rules; applies from the next Monday',
        params: ContractParams,
        body: z.object({ hourlyRate: Amount.optional().describe('The new rate in minor units per hour'), weeklyLimitHours: z.number().int().min(1).max(168).nullable().optional().describe('The new weekly limit in hours (1–168); null removes the limit') }).strict().meta({ example: { hourlyRate: 5000, weeklyLimitHours: 25 } }),
        response: { 201: HourlyTermsSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: toHourlyTerms(await changeHourlyTerms(ctx, req.params.id, req.body)) })),
  );
  app.get(
    '/contracts/:id/hourly-terms',
    { schema: { tags, summary: 'Changes of an hourly contract’s terms, newest first', params: ContractParams, response: { 200: Page(HourlyTermsSchema) } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: (await listHourlyTerms(ctx, req.params.id)).map(toHourlyTerms), nextCursor: null } })),
  );
  for (const answer of ['accept', 'decline', 'withdraw'] as const) {
    app.post(
      `/hourly-terms/:id/${answer}`,
      {
        schema: {
          tags,
          summary: answer === 'withdraw' ? 'The proposer withdraws proposed terms' : `The other party ${answer}s proposed terms`,
          params: IdParams('hourlyTerms'),
          body: z.object({}).strict().nullish().meta({ example: {} }),
          response: { 200: HourlyTermsSchema },
        },
      },
      (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: toHourlyTerms(await answerHourlyTerms(ctx, req.params.id, answer)) })),
    );
  }

  // Milestone payment requests.
  app.post(
    '/contracts/:id/milestone-requests',
    {
      schema: {
        tags,
        summary: 'The contractor requests a milestone payment (in the contract’s currency); the client accepts or declines',
        params: ContractParams,
        body: z.object({ amount: Amount.describe('The payment asked for, in the contract’s currency’s minor unit'), description: z.string().trim().min(1, 'is required').max(2000).describe('What the payment is for (1–2000 characters)') }).strict().meta({ example: { amount: 50000, description: 'Advance for the next two weeks' } }),
        response: { 201: MilestoneRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const row = await requestMilestone(ctx, req.params.id, req.body);
        const { contract } = await loadHourlyContract(ctx, row.contract_id, false);
        return { status: 201, body: toMilestoneRequest(row, contract.currency) };
      }),
  );

  app.get(
    '/contracts/:id/milestone-requests',
    {
      schema: {
        tags,
        summary: 'A contract’s milestone requests, newest first',
        params: ContractParams,
        querystring: z.object({ status: z.enum(['open', 'accepted', 'declined', 'withdrawn']).optional().describe('Only requests with this status') }).strict(),
        response: { 200: Page(MilestoneRequestSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract, rows } = await listMilestoneRequests(ctx, req.params.id, req.query.status);
        return { status: 200, body: { data: rows.map((r) => toMilestoneRequest(r, contract.currency)), nextCursor: null } };
      }),
  );

  app.get(
    '/milestone-requests/:id',
    { schema: { tags, summary: 'A milestone request (its contract’s parties)', params: IdParams('milestoneRequest'), response: { 200: MilestoneRequestSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { request, contract } = await loadMilestoneRequest(ctx, req.params.id, false);
        return { status: 200, body: toMilestoneRequest(request, contract.currency) };
      }),
  );

  const answers = {
    accept: {
      summary: 'The client accepts: once the card charge (made after commit) is accepted, a milestone is created and funded in escrow',
      body: z.object({ paymentMethod: PaymentMethod.optional(), ...ExpectedVersion }).strict().nullish().meta({ example: { paymentMethod: 'pm_card_ok' } }),
    },
    decline: {
      summary: 'The client declines with a reason',
      body: z.object({ reason: Reason, ...ExpectedVersion }).strict().meta({ example: { reason: 'Let us settle this on Monday’s invoice' } }),
    },
    withdraw: { summary: 'The contractor withdraws an open request', body: z.object(ExpectedVersion).strict().nullish().meta({ example: {} }) },
  } as const;
  for (const answer of ['accept', 'decline', 'withdraw'] as const) {
    app.post(
      `/milestone-requests/:id/${answer}`,
      {
        // Accepting funds the milestone from the client's card: a money move, finance's.
        ...(answer === 'accept' && { config: { orgRole: 'finance' as const } }),
        schema: {
          tags,
          summary: answers[answer].summary,
          params: IdParams('milestoneRequest'),
          body: answers[answer].body,
          response: {
            200: MilestoneRequestSchema,
            ...(answer === 'accept' && { 202: MilestoneRequestSchema.describe('The provider has not answered the card charge within the wait: the request is still open; both parties are notified when it answers.') }),
          },
        },
      },
      (req, reply) =>
        runner.run(req, reply, async (ctx) => {
          const body = (req.body ?? {}) as { paymentMethod?: string; reason?: string; expectedVersion?: number };
          const r = await answerMilestoneRequest(ctx, req.params.id, answer, { ...body, expectedVersion: expectedVersion(req, body.expectedVersion) });
          const answered = { status: 200, body: toMilestoneRequest(r.request, r.contract.currency) };
          if (!ctx.operations?.length) return answered;
          // Accepting charges the card after commit: 402 when declined (the request stays open),
          // 202 while the provider has not answered, else the accepted request.
          return {
            ...answered,
            status: 202,
            tellsOutcome: true,
            afterCommit: async (q, ops) => {
              const declined = ops.find((o) => o.status === 'failed');
              if (declined) throw new AppError('payment_declined', 'the card was declined', { declineCode: declined.failure_code ?? 'card_declined' });
              const [row] = await q.query<MilestoneRequestRow>('SELECT * FROM milestone_requests WHERE id = $1', [r.request.id]);
              return { status: ops.some((o) => o.status === 'pending') ? 202 : 200, body: toMilestoneRequest(row!, r.contract.currency) };
            },
          };
        }),
    );
  }

  // Invoices.
  const listInvoices = async (ctx: UseCaseCtx, q: { contractId?: string; status?: string; cursor?: string; limit: number }) => {
    const rows = await listByParty<InvoiceRow>(ctx.tx, 'invoices', {
      platformId: ctx.principal.platformId,
      userId: isPlatformAdmin(ctx.principal) ? null : ctx.principal.userId,
      orgIds: Object.keys(ctx.principal.orgs ?? {}),
      filters: { contract_id: q.contractId, status: q.status },
      before: decodeCursor(q.cursor),
      limit: q.limit + 1,
    });
    return page(rows, q.limit);
  };

  app.get(
    '/invoices',
    {
      schema: {
        tags,
        summary: 'Your invoices (as client or contractor), newest first',
        description: '`?format=csv` (or `Accept: text/csv`) exports the page as CSV.',
        querystring: z.object({ contractId: Id('contract').optional().describe('Only this contract’s invoices'), status: InvoiceStatus.optional().describe('Only invoices with this status'), format: Format, ...ListQuery }).strict(),
        response: { 200: Page(InvoiceSchema) },
      },
    },
    async (req, reply) => {
      if (!wantsCsv(req, req.query.format)) {
        return runner.run(req, reply, async (ctx) => {
          const pg = await listInvoices(ctx, req.query);
          return { status: 200, body: { data: pg.data.map((r) => toInvoice(r)), nextCursor: pg.nextCursor } };
        });
      }
      try {
        const pg = await runner.within(req, (ctx) => listInvoices(ctx, req.query));
        if (pg.nextCursor) reply.header('x-next-cursor', pg.nextCursor);
        return sendCsv(reply, 'invoices.csv', invoiceCsv(pg.data));
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  const contractInvoices = async (ctx: UseCaseCtx, contractId: string, status?: string) => {
    const { contract } = await loadHourlyContract(ctx, contractId, false);
    return ctx.tx.query<InvoiceRow>('SELECT * FROM invoices WHERE contract_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY period_start DESC', [contract.id, status ?? null]);
  };
  app.get(
    '/contracts/:id/invoices',
    {
      schema: {
        tags,
        summary: 'A contract’s invoices, newest week first',
        description: '`?format=csv` (or `Accept: text/csv`) exports them as CSV.',
        params: ContractParams,
        querystring: z.object({ status: InvoiceStatus.optional().describe('Only invoices with this status'), format: Format }).strict(),
        response: { 200: Page(InvoiceSchema) },
      },
    },
    async (req, reply) => {
      if (!wantsCsv(req, req.query.format)) {
        return runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: (await contractInvoices(ctx, req.params.id, req.query.status)).map((r) => toInvoice(r)), nextCursor: null } }));
      }
      try {
        const rows = await runner.within(req, (ctx) => contractInvoices(ctx, req.params.id, req.query.status));
        return sendCsv(reply, `invoices-${req.params.id}.csv`, invoiceCsv(rows));
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  app.get(
    '/invoices/:id',
    { schema: { tags, summary: 'An invoice with its lines (one per time entry)', params: IdParams('invoice'), response: { 200: InvoiceSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { invoice } = await loadInvoice(ctx, req.params.id, false);
        return { status: 200, body: await presentInvoiceWithLines(ctx, invoice) };
      }),
  );

  app.get(
    '/invoices/:id/pdf',
    {
      schema: {
        tags,
        summary: 'The invoice as a PDF document (application/pdf)',
        params: IdParams('invoice'),
        response: { 200: { description: 'The invoice: number, parties, period, entries, rate, billed hours, amount and how it was paid', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } } },
      },
      // Bytes, never serialized (problems before them are JSON as everywhere).
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    },
    async (req, reply) => {
      try {
        const doc = await runner.within(req, async (ctx) => {
          const { invoice, contract } = await loadInvoice(ctx, req.params.id, false);
          const people = await ctx.tx.query<{ id: string; name: string; email: string }>('SELECT id, name, email FROM users WHERE id = ANY($1) UNION ALL SELECT id, name, \'\' FROM organizations WHERE id = ANY($1)', [[contract.client_id, contract.contractor_id]]);
          const person = (id: string) => people.find((u) => u.id === id) ?? { name: id, email: '' };
          const platform = await loadPlatform(ctx.tx, contract.platform_id);
          const inv = await presentInvoiceWithLines(ctx, invoice);
          return { number: invoice.number, pdf: await renderInvoicePdf({ ...inv, lines: inv.lines! }, { platform: platform.name, contract: contract.title, client: person(contract.client_id), contractor: person(contract.contractor_id) }) };
        });
        return reply.code(200).type('application/pdf').header('content-disposition', `inline; filename="${doc.number}.pdf"`).send(doc.pdf);
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  app.post(
    '/invoices/:id/pay',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'The client pays an open or past-due invoice now: escrow first, then the card named or their default',
        description:
          'The card is charged after commit and the answer awaited: a declined card is 402 payment_declined (the invoice as it was, except what escrow paid); 202 while the provider has not answered (chargePending; both parties are told if it then fails). A paid or void invoice, or one whose charge is on its way: 409 invalid_state.',
        params: IdParams('invoice'),
        body: z.object({ paymentMethod: PaymentMethod.optional(), ...ExpectedVersion }).strict().nullish().meta({ example: { paymentMethod: 'pm_card_ok' } }),
        response: { 200: InvoiceSchema, 202: InvoiceSchema.describe('The provider has not answered the card charge within the wait: the invoice is chargePending.') },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const body = req.body ?? {};
        const inv = await payInvoice(ctx, req.params.id, { ...body, expectedVersion: expectedVersion(req, body.expectedVersion) });
        const answered = { status: 200, body: await presentInvoiceWithLines(ctx, inv) };
        if (!ctx.operations?.length) return answered;
        // The card is charged after commit: 402 when declined, 202 while the provider has not answered.
        return {
          ...answered,
          status: 202,
          tellsOutcome: true,
          afterCommit: async (q, ops) => {
            const declined = ops.find((o) => o.status === 'failed');
            if (declined) throw new AppError('payment_declined', 'the card was declined', { declineCode: declined.failure_code ?? 'card_declined', invoiceId: inv.id });
            const [row] = await q.query<InvoiceRow>('SELECT * FROM invoices WHERE id = $1', [inv.id]);
            return { status: ops.some((o) => o.status === 'pending') ? 202 : 200, body: toInvoice(row!, await invoiceLines(q, inv.id)) };
          },
        };
      }),
  );

  app.post(
    '/invoices/:id/dispute',
    {
      config: { orgRole: 'finance' },
      schema: {
        tags,
        summary: 'The client disputes an open invoice in its review window (Monday’s invoice to Wednesday’s payment)',
        description: 'The invoice is held from payment. The contractor answers with POST /v1/disputes/{id}/respond; the platform admin resolves with POST /v1/disputes/{id}/resolve, `releaseAmount + refundAmount` = the invoice amount (the release is paid then, escrow first, then the card; the refund is not owed); silence resolves by the policy’s default.',
        params: IdParams('invoice'),
        body: z.object({ reason: Reason }).strict().meta({ example: { reason: 'Twelve hours on Thursday were not agreed' } }),
        response: { 201: DisputeSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: presentDispute(await disputeInvoice(ctx, req.params.id, req.body)) })),
  );

  app.post(
    '/invoices/:id/void',
    { schema: { tags, summary: 'Platform admin: void an invoice nothing was paid on', params: IdParams('invoice'), body: z.object({}).strict().nullish().meta({ example: {} }), response: { 200: InvoiceSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => ({ status: 200, body: await presentInvoiceWithLines(ctx, await voidInvoice(ctx, req.params.id)) })),
  );
}
