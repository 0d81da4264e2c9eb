import type { ContractStatus } from '../../domain/milestone-machine.ts';
import type { Policy } from '../../domain/policy.ts';
import type { Queryable } from '../client.ts';
import { EXTRAS_COLUMNS, extrasFromColumns, type ContractExtras, type ExtrasColumns } from './contract-extras.ts';
import { unreadMessagesSql } from './messages.ts';
import type { MilestoneRow } from './milestones.ts';
import { iso, isoReq } from './rows.ts';

export type ContractRow = {
  id: string;
  platform_id: string;
  title: string;
  description: string | null;
  client_id: string;
  contractor_id: string;
  created_by: string;
  type: 'fixed' | 'hourly';
  currency: string;
  status: ContractStatus;
  policy: Policy;
  ledger_seq: number;
  external_id: string | null;
  metadata: Record<string, string>;
  /** Unread messages for the user reading, when the query selected them (messages.ts). */
  unread_messages?: number;
  hourly_rate: number | null;
  weekly_limit_hours: number | null;
  version: number;
  activated_at: Date | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type Overview = { total: number; inEscrow: number; paid: number; remaining: number; currency: string };

export type Contract = {
  id: string;
  title: string;
  description: string | null;
  clientId: string;
  contractorId: string;
  createdBy: string;
  type: 'fixed' | 'hourly';
  currency: string;
  status: ContractStatus;
  policy: Policy;
  externalId: string | null;
  metadata: Record<string, string>;
  /** Messages on the contract's thread the caller has not read (0 for the platform admin). */
  unreadMessages: number;
  hourlyRate: number | null;
  weeklyLimitHours: number | null;
  version: number;
  activatedAt: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

export const toContract = (r: ContractRow): Contract => ({
  id: r.id,
  title: r.title,
  description: r.description,
  clientId: r.client_id,
  contractorId: r.contractor_id,
  createdBy: r.created_by,
  type: r.type,
  currency: r.currency,
  status: r.status,
  policy: r.policy,
  externalId: r.external_id ?? null,
  metadata: r.metadata ?? {},
  unreadMessages: r.unread_messages ?? 0,
  hourlyRate: r.hourly_rate ?? null,
  weeklyLimitHours: r.weekly_limit_hours ?? null,
  version: r.version,
  activatedAt: iso(r.activated_at),
  closedAt: iso(r.closed_at),
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});

export async function findContract(q: Queryable, platformId: string, id: string, lock = false): Promise<ContractRow | undefined> {
  const [row] = await q.query<ContractRow>(
    `SELECT * FROM contracts WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [platformId, id],
  );
  return row;
}

/**
 * Moves a contract to `status`. Given the row as it was (`before`, locked), the new row is known
 * without reading it back: the UPDATE returns nothing and goes out with the transaction's next
 * round trip (write-behind, db/client.ts); otherwise it is read back with RETURNING.
 */
export async function setContractStatus(q: Queryable, id: string, status: ContractStatus, at: Date, before?: ContractRow): Promise<ContractRow> {
  const sql = `UPDATE contracts SET status = $2, version = version + 1, updated_at = $3,
       activated_at = CASE WHEN $2 = 'active' THEN $3 ELSE activated_at END,
       closed_at = CASE WHEN $2 = 'closed' THEN $3 ELSE closed_at END
     WHERE id = $1`;
  if (before) {
    if (before.id !== id) throw new Error(`setContractStatus: row of ${before.id} given for ${id}`);
    await q.query(sql, [id, status, at]);
    return {
      ...before,
      status,
      version: before.version + 1,
      updated_at: at,
      activated_at: status === 'active' ? at : before.activated_at,
      closed_at: status === 'closed' ? at : before.closed_at,
    };
  }
  const [row] = await q.query<ContractRow>(`${sql} RETURNING *`, [id, status, at]);
  return row!;
}

/**
 * The payment overview, read from the ledger: escrow is the sum of the contract's escrow
 * balances; paid is everything that left escrow (or the client's card) for the contractor,
 * fees included; total is what the agreed milestones are worth (settled ones count what was
 * actually paid); remaining is the rest. Columns over a contract row aliased `c`.
 */
export const OVERVIEW_COLUMNS = `
  (SELECT COALESCE(SUM(balance), 0)::bigint FROM ledger_accounts
     WHERE platform_id = c.platform_id AND contract_id = c.id AND kind = 'escrow') AS ov_in_escrow,
  (SELECT COALESCE(SUM(amount), 0)::bigint FROM postings
     WHERE contract_id = c.id AND (destination = 'contractors:' || c.contractor_id || ':balance' OR destination = 'platform:fees:contractor')) AS ov_paid,
  (SELECT COALESCE(SUM(CASE
       WHEN status IN ('accepted','funded','in_progress','submitted','approval_pending','approved','disputed') THEN amount
       WHEN status = 'paid' AND c.policy->>'escrow' = 'none' THEN amount
       WHEN status IN ('paid','refunded','cancelled') THEN released_amount
       ELSE 0 END), 0)::bigint FROM milestones WHERE contract_id = c.id) AS ov_total`;

type OverviewColumns = { ov_in_escrow: number; ov_paid: number; ov_total: number };

export const toOverview = (r: OverviewColumns, currency: string): Overview => ({
  total: r.ov_total,
  inEscrow: r.ov_in_escrow,
  paid: r.ov_paid,
  remaining: r.ov_total - r.ov_in_escrow - r.ov_paid,
  currency,
});

export type ContractPage = { contract: ContractRow; overview: Overview; milestones: MilestoneRow[]; extras: ContractExtras };

/**
 * The contract page in one statement: the contract row, its overview, its milestones (as JSON
 * rows, in order), the unread messages of `viewerId` and the extras (both parties' profiles, the
 * viewer's side and next action). Undefined if the contract is not on the platform.
 */
export async function findContractPage(
  q: Queryable,
  platformId: string,
  id: string,
  viewerId: string | null = null,
): Promise<ContractPage | undefined> {
  // json_agg gives the milestone rows with the same column names; timestamps arrive as ISO
  // text, which the mappers accept as they accept Date.
  const [row] = await q.query<ContractRow & OverviewColumns & ExtrasColumns & { milestone_rows: MilestoneRow[] }>(
    `SELECT c.*, ${OVERVIEW_COLUMNS}, ${unreadMessagesSql('c.id', '$3::text')} AS unread_messages,
       (SELECT COALESCE(json_agg(m ORDER BY m.position, m.id), '[]'::json) FROM milestones m WHERE m.contract_id = c.id) AS milestone_rows,
       ${EXTRAS_COLUMNS('$3::text')}
     FROM contracts c WHERE c.platform_id = $1 AND c.id = $2`,
    [platformId, id, viewerId],
  );
  if (!row) return undefined;
  const { ov_in_escrow, ov_paid, ov_total, milestone_rows, ex_member, ex_profiles, ex_facts, ...rest } = row;
  const contract = rest as ContractRow;
  return {
    contract,
    overview: toOverview({ ov_in_escrow, ov_paid, ov_total }, row.currency),
    milestones: milestone_rows,
    extras: extrasFromColumns(contract, viewerId, { ex_member, ex_profiles, ex_facts }),
  };
}
