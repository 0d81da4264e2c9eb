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
export async function postEntry(tx: Tx, e: EntryInput): Promise<{ entryId: string; seq: number }> {
  const postings = validatePostings(e.postings);
  const net = netByAccount(postings);
  const addresses = [...net.keys()];
  const values: unknown[] = [];
  const rows = addresses.map((a, i) => {
    const info = describeAccount(a);
    values.push(e.platformId, a, e.currency, info.kind, info.contractId, info.allowNegative, info.stored ? 0 : null, e.at);
    const b = i * 8;
    return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8})`;
  });
  await tx.query(
    `INSERT INTO ledger_accounts (platform_id, address, currency, kind, contract_id, allow_negative, balance, created_at)
     VALUES ${rows.join(',')} ON CONFLICT DO NOTHING`,
    values,
  );
  const entryId = newId('entry');
  // The per-contract sequence number is taken and used in one statement.
  const [seqRow] = await tx.query<{ seq: number }>(
    `WITH s AS (UPDATE contracts SET ledger_seq = ledger_seq + 1 WHERE id = $3 RETURNING ledger_seq)
     INSERT INTO journal_entries (id, platform_id, contract_id, seq, kind, reference, milestone_id, created_at)
     SELECT $1, $2, $3, s.ledger_seq, $4, $5, $6, $7 FROM s RETURNING seq`,
    [entryId, e.platformId, e.contractId, e.kind, e.reference, e.milestoneId ?? null, e.at],
  );
  if (!seqRow) throw new Error(`contract ${e.contractId} not found for journal entry`);
  const pv: unknown[] = [];
  const prow = postings.map((p, i) => {
    pv.push(entryId, i, e.platformId, e.contractId, p.source, p.destination, p.amount, e.currency);
    const b = i * 8;
    return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8})`;
  });
  await tx.query(
    `INSERT INTO postings (entry_id, idx, platform_id, contract_id, source, destination, amount, currency) VALUES ${prow.join(',')}`,
    pv,
  );
  for (const [address, delta] of net) {
    if (delta === 0 || !describeAccount(address).stored) continue;
    await tx.query(
      'UPDATE ledger_accounts SET balance = balance + $1 WHERE platform_id = $2 AND address = $3 AND currency = $4',
      [delta, e.platformId, address, e.currency],
    );
  }
  return { entryId, seq: seqRow.seq };
}
