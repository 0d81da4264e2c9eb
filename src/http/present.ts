import type { Queryable } from '../db/client.ts';
import { findContractPage, toContract, type ContractPage, type ContractRow } from '../db/repos/contracts.ts';
import { toMilestone, type MilestoneRow } from '../db/repos/milestones.ts';
import { iso, isoReq } from '../db/repos/rows.ts';
import { validation } from '../domain/errors.ts';
import type { DisputeRow } from '../usecases/disputes.ts';
import type { ChangeRequestRow } from '../usecases/open-change-request.ts';
import type { PaymentRow } from '../usecases/pay-payments.ts';

/** Turns rows into API resources (camelCase, ISO timestamps, amounts beside their currency). */
export const presentContractPage = ({ contract, overview, milestones, extras }: ContractPage) => ({
  ...toContract(contract),
  ...extras,
  overview,
  milestones: milestones.map((m) => toMilestone(m, contract.currency)),
});

/**
 * The contract page (contract, overview from the ledger, milestones, the viewer's unread
 * messages) as it is now, read in one statement: after a command, inside its transaction, so
 * the answer shows the command's effect.
 */
export async function loadContractPage(q: Queryable, c: Pick<ContractRow, 'platform_id' | 'id'>, viewerId: string | null = null) {
  const page = await findContractPage(q, c.platform_id, c.id, viewerId);
  if (!page) throw new Error(`contract ${c.id} vanished`);
  return presentContractPage(page);
}

export const presentMilestone = (m: MilestoneRow, c: Pick<ContractRow, 'currency'>) => toMilestone(m, c.currency);

export const presentPayment = (p: PaymentRow) => ({
  id: p.id,
  contractId: p.contract_id,
  milestoneId: p.milestone_id,
  clientId: p.client_id,
  contractorId: p.contractor_id,
  kind: p.kind,
  amount: p.amount,
  fee: p.fee,
  net: p.amount - p.fee,
  currency: p.currency,
  status: p.status,
  paidAt: iso(p.paid_at),
  pendingApproval: p.status === 'draft' && p.approval_by ? { approvedBy: p.approval_by, approvedAt: isoReq(p.approval_at!) } : null,
  version: p.version,
  createdAt: isoReq(p.created_at),
  updatedAt: isoReq(p.updated_at),
});

export const presentChangeRequest = (r: ChangeRequestRow) => ({
  id: r.id,
  contractId: r.contract_id,
  authorId: r.author_id,
  authorRole: r.author_role,
  status: r.status,
  operations: r.operations,
  message: r.message,
  diff: r.diff as never,
  declineReason: r.decline_reason,
  failureReason: r.failure_reason,
  supersedes: r.supersedes ?? null,
  supersededBy: r.superseded_by ?? null,
  version: r.version,
  resolvedAt: iso(r.resolved_at),
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});

export const presentDispute = (d: DisputeRow) => ({
  id: d.id,
  contractId: d.contract_id,
  milestoneId: d.milestone_id,
  invoiceId: d.invoice_id ?? null,
  openedBy: d.opened_by,
  openerRole: d.opener_role,
  reason: d.reason,
  evidenceIds: d.evidence_ids,
  status: d.status,
  respondBy: isoReq(d.respond_by),
  response: d.responded_at ? { message: d.response_message ?? '', attachmentIds: d.response_ids, respondedAt: isoReq(d.responded_at) } : null,
  resolution:
    d.resolved_at && d.release_amount !== null && d.refund_amount !== null
      ? { releaseAmount: d.release_amount, refundAmount: d.refund_amount, by: d.resolution ?? 'admin', resolvedAt: isoReq(d.resolved_at) }
      : null,
  version: d.version,
  createdAt: isoReq(d.created_at),
  updatedAt: isoReq(d.updated_at),
});

/** Opaque cursors: the last id of the page (ids are time-ordered), base64url-encoded. */
export const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
export function decodeCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Not one of ours: a 422 naming the field (a NUL placeholder here made PostgreSQL fail with a 500).
  if (!/^[a-z]{2,4}_[0-9a-z]{26}$/.test(id)) throw validation('cursor', 'is not a cursor returned by this API');
  return id;
}
export function page<T extends { id: string }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  return { data, nextCursor: rows.length > limit ? encodeCursor(data[data.length - 1]!.id) : null };
}
