import type { components } from '@tranche/client';

/** Resources of hourly contracts, as the API answers them: the types generated from its OpenAPI document. */
type Schemas = components['schemas'];
export type Role = 'client' | 'contractor';
export type TimeEntry = Schemas['TimeEntry'];
export type Week = Schemas['TimesheetWeek'];
export type Timesheet = Schemas['Timesheet'];
export type Invoice = Schemas['Invoice'];
export type MilestoneRequest = Schemas['MilestoneRequest'];
export type HourlyOverview = Schemas['HourlyOverview'];

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
