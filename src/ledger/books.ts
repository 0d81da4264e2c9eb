import type { Tx } from '../db/client.ts';
import { newId } from '../domain/ids.ts';
import { describeAccount } from './accounts.ts';
import { validatePostings, type Posting } from './postings.ts';

/**
 * Books: journals for entries that belong to no contract (migration 0021). A contractor's
 * payouts move money their many contracts released, so they are kept in the contractor's payout
 * book. An entry in a book is numbered and hash-chained exactly as a contract's (the same
 * `tranche_entry_hash`, with the book id where the contract id goes), and may touch shared
 * accounts only (escrow belongs to a contract).
 */
export const payoutBook = (contractorId: string) => `payouts:${contractorId}`;

/** Opens the book if need be and locks it: entries of one book are written one after another. */
export async function lockBook(tx: Tx, platformId: string, bookId: string, ownerId: string, at: Date): Promise<void> {
  await tx.query('INSERT INTO ledger_books (id, platform_id, owner_id, created_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING', [bookId, platformId, ownerId, at]);
  await tx.query('SELECT 1 FROM ledger_books WHERE id = $1 FOR UPDATE', [bookId]);
}

/** Appends one balanced entry to a locked book; returns its reference. */
export async function postBookEntry(
  tx: Tx,
  e: { platformId: string; bookId: string; currency: string; kind: string; reference: string; postings: Posting[]; at: Date },
): Promise<string> {
  const postings = validatePostings(e.postings);
  const accounts = [...new Set(postings.flatMap((p) => [p.source, p.destination]))].map((address) => ({ address, ...describeAccount(address) }));
  if (accounts.some((a) => a.stored)) throw new Error('a book entry touches shared accounts only');
  const entryId = newId('entry');
  const [row] = await tx.query<{ seq: number }>(
    `WITH shared AS (
       INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
       SELECT $1, a.address, $2, a.kind, NULL, a.allow_negative, NULL, $3
       FROM unnest($4::text[], $5::text[], $6::bool[]) AS a(address, kind, allow_negative)
       ON CONFLICT DO NOTHING
     ), b AS (
       UPDATE ledger_books SET ledger_seq = ledger_seq + 1,
         ledger_head = tranche_entry_hash(ledger_head, $8, $7, ledger_seq + 1, $9, $10, NULL, $3, $11, $12, $13, $14, array_fill($2::text, ARRAY[cardinality($11::int[])]))
       WHERE id = $7 RETURNING ledger_seq, ledger_head
     ), e AS (
       INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at, hash)
       SELECT $8, $1, $7, b.ledger_seq, $9, $10, NULL, $3, b.ledger_head FROM b RETURNING seq
     ), p AS (
       INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency)
       SELECT $8, x.idx, $1, $7, x.source, x.destination, x.amount, $2
       FROM unnest($11::int[], $12::text[], $13::text[], $14::bigint[]) AS x(idx, source, destination, amount)
     )
     SELECT seq FROM e`,
    [
      e.platformId, e.currency, e.at,
      accounts.map((a) => a.address), accounts.map((a) => a.kind), accounts.map((a) => a.allowNegative),
      e.bookId, entryId, e.kind, e.reference,
      postings.map((_, i) => i), postings.map((x) => x.source), postings.map((x) => x.destination), postings.map((x) => x.amount),
    ],
  );
  if (!row) throw new Error(`book ${e.bookId} not found for journal entry`);
  return e.reference;
}

/** A balance of shared accounts, from their postings (they keep no stored balance). */
export async function balanceOf(tx: Tx | { query: Tx['query'] }, platformId: string, address: string, currency: string): Promise<number> {
  const [row] = await tx.query<{ net: number }>(
    `SELECT (COALESCE((SELECT SUM(amount) FROM postings WHERE platform_id = $1 AND destination = $2 AND currency = $3), 0)
           - COALESCE((SELECT SUM(amount) FROM postings WHERE platform_id = $1 AND source = $2 AND currency = $3), 0))::bigint AS net`,
    [platformId, address, currency],
  );
  return Number(row?.net ?? 0);
}
