import { OVERVIEW_COLUMNS } from '../../db/repos/contracts.ts';
import type { MilestoneRow } from '../../db/repos/milestones.ts';
import { APPROVED_STATUSES, PENDING_STATUSES } from '../../domain/milestone-machine.ts';
import type { UseCaseCtx } from '../context.ts';
import { loadOrganization } from './manage-organization.ts';

/** Seed 000's sections of a contractor's milestones list. */
export const SECTION_STATUSES = { pending: PENDING_STATUSES, approved: APPROVED_STATUSES };

type Totals = { currency: string; contracts: number; inEscrow: number; paid: number; pending: number };

/**
 * The people the organisation contracts with, each with their totals per currency, read from
 * the ledger as each contract's overview is: in escrow, paid (released to them), pending (the
 * rest of what was agreed).
 */
export async function listOrganizationContractors(ctx: UseCaseCtx, orgId: string) {
  const { org } = await loadOrganization(ctx, orgId, 'viewer');
  const rows = await ctx.tx.query<{ contractor_id: string; name: string; email: string; currency: string; contracts: number; in_escrow: number; paid: number; total: number }>(
    `WITH o AS (
       SELECT c.contractor_id, c.currency, ${OVERVIEW_COLUMNS}
       FROM contracts c WHERE c.platform_id = $1 AND c.client_id = $2
     )
     SELECT o.contractor_id, u.name, u.email, o.currency, count(*)::int AS contracts,
            SUM(o.ov_in_escrow)::bigint AS in_escrow, SUM(o.ov_paid)::bigint AS paid, SUM(o.ov_total)::bigint AS total
     FROM o JOIN users u ON u.id = o.contractor_id
     GROUP BY o.contractor_id, u.name, u.email, o.currency
     ORDER BY u.name, o.contractor_id, o.currency`,
    [org.platform_id, org.id],
  );
  const people = new Map<string, { userId: string; name: string; email: string; totals: Totals[] }>();
  for (const r of rows) {
    const p = people.get(r.contractor_id) ?? { userId: r.contractor_id, name: r.name, email: r.email, totals: [] };
    const [inEscrow, paid, total] = [Number(r.in_escrow), Number(r.paid), Number(r.total)];
    p.totals.push({ currency: r.currency, contracts: r.contracts, inEscrow, paid, pending: total - inEscrow - paid });
    people.set(r.contractor_id, p);
  }
  return [...people.values()];
}

/** A contractor's milestones across all the organisation's contracts, in one section (seed 000). */
export async function listContractorMilestones(ctx: UseCaseCtx, orgId: string, contractorId: string, section: keyof typeof SECTION_STATUSES) {
  const { org } = await loadOrganization(ctx, orgId, 'viewer');
  return ctx.tx.query<MilestoneRow & { currency: string; contract_title: string }>(
    `SELECT m.*, c.currency, c.title AS contract_title FROM milestones m JOIN contracts c ON c.id = m.contract_id
     WHERE c.platform_id = $1 AND c.client_id = $2 AND c.contractor_id = $3 AND m.status = ANY($4::text[])
     ORDER BY c.id, m.position, m.id LIMIT 500`,
    [org.platform_id, org.id, contractorId, [...SECTION_STATUSES[section]]],
  );
}
