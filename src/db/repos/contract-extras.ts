import type { Queryable } from '../client.ts';
import type { ContractRow, Overview } from './contracts.ts';
import { OVERVIEW_COLUMNS, toOverview } from './contracts.ts';
import { partyProfiles, type PartyProfile } from './profiles.ts';

export type Side = 'client' | 'contractor';

/** What waits for the caller on a contract, most urgent first (the API's `nextAction`). */
export type NextAction =
  | 'accept_proposal' | 'answer_change_request' | 'answer_refund_request' | 'respond_dispute' | 'accept_milestone'
  | 'fund' | 'submit' | 'review' | 'pay' | 'leave_review';

export type ContractExtras = { client: PartyProfile; contractor: PartyProfile; viewerRole: Side | null; nextAction: NextAction | null };

/** The caller: a user with their organisations among the contracts' clients, or null for the platform admin. */
type Viewer = { userId: string; orgIds: string[] } | null;

export const sideOf = (c: Pick<ContractRow, 'client_id' | 'contractor_id'>, v: Viewer): Side | null =>
  !v ? null : v.userId === c.contractor_id ? 'contractor' : v.userId === c.client_id || v.orgIds.includes(c.client_id) ? 'client' : null;

type Facts = {
  milestones: { status: string; proposed_by: Side | null }[];
  openFunded: number;
  changeRequestBy: Side | null;
  refundRequestBy: Side | null;
  disputesOpenedBy: Side[];
  drafts: number;
  reviewedBy: Side[];
};

/** The caller's next action from the contract's facts (pure: tested through the API). */
export function nextActionFor(c: ContractRow, side: Side | null, f: Facts): NextAction | null {
  if (!side) return null;
  const other: Side = side === 'client' ? 'contractor' : 'client';
  if (c.status === 'proposal') {
    const creatorSide: Side = c.created_by === c.contractor_id ? 'contractor' : 'client';
    if (creatorSide !== side) return 'accept_proposal';
  }
  if (c.status === 'closed') return f.reviewedBy.includes(side) ? null : 'leave_review';
  if (c.status !== 'proposal' && c.status !== 'active') return null;
  if (f.changeRequestBy === other) return 'answer_change_request';
  if (f.refundRequestBy === other) return 'answer_refund_request';
  if (f.disputesOpenedBy.includes(other)) return 'respond_dispute';
  if (f.milestones.some((m) => m.status === 'proposed' && m.proposed_by === other)) return 'accept_milestone';
  if (c.status !== 'active') return null;
  const escrow = c.policy.escrow === 'required';
  const has = (...st: string[]) => f.milestones.some((m) => st.includes(m.status));
  if (side === 'client') {
    if (has('submitted')) return 'review';
    if (f.drafts > 0) return 'pay';
    const room = c.policy.maxFundedMilestones === null || f.openFunded < c.policy.maxFundedMilestones;
    if (escrow && room && has('accepted')) return 'fund';
    return null;
  }
  return (escrow ? has('funded') : has('accepted', 'in_progress')) ? 'submit' : null;
}

/**
 * Both parties' profiles, the caller's side and next action for a batch of contracts: a fixed
 * number of statements whatever the batch size (a list page or one contract).
 */
export async function contractExtras(q: Queryable, contracts: ContractRow[], viewerId: string | null): Promise<Map<string, ContractExtras>> {
  const ids = contracts.map((c) => c.id);
  const orgIds = contracts.map((c) => c.client_id).filter((id) => id.startsWith('org_'));
  const memberOf = viewerId && orgIds.length
    ? (await q.query<{ org_id: string }>('SELECT org_id FROM organization_members WHERE user_id = $1 AND org_id = ANY($2::text[])', [viewerId, orgIds])).map((r) => r.org_id)
    : [];
  const viewer: Viewer = viewerId ? { userId: viewerId, orgIds: memberOf } : null;
  const profiles = await partyProfiles(q, contracts.flatMap((c) => [c.client_id, c.contractor_id]));
  const facts = new Map<string, Facts>(ids.map((id) => [id, { milestones: [], openFunded: 0, changeRequestBy: null, refundRequestBy: null, disputesOpenedBy: [], drafts: 0, reviewedBy: [] }]));
  if (viewer && ids.length) {
    const rows = await q.query<{ contract_id: string; what: string; side: Side | null; status: string | null }>(
      `SELECT contract_id, 'milestone' AS what, proposed_by AS side, status FROM milestones WHERE contract_id = ANY($1::text[]) AND status IN ('proposed', 'accepted', 'funded', 'in_progress', 'submitted', 'disputed')
       UNION ALL SELECT contract_id, 'change_request', author_role, NULL FROM change_requests WHERE contract_id = ANY($1::text[]) AND status = 'open'
       UNION ALL SELECT contract_id, 'refund_request', requester_role, NULL FROM refund_requests WHERE contract_id = ANY($1::text[]) AND status = 'open'
       UNION ALL SELECT contract_id, 'dispute', opener_role, NULL FROM disputes WHERE contract_id = ANY($1::text[]) AND status = 'open'
       UNION ALL SELECT contract_id, 'draft', NULL, NULL FROM payments WHERE contract_id = ANY($1::text[]) AND status = 'draft'
       UNION ALL SELECT contract_id, 'review', author_role, NULL FROM reviews WHERE contract_id = ANY($1::text[])`,
      [ids],
    );
    for (const r of rows) {
      const f = facts.get(r.contract_id)!;
      if (r.what === 'milestone') {
        f.milestones.push({ status: r.status!, proposed_by: r.side });
        if (r.status === 'funded' || r.status === 'submitted' || r.status === 'disputed') f.openFunded += 1;
      } else if (r.what === 'change_request') f.changeRequestBy = r.side;
      else if (r.what === 'refund_request') f.refundRequestBy = r.side;
      else if (r.what === 'dispute') f.disputesOpenedBy.push(r.side!);
      else if (r.what === 'draft') f.drafts += 1;
      else f.reviewedBy.push(r.side!);
    }
  }
  const unknown = (id: string): PartyProfile => ({ id, kind: id.startsWith('org_') ? 'organization' : 'user', name: '', memberSince: new Date(0).toISOString(), rating: null });
  return new Map(
    contracts.map((c) => {
      const side = sideOf(c, viewer);
      return [c.id, { client: profiles.get(c.client_id) ?? unknown(c.client_id), contractor: profiles.get(c.contractor_id) ?? unknown(c.contractor_id), viewerRole: side, nextAction: nextActionFor(c, side, facts.get(c.id)!) }];
    }),
  );
}

/** The payment overview of a batch of contracts (the list's items), by id. */
export async function overviews(q: Queryable, contracts: Pick<ContractRow, 'id' | 'currency'>[]): Promise<Map<string, Overview>> {
  if (!contracts.length) return new Map();
  const rows = await q.query<{ id: string; currency: string; ov_in_escrow: number; ov_paid: number; ov_total: number }>(
    `SELECT c.id, c.currency, ${OVERVIEW_COLUMNS} FROM contracts c WHERE c.id = ANY($1::text[])`,
    [contracts.map((c) => c.id)],
  );
  return new Map(rows.map((r) => [r.id, toOverview(r, r.currency)]));
}
