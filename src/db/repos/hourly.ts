import type { Queryable } from '../client.ts';
import { iso, isoReq } from './rows.ts';

/** Rows and mappers of hourly contracts: time entries, invoices, milestone requests. */

export type TimeEntryRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  date: string;
  minutes: number;
  memo: string;
  invoice_id: string | null;
  billed_minutes: number | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

export type InvoiceRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  number: string;
  client_id: string;
  contractor_id: string;
  period_start: string;
  period_end: string;
  logged_minutes: number;
  billed_minutes: number;
  hourly_rate: number;
  weekly_limit_hours: number | null;
  amount: number;
  amount_due: number;
  currency: string;
  status: 'open' | 'paid' | 'past_due' | 'void';
  due_at: Date;
  due_date: string;
  paid_from_escrow: number;
  charged: number;
  client_fee: number;
  charge_pending: boolean;
  /** Four eyes: the member of the client organisation who paid it first, waiting for a second. */
  approval_by: string | null;
  approval_at: Date | null;
  charge_attempts: number;
  retries: number;
  past_due_reason: string | null;
  dispute_id: string | null;
  paid_at: Date | null;
  voided_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

export type MilestoneRequestRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  requested_by: string;
  amount: number;
  description: string;
  status: 'open' | 'accepted' | 'declined' | 'withdrawn';
  decline_reason: string | null;
  milestone_id: string | null;
  answered_by: string | null;
  answered_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};


export const toTimeEntry = (r: TimeEntryRow) => ({
  id: r.id,
  contractId: r.contract_id,
  date: r.date,
  minutes: r.minutes,
  memo: r.memo,
  invoiceId: r.invoice_id,
  billedMinutes: r.billed_minutes,
  version: r.version,
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});
export type TimeEntry = ReturnType<typeof toTimeEntry>;

export const toInvoice = (r: InvoiceRow, lines?: TimeEntryRow[]) => ({
  id: r.id,
  number: r.number,
  contractId: r.contract_id,
  clientId: r.client_id,
  contractorId: r.contractor_id,
  periodStart: r.period_start,
  periodEnd: r.period_end,
  loggedMinutes: r.logged_minutes,
  billedMinutes: r.billed_minutes,
  unbilledMinutes: r.logged_minutes - r.billed_minutes,
  hourlyRate: r.hourly_rate,
  weeklyLimitHours: r.weekly_limit_hours,
  amount: r.amount,
  amountDue: r.amount_due,
  currency: r.currency,
  status: r.status,
  dueDate: r.due_date,
  dueAt: isoReq(r.due_at),
  paidFromEscrow: r.paid_from_escrow,
  charged: r.charged,
  clientFee: r.client_fee,
  balanceDue: r.status === 'void' ? 0 : r.amount_due - r.paid_from_escrow - r.charged,
  chargePending: r.charge_pending,
  pendingApproval: r.approval_by && r.status !== 'paid' && r.status !== 'void' ? { by: r.approval_by, at: isoReq(r.approval_at ?? r.updated_at) } : null,
  pastDueReason: r.past_due_reason,
  disputeId: r.dispute_id,
  paidAt: iso(r.paid_at),
  version: r.version,
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
  ...(lines && { lines: lines.map((l) => ({ entryId: l.id, date: l.date, minutes: l.minutes, billedMinutes: l.billed_minutes ?? 0, memo: l.memo })) }),
});
export type Invoice = ReturnType<typeof toInvoice>;

export const toMilestoneRequest = (r: MilestoneRequestRow, currency: string) => ({
  id: r.id,
  contractId: r.contract_id,
  requestedBy: r.requested_by,
  amount: r.amount,
  currency,
  description: r.description,
  status: r.status,
  declineReason: r.decline_reason,
  milestoneId: r.milestone_id,
  answeredBy: r.answered_by,
  answeredAt: iso(r.answered_at),
  version: r.version,
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});

export async function findTimeEntry(q: Queryable, platformId: string, id: string, lock = false): Promise<TimeEntryRow | undefined> {
  const [row] = await q.query<TimeEntryRow>(`SELECT * FROM time_entries WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [platformId, id]);
  return row;
}

export async function findInvoice(q: Queryable, platformId: string, id: string, lock = false): Promise<InvoiceRow | undefined> {
  const [row] = await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [platformId, id]);
  return row;
}

export async function invoiceLines(q: Queryable, invoiceId: string): Promise<TimeEntryRow[]> {
  return q.query<TimeEntryRow>(`SELECT * FROM time_entries WHERE invoice_id = $1 ORDER BY date, id`, [invoiceId]);
}

/** Sets columns of an invoice and bumps its version; returns the row as the API reads it. */
export async function updateInvoice(q: Queryable, id: string, set: Partial<Record<keyof InvoiceRow, unknown>>, at: Date): Promise<InvoiceRow> {
  const cols = Object.keys(set);
  const assignments = cols.map((c, i) => `${c} = $${i + 3}`).join(', ');
  const [row] = await q.query<InvoiceRow>(
    `UPDATE invoices SET ${assignments}${cols.length ? ', ' : ''}version = version + 1, updated_at = $2 WHERE id = $1 RETURNING *`,
    [id, at, ...cols.map((c) => set[c as keyof InvoiceRow])],
  );
  return row!;
}
