import { findOrganization, toOrganization, type OrganizationRow } from '../../db/repos/organizations.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { OrgRole } from '../../domain/organizations.ts';
import { orgRolesOf, requireOrgRole } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';

/** The caller as a person: organisations are run by users (the admin acts for one with Acting-User). */
export function callerUserId(ctx: UseCaseCtx): string {
  if (!ctx.principal.userId) throw new AppError('forbidden', 'organisations are run by their members: use the Acting-User header');
  return ctx.principal.userId;
}

/**
 * Loads an organisation for a member holding `need` (403 naming the role otherwise); a
 * non-member gets 404. With `lock`, the row is locked: membership changes serialize on it.
 */
export async function loadOrganization(ctx: UseCaseCtx, orgId: string, need: OrgRole, lock = false): Promise<{ org: OrganizationRow; roles: string[] }> {
  callerUserId(ctx);
  const roles = orgRolesOf(ctx.principal, orgId);
  const org = await findOrganization(ctx.tx, ctx.principal.platformId, orgId, lock);
  if (!org) throw notFound('organization');
  requireOrgRole(roles, need);
  return { org, roles };
}

/** `POST /v1/organizations`: the caller founds an organisation and is its owner. */
export async function createOrganization(ctx: UseCaseCtx, input: { name: string }) {
  const userId = callerUserId(ctx);
  const id = newId('organization');
  const [org] = await ctx.tx.query<OrganizationRow>(
    `INSERT INTO organizations (id, platform_id, name, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING *`,
    [id, ctx.principal.platformId, input.name, userId, ctx.now],
  );
  await ctx.tx.query(`INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, ARRAY['owner'], $3)`, [id, userId, ctx.now]);
  return toOrganization(org!, ['owner']);
}

/** The organisations the caller is a member of, with their roles. */
export async function listMyOrganizations(ctx: UseCaseCtx) {
  const userId = callerUserId(ctx);
  const rows = await ctx.tx.query<OrganizationRow & { roles: string[] }>(
    'SELECT o.*, m.roles FROM organization_members m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name, o.id',
    [userId],
  );
  return rows.map((r) => toOrganization(r, r.roles));
}

export async function getOrganization(ctx: UseCaseCtx, orgId: string) {
  const { org, roles } = await loadOrganization(ctx, orgId, 'viewer');
  return toOrganization(org, roles);
}

/** `PATCH`: rename, and set the four-eyes approval threshold per currency (admin role). */
export async function updateOrganization(ctx: UseCaseCtx, orgId: string, input: { name?: string; approvalThreshold?: Record<string, number> }) {
  const { org, roles } = await loadOrganization(ctx, orgId, 'admin', true);
  const [saved] = await ctx.tx.query<OrganizationRow>(
    'UPDATE organizations SET name = $2, approval_threshold = $3::jsonb, updated_at = $4 WHERE id = $1 RETURNING *',
    [org.id, input.name ?? org.name, JSON.stringify(input.approvalThreshold ?? org.approval_threshold), ctx.now],
  );
  return toOrganization(saved!, roles);
}

/** `PUT …/payment-method`: the organisation's default for charges (finance role). */
export async function setOrganizationPaymentMethod(ctx: UseCaseCtx, orgId: string, paymentMethod: string) {
  const { org, roles } = await loadOrganization(ctx, orgId, 'finance', true);
  if (!ctx.deps.provider.isPaymentMethod(paymentMethod)) {
    throw new AppError('validation_failed', 'unknown payment method', {}, [{ field: 'paymentMethod', message: 'is not a payment method of this provider' }]);
  }
  const [saved] = await ctx.tx.query<OrganizationRow>('UPDATE organizations SET default_payment_method = $2, updated_at = $3 WHERE id = $1 RETURNING *', [org.id, paymentMethod, ctx.now]);
  return toOrganization(saved!, roles);
}
