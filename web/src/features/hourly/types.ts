/** Resources of hourly contracts, as the API answers them (see /docs: Hourly contracts). */
export type Role = 'client' | 'contractor';
export type TimeEntry = { id: string; date: string; minutes: number; memo: string; invoiceId: string | null; billedMinutes: number | null; version: number };
export type Week = {
  weekStart: string;
  weekEnd: string;
  hourlyRate: number;
  weeklyLimitHours: number | null;
  loggedMinutes: number;
  billableMinutes: number;
  unbilledMinutes: number;
  amount: number;
  closed: boolean;
  invoiceId: string | null;
  invoiceStatus: string | null;
};
export type Timesheet = { from: string; to: string; currency: string; data: TimeEntry[]; weeks: Week[] };
export type Invoice = {
  id: string;
  number: string;
  periodStart: string;
  periodEnd: string;
  loggedMinutes: number;
  billedMinutes: number;
  amount: number;
  amountDue: number;
  currency: string;
  status: 'open' | 'paid' | 'past_due' | 'void';
  dueDate: string;
  paidFromEscrow: number;
  charged: number;
  balanceDue: number;
  disputeId: string | null;
  pastDueReason: string | null;
};
export type MilestoneRequest = { id: string; amount: number; currency: string; description: string; status: 'open' | 'accepted' | 'declined' | 'withdrawn'; declineReason: string | null; createdAt: string };
export type HourlyOverview = { thisWeek: Week; invoiced: number; paid: number; open: number; pastDue: number; inEscrow: number; openRequests: number };

/** 150 → "2:30 h". */
export const hours = (minutes: number) => `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')} h`;

/** "2:30", "2.5" or "150m" → minutes; null when not a duration. */
export function parseDuration(input: string): number | null {
  const s = input.trim();
  let m = /^(\d{1,2}):([0-5]\d)$/.exec(s);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  m = /^(\d{1,4})m$/.exec(s);
  if (m) return Number(m[1]);
  m = /^(\d{1,2})(?:\.(\d{1,2}))?$/.exec(s);
  if (m) return Math.round(Number(s) * 60);
  return null;
}

export const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
