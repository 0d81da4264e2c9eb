import { listMembers, toMember } from '../../db/repos/organizations.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { normaliseRoles, type OrgRole } from '../../domain/organizations.ts';
import type { UseCaseCtx } from '../context.ts';
import { callerUserId, loadOrganization } from './manage-organization.ts';

export async function listOrganizationMembers(ctx: UseCaseCtx, orgId: string) {
  const { org } = await loadOrganization(ctx, orgId, 'viewer');
  return (await listMembers(ctx.tx, org.id)).map(toMember);
}

/** 409 last_owner if the organisation would be left without an owner (call with its row locked). */
async function assertOwnerRemains(ctx: UseCaseCtx, orgId: string, userId: string): Promise<void> {
  const [row] = await ctx.tx.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM organization_members WHERE org_id = $1 AND user_id <> $2 AND 'owner' = ANY(roles)",
    [orgId, userId],
  );
  if (row!.n === 0) throw new AppError('last_owner', 'an organisation keeps at least one owner: make another member owner first');
}

/** `PATCH …/members/{userId} {roles}` (admin role; only an owner grants or takes away `owner`). */
export async function updateMemberRoles(ctx: UseCaseCtx, orgId: string, userId: string, input: { roles: OrgRole[] }) {
  const { org, roles: mine } = await loadOrganization(ctx, orgId, 'admin', true);
  const [member] = await ctx.tx.query<{ roles: string[] }>('SELECT roles FROM organization_members WHERE org_id = $1 AND user_id = $2', [org.id, userId]);
  if (!member) throw notFound('member');
  const roles = normaliseRoles(input.roles);
  if ((member.roles.includes('owner') || roles.includes('owner')) && !mine.includes('owner') && member.roles.includes('owner') !== roles.includes('owner')) {
    throw new AppError('forbidden', 'only an owner grants or takes away the owner role', { missingRole: 'owner' });
  }
  if (member.roles.includes('owner') && !roles.includes('owner')) await assertOwnerRemains(ctx, org.id, userId);
  await ctx.tx.query('UPDATE organization_members SET roles = $3 WHERE org_id = $1 AND user_id = $2', [org.id, userId, roles]);
  return toMember((await listMembers(ctx.tx, org.id)).find((m) => m.user_id === userId)!);
}

/** `DELETE …/members/{userId}`: an admin removes a member, or a member leaves; the last owner stays. */
export async function removeMember(ctx: UseCaseCtx, orgId: string, userId: string): Promise<void> {
  const self = callerUserId(ctx) === userId;
  const { org, roles: mine } = await loadOrganization(ctx, orgId, self ? 'viewer' : 'admin', true);
  const [member] = await ctx.tx.query<{ roles: string[] }>('SELECT roles FROM organization_members WHERE org_id = $1 AND user_id = $2', [org.id, userId]);
  if (!member) throw notFound('member');
  if (member.roles.includes('owner')) {
    if (!self && !mine.includes('owner')) throw new AppError('forbidden', 'only an owner removes an owner', { missingRole: 'owner' });
    await assertOwnerRemains(ctx, org.id, userId);
  }
  await ctx.tx.query('DELETE FROM organization_members WHERE org_id = $1 AND user_id = $2', [org.id, userId]);
}
