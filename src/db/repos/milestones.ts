import type { Approval, MilestoneState, MilestoneStatus } from '../../domain/milestone-machine.ts';
import type { Role } from '../../domain/policy.ts';
import type { Queryable } from '../client.ts';
import { iso, isoReq } from './rows.ts';

export type MilestoneRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  position: number;
  title: string;
  description: string | null;
  amount: number;
  due_date: string;
  status: MilestoneStatus;
  proposed_by: Role | null;
  funded_amount: number;
  released_amount: number;
  refunded_amount: number;
  client_fee_charged: number;
  client_fee_refunded: number;
  /** Contractor fees charged on this milestone's releases so far (fees are cumulative). */
  contractor_fee_charged: number;
  funding_pending: boolean;
  revision_count: number;
  submission_count: number;
  submitted_at: Date | null;
  submission_note: string | null;
  submission_files: string[];
  attachment_ids: string[];
  last_reject_reason: string | null;
  /** Four eyes: the first member's approval while the milestone is approval_pending (migration 0016). */
  approval_by: string | null;
  approval_from: MilestoneStatus | null;
  approval_release: number | null;
  approval_at: Date | null;
  /** The open chargeback freezing the escrow (migration 0023). */
  escrow_frozen_by: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  version: number;
  created_at: Date;
  updated_at: Date;
};

export type Milestone = {
  id: string;
  contractId: string;
  position: number;
  title: string;
  description: string | null;
  amount: number;
  currency: string;
  dueDate: string;
  status: MilestoneStatus;
  proposedBy: Role | null;
  fundedAmount: number;
  releasedAmount: number;
  refundedAmount: number;
  inEscrow: number;
  fundingPending: boolean;
  escrowFrozen: boolean;
  revisionCount: number;
  attachmentIds: string[];
  submission: { note: string | null; attachmentIds: string[]; submittedAt: string } | null;
  lastRejectReason: string | null;
  /** While approval_pending: who gave the first approval, when, and what (the whole milestone, or a release of `amount`). */
  pendingApproval: { approvedBy: string; approvedAt: string; action: 'approve' | 'release'; amount: number } | null;
  externalId: string | null;
  metadata: Record<string, string>;
  version: number;
  createdAt: string;
  updatedAt: string;
};

export const toMilestone = (r: MilestoneRow, currency: string): Milestone => ({
  id: r.id,
  contractId: r.contract_id,
  position: r.position,
  title: r.title,
  description: r.description,
  amount: r.amount,
  currency,
  dueDate: r.due_date,
  status: r.status,
  proposedBy: r.proposed_by,
  fundedAmount: r.funded_amount,
  releasedAmount: r.released_amount,
  refundedAmount: r.refunded_amount,
  inEscrow: r.funded_amount - r.released_amount - r.refunded_amount,
  fundingPending: r.funding_pending,
  escrowFrozen: Boolean(r.escrow_frozen_by),
  revisionCount: r.revision_count,
  attachmentIds: r.attachment_ids,
  submission: r.submitted_at ? { note: r.submission_note, attachmentIds: r.submission_files, submittedAt: iso(r.submitted_at)! } : null,
  lastRejectReason: r.last_reject_reason,
  pendingApproval:
    r.status === 'approval_pending' && r.approval_by
      ? {
          approvedBy: r.approval_by,
          approvedAt: isoReq(r.approval_at!),
          action: r.approval_release === null ? 'approve' : 'release',
          amount: r.approval_release !== null ? Number(r.approval_release) : r.funded_amount - r.released_amount - r.refunded_amount || r.amount,
        }
      : null,
  externalId: r.external_id ?? null,
  metadata: r.metadata ?? {},
  version: r.version,
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});

export const toState = (r: MilestoneRow): MilestoneState => ({
  status: r.status,
  amount: r.amount,
  fundedAmount: r.funded_amount,
  releasedAmount: r.released_amount,
  refundedAmount: r.refunded_amount,
  proposedBy: r.proposed_by,
  revisionCount: r.revision_count,
  fundingPending: r.funding_pending,
  approval: approvalOf(r),
  ...(r.escrow_frozen_by ? { escrowFrozen: true } : {}),
});

const approvalOf = (r: MilestoneRow): Approval | null =>
  r.approval_by && r.approval_from ? { by: r.approval_by, from: r.approval_from, release: r.approval_release === null ? null : Number(r.approval_release) } : null;

export async function findMilestone(q: Queryable, platformId: string, id: string, lock = false): Promise<MilestoneRow | undefined> {
  const [row] = await q.query<MilestoneRow>(
    `SELECT * FROM milestones WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [platformId, id],
  );
  return row;
}

export async function listContractMilestones(q: Queryable, contractId: string, statuses?: readonly MilestoneStatus[]): Promise<MilestoneRow[]> {
  if (statuses) {
    return q.query<MilestoneRow>('SELECT * FROM milestones WHERE contract_id = $1 AND status = ANY($2) ORDER BY position, id', [
      contractId,
      statuses,
    ]);
  }
  return q.query<MilestoneRow>('SELECT * FROM milestones WHERE contract_id = $1 ORDER BY position, id', [contractId]);
}

type ExtraColumn =
  | 'title' | 'description' | 'amount' | 'due_date' | 'position' | 'attachment_ids'
  | 'client_fee_charged' | 'client_fee_refunded' | 'contractor_fee_charged' | 'submission_count' | 'submitted_at'
  | 'submission_note' | 'submission_files' | 'last_reject_reason';

/**
 * Writes the state fields a transition may change, plus named extra columns (names from code, never
 * input). Given the row as it was (`before`, locked), the new row is known without reading it back:
 * the UPDATE returns nothing and goes out with the transaction's next round trip (write-behind,
 * db/client.ts); otherwise it is read back with RETURNING.
 */
export async function saveMilestoneState(
  q: Queryable,
  id: string,
  s: MilestoneState,
  at: Date,
  extra: Partial<Record<ExtraColumn, unknown>> = {},
  before?: MilestoneRow,
): Promise<MilestoneRow> {
  const cols = Object.keys(extra) as ExtraColumn[];
  const sets = cols.map((c, i) => `, ${c} = $${i + 13}`).join('');
  const a = s.status === 'approval_pending' ? (s.approval ?? null) : null;
  const sql = `UPDATE milestones SET status = $2, funded_amount = $3, released_amount = $4, refunded_amount = $5,
       proposed_by = $6, revision_count = $7, funding_pending = $8, updated_at = $9, version = version + 1,
       approval_by = $10, approval_from = $11, approval_release = $12,
       approval_at = CASE WHEN $10::text IS NULL THEN NULL ELSE COALESCE(approval_at, $9) END${sets}
     WHERE id = $1`;
  const params = [id, s.status, s.fundedAmount, s.releasedAmount, s.refundedAmount, s.proposedBy, s.revisionCount, s.fundingPending, at, a?.by ?? null, a?.from ?? null, a?.release ?? null,
    ...cols.map((c) => (c === 'attachment_ids' || c === 'submission_files' ? JSON.stringify(extra[c]) : extra[c]))];
  if (before) {
    if (before.id !== id) throw new Error(`saveMilestoneState: row of ${before.id} given for ${id}`);
    await q.query(sql, params);
    return {
      ...before,
      status: s.status,
      funded_amount: s.fundedAmount,
      released_amount: s.releasedAmount,
      refunded_amount: s.refundedAmount,
      proposed_by: s.proposedBy,
      revision_count: s.revisionCount,
      funding_pending: s.fundingPending,
      updated_at: at,
      version: before.version + 1,
      approval_by: a?.by ?? null,
      approval_from: a?.from ?? null,
      approval_release: a?.release ?? null,
      approval_at: a ? (before.approval_at ?? at) : null,
      ...(extra as Partial<MilestoneRow>),
    };
  }
  const [row] = await q.query<MilestoneRow>(`${sql} RETURNING *`, params);
  if (!row) throw new Error(`milestone ${id} vanished`);
  return row;
}
