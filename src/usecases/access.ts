import { findContract, type ContractRow } from '../db/repos/contracts.ts';
import { findMilestone, type MilestoneRow } from '../db/repos/milestones.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { assertContractLimits } from '../domain/limits.ts';
import type { Actor } from '../domain/milestone-machine.ts';
import type { Role } from '../domain/policy.ts';
import { grants, isOrganizationId, type OrgRole } from '../domain/organizations.ts';
import { isPlatformAdmin, type Principal, type UseCaseCtx } from './context.ts';

export type ContractRole = Role | 'admin';

/**
 * Loads a contract the caller may see. A user who is not a party gets 404 (the contract's
 * existence is not disclosed); the platform admin sees every contract of its platform.
 * With `lock`, the row is locked FOR UPDATE: every command on a contract takes this lock
 * first, which serializes commands per contract and only per contract.
 */
export async function loadContract(ctx: UseCaseCtx, contractId: string, lock: boolean): Promise<{ contract: ContractRow; role: ContractRole }> {
  const contract = await findContract(ctx.tx, ctx.principal.platformId, contractId, lock);
  if (!contract) throw notFound('contract');
  return { contract, role: roleIn(ctx, contract) };
}

/**
 * loadContract with the lock, and the contract's milestones in order (read after the lock, in the
 * same round trip): for a command on the whole contract that goes through its milestones.
 */
export async function loadContractWithMilestones(ctx: UseCaseCtx, contractId: string): Promise<{ contract: ContractRow; role: ContractRole; milestones: MilestoneRow[] }> {
  const [[contract], milestones] = (await ctx.tx.batch([
    ['SELECT * FROM contracts WHERE platform_id = $1 AND id = $2 FOR UPDATE', [ctx.principal.platformId, contractId]],
    ['SELECT * FROM milestones WHERE platform_id = $1 AND contract_id = $2 ORDER BY position, id', [ctx.principal.platformId, contractId]],
  ])) as [ContractRow[], MilestoneRow[]];
  if (!contract) throw notFound('contract');
  return { contract, role: roleIn(ctx, contract), milestones };
}

/**
 * The caller's role, or 404 naming the resource asked for (its existence is not disclosed); a
 * member of the client organisation outside their roles gets the 403 naming the role missing.
 * For every resource addressed by its own id (payment, invoice, time entry, request …).
 */
export function partyRole(ctx: UseCaseCtx, contract: ContractRow, what: string): ContractRole {
  try {
    return roleIn(ctx, contract);
  } catch (err) {
    // A member acting outside their roles is told which role is missing (403), not 404.
    if (err instanceof AppError && err.code === 'forbidden') throw err;
    throw notFound(what);
  }
}

export function roleIn(ctx: UseCaseCtx, contract: ContractRow): ContractRole {
  const p = ctx.principal;
  if (isPlatformAdmin(p)) return 'admin';
  if (p.userId === contract.client_id) return 'client';
  if (p.userId === contract.contractor_id) return 'contractor';
  const roles = p.orgs?.[contract.client_id];
  if (!roles) throw notFound('contract');
  requireOrgRole(roles, p.orgNeed ?? 'manager');
  return 'client';
}

/**
 * A member of the client organisation acts as the client only within their roles: 403 naming
 * the role the action needs (a non-member never gets here: the contract is a 404 to them).
 */
export function requireOrgRole(roles: readonly string[], need: OrgRole): void {
  if (!grants(roles, need)) {
    throw new AppError('forbidden', `this needs the ${need} role in the organisation (you have: ${roles.join(', ')})`, { missingRole: need, roles });
  }
}

/** The caller's roles in an organisation, or 404 for a non-member (its existence is not disclosed). */
export function orgRolesOf(p: Principal, orgId: string): string[] {
  const roles = p.orgs?.[orgId];
  if (!roles) throw notFound('organization');
  return roles;
}

/** The user ids who stand for a party: the client organisation's members, or the one user. */
export async function partyUserIds(ctx: Pick<UseCaseCtx, 'tx'>, partyId: string): Promise<string[]> {
  if (!isOrganizationId(partyId)) return [partyId];
  const rows = await ctx.tx.query<{ user_id: string }>('SELECT user_id FROM organization_members WHERE org_id = $1 ORDER BY user_id', [partyId]);
  return rows.map((r) => r.user_id);
}

/** Loads a milestone and its contract, locking the contract first and then the milestone. */
export async function loadMilestone(
  ctx: UseCaseCtx,
  milestoneId: string,
  lock: boolean,
): Promise<{ contract: ContractRow; milestone: MilestoneRow; role: ContractRole }> {
  if (lock) {
    // Contract first (the lock every command on it takes, found through the milestone), then the
    // milestone: two statements in this order, sent together (one round trip).
    const [[contract], [milestone]] = (await ctx.tx.batch([
      [
        `SELECT * FROM contracts WHERE platform_id = $1 AND id = (SELECT contract_id FROM milestones WHERE platform_id = $1 AND id = $2) FOR UPDATE`,
        [ctx.principal.platformId, milestoneId],
      ],
      ['SELECT * FROM milestones WHERE platform_id = $1 AND id = $2 FOR UPDATE', [ctx.principal.platformId, milestoneId]],
    ])) as [ContractRow[], MilestoneRow[]];
    if (!contract || !milestone) throw notFound('milestone');
    const role = partyRole(ctx, contract, 'milestone');
    return { contract, milestone, role };
  }
  const milestone = await findMilestone(ctx.tx, ctx.principal.platformId, milestoneId);
  if (!milestone) throw notFound('milestone');
  const contract = await findContract(ctx.tx, ctx.principal.platformId, milestone.contract_id);
  if (!contract) throw notFound('milestone');
  return { contract, milestone, role: partyRole(ctx, contract, 'milestone') };
}

export const actorFor = (role: ContractRole): Actor => ({ role });

/** The acting user's name, for words people read ("Ana proposed …"); null for the platform acting as itself. */
export async function actorName(ctx: Pick<UseCaseCtx, 'tx' | 'principal'>): Promise<string | null> {
  if (!ctx.principal.userId) return null;
  const [row] = await ctx.tx.query<{ name: string }>('SELECT name FROM users WHERE id = $1', [ctx.principal.userId]);
  return row?.name ?? null;
}

export function requireParty(role: ContractRole): Role {
  if (role === 'admin') throw new AppError('forbidden', 'act for a party with the Acting-User header');
  return role;
}

/** 409 change_request_open while the contract has an open change request. */
export async function assertNoOpenChangeRequest(ctx: UseCaseCtx, contractId: string, except?: string): Promise<void> {
  const [open] = await ctx.tx.query<{ id: string }>("SELECT id FROM change_requests WHERE contract_id = $1 AND status = 'open' AND id <> $2", [contractId, except ?? '']);
  if (open) {
    throw new AppError('change_request_open', 'answer the open change request before making other changes', { changeRequestId: open.id });
  }
}

/**
 * 422 limit_exceeded if the contract's live milestones, with `added` more and their total
 * changed by `delta`, would pass the caps of domain/limits.ts (call with the contract locked).
 */
export async function assertContractRoom(ctx: UseCaseCtx, contractId: string, change: { added: number; delta: number }, field?: string): Promise<void> {
  const [row] = await ctx.tx.query<{ n: number; total: number }>(
    "SELECT count(*)::int AS n, COALESCE(SUM(amount), 0)::bigint AS total FROM milestones WHERE contract_id = $1 AND status NOT IN ('cancelled', 'declined')",
    [contractId],
  );
  assertContractLimits(row!.n + change.added, row!.total + change.delta, field);
}
