import type { Tx } from '../db/client.ts';
import { newId } from '../domain/ids.ts';
import { describeAccount } from './accounts.ts';

/** One movement of `amount` minor units from `source` to `destination` (formance's model). */
export type Posting = { source: string; destination: string; amount: number };

export type EntryInput = {
  platformId: string;
  contractId: string;
  milestoneId?: string | null;
  currency: string;
  kind: string;
  /** Unique per platform: one money movement per idempotency key or provider reference. */
  reference: string;
  postings: Posting[];
  at: Date;
};

export class UnbalancedEntryError extends Error {}

/** Checks an entry before anything is stored; zero postings are dropped, a bad one refuses the whole entry. */
export function validatePostings(postings: Posting[]): Posting[] {
  const kept = postings.filter((p) => p.amount !== 0);
  if (kept.length === 0) throw new UnbalancedEntryError('a journal entry needs at least one posting');
  for (const p of kept) {
    if (!Number.isSafeInteger(p.amount) || p.amount < 0) throw new UnbalancedEntryError(`posting amount must be a positive integer, got ${p.amount}`);
    if (p.source === p.destination) throw new UnbalancedEntryError('posting source and destination must differ');
  }
  return kept;
}

/** Net effect of postings per address (destination +, source −). Sums to zero by construction. */
export function netByAccount(postings: Posting[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const p of postings) {
    net.set(p.source, (net.get(p.source) ?? 0) - p.amount);
    net.set(p.destination, (net.get(p.destination) ?? 0) + p.amount);
  }
  return net;
}

/**
 * Appends one balanced journal entry. Must run inside the transaction that changes the state
 * the entry belongs to, with the contract row already locked (the per-contract sequence and
 * the escrow balances are only safe under that lock).
 */
export async function postEntry(tx: Tx, e: EntryInput): Promise<{ entryId: string }> {
  const postings = validatePostings(e.postings);
  const net = netByAccount(postings);
  const accounts = [...net.entries()].map(([address, delta]) => ({ address, delta, ...describeAccount(address) }));
  const shared = accounts.filter((x) => !x.stored);
  const stored = accounts.filter((x) => x.stored);
  const entryId = newId('entry');
  // One statement: shared accounts are created if missing (never updated: no hot row); escrow
  // accounts are moved by their net change, or opened with it (only under the contract's lock,
  // so no one else can open the same one meanwhile; CHECK keeps them >= 0); the per-contract
  // sequence number is taken and the entry's hash chained to the contract's head (both on the
  // contract row, so no extra round trip or lookup); the entry and its postings are inserted.
  // The postings' foreign keys are checked at the end of the statement, when all of it is visible
  // (a contract that is not there inserts no entry, and its postings then fail their foreign key).
  // It returns no rows: it goes out with the transaction's next round trip (write-behind, db/client.ts).
  await tx.query(
    `WITH shared AS (
       INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, a.address, $2, a.kind, NULL, a.allow_negative, NULL, $3
       FROM unnest($4::text[], $5::text[], $6::bool[]) AS a(address, kind, allow_negative)
       ON CONFLICT DO NOTHING
     ), moved AS (
       UPDATE ledger_accounts l SET balance = l.balance + a.delta
       FROM unnest($7::text[], $10::bigint[]) AS a(address, delta)
       WHERE l.platform_id = $1 AND l.address = a.address AND l.currency = $2
       RETURNING l.address
     ), opened AS (
       INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, a.address, $2, a.kind, a.contract_id, false, a.delta, $3
       FROM unnest($7::text[], $8::text[], $9::text[], $10::bigint[]) AS a(address, kind, contract_id, delta)
       WHERE a.address NOT IN (SELECT address FROM moved)
     ), s AS (
       UPDATE contracts SET ledger_seq = ledger_seq + 1,
         ledger_head = tranche_entry_hash(ledger_head, $12, $11, ledger_seq + 1, $13, $14, $15, $3, $16, $17, $18, $19, array_fill($2::text, ARRAY[cardinality($16::int[])]))
       WHERE id = $11 RETURNING ledger_seq, ledger_head
     ), e AS (
       INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at, hash)
       SELECT $12, $1, $11, s.ledger_seq, $13, $14, $15, $3, s.ledger_head FROM s
     )
     INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency)
     SELECT $12, x.idx, $1, $11, x.source, x.destination, x.amount, $2
     FROM unnest($16::int[], $17::text[], $18::text[], $19::bigint[]) AS x(idx, source, destination, amount)`,
    [
      e.platformId, e.currency, e.at,
      shared.map((x) => x.address), shared.map((x) => x.kind), shared.map((x) => x.allowNegative),
      stored.map((x) => x.address), stored.map((x) => x.kind), stored.map((x) => x.contractId), stored.map((x) => x.delta),
      e.contractId, entryId, e.kind, e.reference, e.milestoneId ?? null,
      postings.map((_, i) => i), postings.map((x) => x.source), postings.map((x) => x.destination), postings.map((x) => x.amount),
    ],
  );
  return { entryId };
}

/**
 * Appends many balanced journal entries in one statement, each exactly as postEntry would (the
 * same validation, sequence number, hash chain, postings and escrow balances): for a batch that
 * books one entry per contract (Wednesday's escrow releases and card payments). Each entry's
 * contract must be locked and appear once, and an escrow account (stored balance) belongs to its
 * contract, so no two entries of a statement move the same one.
 */
export async function postEntries(tx: Tx, platformId: string, at: Date, entries: Omit<EntryInput, 'platformId' | 'at'>[]): Promise<string[]> {
  if (entries.length === 0) return [];
  if (new Set(entries.map((e) => e.contractId)).size !== entries.length) throw new Error('postEntries: one entry per contract');
  const shared = new Map<string, { address: string; currency: string; kind: string; allowNegative: boolean }>();
  const stored: { address: string; currency: string; kind: string; contractId: string | null; delta: number }[] = [];
  const flat: { entryNo: number; idx: number; posting: Posting }[] = [];
  entries.forEach((e, entryNo) => {
    const kept = validatePostings(e.postings);
    kept.forEach((posting, idx) => flat.push({ entryNo, idx, posting }));
    for (const [address, delta] of netByAccount(kept)) {
      const info = describeAccount(address);
      if (info.stored) stored.push({ address, currency: e.currency, kind: info.kind, contractId: info.contractId, delta });
      else shared.set(`${address} ${e.currency}`, { address, currency: e.currency, kind: info.kind, allowNegative: info.allowNegative });
    }
  });
  const ids = entries.map(() => newId('entry'));
  const accounts = [...shared.values()];
  // As postEntry, set-based: missing shared accounts are created; escrow accounts are moved by
  // their net change, or opened with it; each contract's sequence is taken and its hash chain
  // extended by its entry (the postings of an entry aggregated in idx order, as postEntry passes
  // them); entries and postings are inserted.
  const rows = await tx.query<{ id: string }>(
    `WITH shared AS (
       INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, a.address, a.currency, a.kind, NULL, a.allow_negative, NULL, $2
       FROM unnest($3::text[], $4::text[], $5::text[], $6::bool[]) AS a(address, currency, kind, allow_negative)
       ON CONFLICT DO NOTHING
     ), moved AS (
       UPDATE ledger_accounts l SET balance = l.balance + a.delta
       FROM unnest($19::text[], $20::text[], $23::bigint[]) AS a(address, currency, delta)
       WHERE l.platform_id = $1 AND l.address = a.address AND l.currency = a.currency
       RETURNING l.address, l.currency
     ), opened AS (
       INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, a.address, a.currency, a.kind, a.contract_id, false, a.delta, $2
       FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::bigint[]) AS a(address, currency, kind, contract_id, delta)
       WHERE (a.address, a.currency) NOT IN (SELECT address, currency FROM moved)
     ), p AS (
       SELECT * FROM unnest($7::int[], $8::int[], $9::text[], $10::text[], $11::bigint[]) AS x(entry_no, idx, source, destination, amount)
     ), e AS (
       SELECT y.*, agg.idx, agg.sources, agg.destinations, agg.amounts
       FROM unnest($12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
              AS y(entry_no, id, contract_id, kind, reference, milestone_id, currency)
       CROSS JOIN LATERAL (
         SELECT array_agg(p.idx ORDER BY p.idx) AS idx, array_agg(p.source ORDER BY p.idx) AS sources,
                array_agg(p.destination ORDER BY p.idx) AS destinations, array_agg(p.amount ORDER BY p.idx) AS amounts
         FROM p WHERE p.entry_no = y.entry_no
       ) agg
     ), s AS (
       UPDATE contracts c SET ledger_seq = c.ledger_seq + 1,
         ledger_head = tranche_entry_hash(c.ledger_head, e.id, e.contract_id, c.ledger_seq + 1, e.kind, e.reference, e.milestone_id, $2,
           e.idx, e.sources, e.destinations, e.amounts, array_fill(e.currency, ARRAY[cardinality(e.idx)]))
       FROM e WHERE c.id = e.contract_id AND c.platform_id = $1
       RETURNING c.id, c.ledger_seq, c.ledger_head
     ), je AS (
       INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at, hash)
       SELECT e.id, $1, e.contract_id, s.ledger_seq, e.kind, e.reference, e.milestone_id, $2, s.ledger_head FROM e JOIN s ON s.id = e.contract_id
       RETURNING id
     ), ps AS (
       INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency)
       SELECT e.id, p.idx, $1, e.contract_id, p.source, p.destination, p.amount, e.currency FROM p JOIN e ON e.entry_no = p.entry_no
     )
     SELECT id FROM je`,
    [
      platformId, at,
      accounts.map((a) => a.address), accounts.map((a) => a.currency), accounts.map((a) => a.kind), accounts.map((a) => a.allowNegative),
      flat.map((f) => f.entryNo), flat.map((f) => f.idx), flat.map((f) => f.posting.source), flat.map((f) => f.posting.destination), flat.map((f) => f.posting.amount),
      entries.map((_, i) => i), ids, entries.map((e) => e.contractId), entries.map((e) => e.kind), entries.map((e) => e.reference),
      entries.map((e) => e.milestoneId ?? null), entries.map((e) => e.currency),
      stored.map((a) => a.address), stored.map((a) => a.currency), stored.map((a) => a.kind), stored.map((a) => a.contractId), stored.map((a) => a.delta),
    ],
  );
  if (rows.length !== entries.length) throw new Error(`postEntries: ${entries.length - rows.length} contracts not found for their journal entries`);
  return ids;
}
