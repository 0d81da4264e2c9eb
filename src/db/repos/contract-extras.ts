import type { Queryable } from '../client.ts';
import type { ContractRow, Overview } from './contracts.ts';
import { OVERVIEW_COLUMNS, toOverview } from './contracts.ts';
import { partyProfiles, type PartyProfile } from './profiles.ts';
import { isoReq } from './rows.ts';

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
  const facts = new Map<string, Facts>(ids.map((id) => [id, emptyFacts()]));
  if (viewer && ids.length) {
    const rows = await q.query<{ contract_id: string; what: string; side: Side | null; status: string | null }>(
      `SELECT contract_id, what, side, status FROM (${FACTS_SQL('contract_id = ANY($1::text[])')}) f`,
      [ids],
    );
    for (const r of rows) addFact(facts.get(r.contract_id)!, r.what, r.side, r.status);
  }
  return new Map(contracts.map((c) => [c.id, extrasFor(c, viewer, profiles, facts.get(c.id)!)]));
}

const emptyFacts = (): Facts => ({ milestones: [], openFunded: 0, changeRequestBy: null, refundRequestBy: null, disputesOpenedBy: [], drafts: 0, reviewedBy: [] });

/** The rows the next action is decided from, for the contracts `where` selects (a condition on `contract_id`). */
const FACTS_SQL = (where: string) => `
  SELECT contract_id, 'milestone' AS what, proposed_by AS side, status FROM milestones WHERE ${where} AND status IN ('proposed', 'accepted', 'funded', 'in_progress', 'submitted', 'disputed')
  UNION ALL SELECT contract_id, 'change_request', author_role, NULL FROM change_requests WHERE ${where} AND status = 'open'
  UNION ALL SELECT contract_id, 'refund_request', requester_role, NULL FROM refund_requests WHERE ${where} AND status = 'open'
  UNION ALL SELECT contract_id, 'dispute', opener_role, NULL FROM disputes WHERE ${where} AND status = 'open'
  UNION ALL SELECT contract_id, 'draft', NULL, NULL FROM payments WHERE ${where} AND status = 'draft'
  UNION ALL SELECT contract_id, 'review', author_role, NULL FROM reviews WHERE ${where}`;

function addFact(f: Facts, what: string, side: Side | null, status: string | null) {
  if (what === 'milestone') {
    f.milestones.push({ status: status!, proposed_by: side });
    if (status === 'funded' || status === 'submitted' || status === 'disputed') f.openFunded += 1;
  } else if (what === 'change_request') f.changeRequestBy = side;
  else if (what === 'refund_request') f.refundRequestBy = side;
  else if (what === 'dispute') f.disputesOpenedBy.push(side!);
  else if (what === 'draft') f.drafts += 1;
  else f.reviewedBy.push(side!);
}

const unknownParty = (id: string): PartyProfile => ({ id, kind: id.startsWith('org_') ? 'organization' : 'user', name: '', memberSince: new Date(0).toISOString(), rating: null });

function extrasFor(c: ContractRow, viewer: Viewer, profiles: Map<string, PartyProfile>, facts: Facts): ContractExtras {
  const side = sideOf(c, viewer);
  return { client: profiles.get(c.client_id) ?? unknownParty(c.client_id), contractor: profiles.get(c.contractor_id) ?? unknownParty(c.contractor_id), viewerRole: side, nextAction: nextActionFor(c, side, facts) };
}

/**
 * contractExtras of one contract as columns of the statement that reads it (the contract page in
 * one statement): over a contract row aliased `c`, for the viewer `viewer` (an SQL text expression,
 * NULL for the platform admin). Read back with extrasFromColumns.
 */
export const EXTRAS_COLUMNS = (viewer: string) => `
  EXISTS (SELECT 1 FROM organization_members om WHERE om.user_id = ${viewer} AND om.org_id = c.client_id) AS ex_member,
  (SELECT json_agg(json_build_array(p.id, p.kind, p.name, p.created_at, r.average, r.count))
     FROM (SELECT id, 'user' AS kind, name, created_at FROM users WHERE id IN (c.client_id, c.contractor_id)
           UNION ALL SELECT id, 'organization' AS kind, name, created_at FROM organizations WHERE id IN (c.client_id, c.contractor_id)) p
     CROSS JOIN LATERAL (SELECT round(avg(rating), 2)::float8 AS average, count(*)::int AS count
                         FROM reviews WHERE subject_id = p.id AND visible_at IS NOT NULL) r) AS ex_profiles,
  CASE WHEN ${viewer} IS NULL THEN NULL ELSE
    (SELECT json_agg(json_build_array(f.what, f.side, f.status)) FROM (${FACTS_SQL('contract_id = c.id')}) f) END AS ex_facts`;

export type ExtrasColumns = {
  ex_member: boolean;
  ex_profiles: [string, 'user' | 'organization', string, string, number | null, number][] | null;
  ex_facts: [string, Side | null, string | null][] | null;
};

export function extrasFromColumns(c: ContractRow, viewerId: string | null, cols: ExtrasColumns): ContractExtras {
  const viewer: Viewer = viewerId ? { userId: viewerId, orgIds: cols.ex_member ? [c.client_id] : [] } : null;
  const profiles = new Map<string, PartyProfile>(
    (cols.ex_profiles ?? []).map(([id, kind, name, createdAt, average, count]) => [
      id,
      { id, kind, name, memberSince: isoReq(createdAt), rating: count > 0 ? { average: Number(average), count } : null },
    ]),
  );
  const facts = emptyFacts();
  for (const [what, side, status] of cols.ex_facts ?? []) addFact(facts, what, side, status);
  return extrasFor(c, viewer, profiles, facts);
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
