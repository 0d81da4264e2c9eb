import { expect } from 'vitest';
import type { Client, TestServer } from './harness.ts';
import { runJobs, serverNow, setClock } from './negotiation-helpers.ts';

type Party = { id: string; api: Client };
export type HourlyParties = { client: Party; contractor: Party };

/** YYYY-MM-DD of a date `n` days after `d`. */
export const plusDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
/** The instant `d` 00:00 UTC plus `ms` (the platform's time zone is UTC unless a test changes it). */
export const utcAt = (d: string, ms = 0) => new Date(Date.parse(`${d}T00:00:00Z`) + ms);

/**
 * Weeks of a test server, handed out in order: the clock of a server only moves forward, so
 * each scenario takes the next unused week (Monday–Sunday, UTC) after the server's clock.
 */
export function weeks(s: TestServer) {
  return {
    /** The next week starting after the server's clock; the clock is set to its Sunday noon. */
    async next(): Promise<{ monday: string; sunday: string; day: (i: number) => string }> {
      const now = serverNow(s);
      const today = now.toISOString().slice(0, 10);
      const dow = (now.getUTCDay() + 6) % 7;
      const monday = plusDays(today, 7 - dow);
      await setClock(s, utcAt(plusDays(monday, 6), 12 * 3_600_000));
      return { monday, sunday: plusDays(monday, 6), day: (i: number) => plusDays(monday, i) };
    },
  };
}

/** A live hourly contract proposed by the client and activated by the contractor. */
export async function hourlyContract(p: HourlyParties, terms: { hourlyRate: number; weeklyLimitHours?: number; currency?: string; policy?: unknown }) {
  const c = await p.client.api.post('/v1/contracts', {
    title: 'Hourly work',
    clientId: p.client.id,
    contractorId: p.contractor.id,
    type: 'hourly',
    currency: terms.currency ?? 'USD',
    hourlyRate: terms.hourlyRate,
    ...(terms.weeklyLimitHours !== undefined && { weeklyLimitHours: terms.weeklyLimitHours }),
    ...(terms.policy !== undefined && { policy: terms.policy }),
  });
  expect(c.status, JSON.stringify(c.body)).toBe(201);
  const a = await p.contractor.api.post(`/v1/contracts/${c.body.id}/activate`);
  expect(a.status, JSON.stringify(a.body)).toBe(200);
  return a.body as { id: string; hourlyRate: number; weeklyLimitHours: number | null; policy: { preset: string } };
}

export async function logTime(p: HourlyParties, contractId: string, date: string, minutes: number, memo = 'work') {
  const r = await p.contractor.api.post(`/v1/contracts/${contractId}/time-entries`, { date, minutes, memo });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: string; date: string; minutes: number; version: number };
}

/** Sets the clock to `date` + `ms` and runs every job due then. */
export async function runAt(s: TestServer, date: string, ms = 60_000) {
  await setClock(s, utcAt(date, ms));
  return runJobs(s);
}

export async function contractInvoices(api: Client, contractId: string) {
  const r = await api.get(`/v1/contracts/${contractId}/invoices`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data as any[];
}
