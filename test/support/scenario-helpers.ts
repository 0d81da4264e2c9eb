import { expect } from 'vitest';
import type { Client, Res, TestServer } from './harness.ts';

/**
 * Everything a refused command could have touched, read straight from the database: row
 * states and versions of the mutable tables, and row counts of the append-only ones. Two
 * snapshots taken around a refused request must be equal ("changes nothing").
 * Users, tokens, sessions and idempotency records are left out on purpose.
 */
export async function dbSnapshot(s: TestServer) {
  const q = <T = Record<string, unknown>>(sql: string) => s.db.query<T>(sql);
  const count = async (table: string) => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
  return {
    contracts: await q('SELECT id, status, version, ledger_seq, updated_at::text AS u FROM contracts ORDER BY id'),
    milestones: await q(
      `SELECT id, status, version, position, title, amount, due_date::text AS due, funded_amount, released_amount, refunded_amount,
              revision_count, last_reject_reason, updated_at::text AS u
         FROM milestones ORDER BY id`,
    ),
    payments: await q('SELECT id, status, version, amount, provider_ref FROM payments ORDER BY id'),
    changeRequests: await q('SELECT id, status, version FROM change_requests ORDER BY id'),
    balances: await q('SELECT address, currency, balance FROM ledger_accounts ORDER BY address, currency'),
    counts: {
      journalEntries: await count('journal_entries'),
      postings: await count('postings'),
      fundings: await count('fundings'),
      activity: await count('activity'),
      notifications: await count('notifications'),
      jobs: await count('jobs'),
      ledgerAccounts: await count('ledger_accounts'),
    },
  };
}
export type DbSnapshot = Awaited<ReturnType<typeof dbSnapshot>>;

/** Asserts the database is exactly as in `before`. */
export async function expectUnchanged(s: TestServer, before: DbSnapshot) {
  expect(await dbSnapshot(s)).toEqual(before);
}

/** Asserts a problem answer with the given status and stable code; returns its body. */
export function expectProblem(r: Res, status: number, code: string) {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
  expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
  return r.body as { code: string; state?: string; errors?: { field: string; message: string }[] } & Record<string, unknown>;
}

/** The fields named by a validation problem. */
export const fieldsOf = (r: Res): string[] => ((r.body?.errors ?? []) as { field: string }[]).map((e) => e.field);

/** Sends a request that must be refused with `status`/`code` and must change nothing. */
export async function expectRefused(s: TestServer, send: () => Promise<Res>, status: number, code: string, field?: string) {
  const before = await dbSnapshot(s);
  const r = await send();
  const body = expectProblem(r, status, code);
  if (field !== undefined) expect(fieldsOf(r)).toContain(field);
  await expectUnchanged(s, before);
  return body;
}

/** The contract's payment overview, as the given party sees it. */
export async function overviewOf(api: Client, contractId: string) {
  const r = await api.get(`/v1/contracts/${contractId}`);
  expect(r.status).toBe(200);
  return r.body.overview as { total: number; inEscrow: number; paid: number; remaining: number; currency: string };
}

export type ActivityEntry = { id: string; kind: string; milestoneId: string | null; actorId: string | null; actorRole: string; data: Record<string, any> };

/** The whole activity timeline of a contract (newest first), following cursors. */
export async function activityOf(api: Client, contractId: string): Promise<ActivityEntry[]> {
  const out: ActivityEntry[] = [];
  let cursor: string | null = null;
  do {
    const r: Res = await api.get(`/v1/contracts/${contractId}/activity?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(r.status).toBe(200);
    out.push(...r.body.data);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

/**
 * Follows a contract's timeline step by step: `expectNew(kinds)` asserts that exactly these
 * entries (in any order within the step) were appended since the last call, and returns them.
 */
export function timeline(api: Client, contractId: string) {
  const seen = new Set<string>();
  return {
    async expectNew(kinds: string[]): Promise<ActivityEntry[]> {
      const all = await activityOf(api, contractId);
      const fresh = all.filter((a) => !seen.has(a.id));
      for (const a of fresh) seen.add(a.id);
      expect(fresh.map((a) => a.kind).sort()).toEqual([...kinds].sort());
      return fresh;
    },
  };
}

/** A user's notifications (newest first). */
export async function notificationsOf(api: Client) {
  const r = await api.get('/v1/notifications?limit=100');
  expect(r.status).toBe(200);
  return r.body.data as { id: string; contractId: string | null; kind: string; title: string; body: string; data: Record<string, any> }[];
}

/** The journal entry kinds booked for one milestone, oldest first. */
export async function journalKindsOf(s: TestServer, milestoneId: string): Promise<string[]> {
  const rows = await s.db.query<{ kind: string }>('SELECT kind FROM journal_entries WHERE milestone_id = $1 ORDER BY seq', [milestoneId]);
  return rows.map((r) => r.kind);
}

/** Number of journal entries of a contract. */
export async function journalCount(s: TestServer, contractId: string): Promise<number> {
  return (await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE contract_id = $1', [contractId]))[0]!.n;
}

/** Status of every milestone of a contract, in position order. */
export async function statusesOf(api: Client, contractId: string, section?: 'pending' | 'approved') {
  const r = await api.get(`/v1/contracts/${contractId}/milestones${section ? `?section=${section}` : ''}`);
  expect(r.status).toBe(200);
  return (r.body.data as { id: string; status: string }[]).map((m) => [m.id, m.status] as const);
}
