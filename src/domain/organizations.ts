/**
 * Organisations: a client party that is a company, whose members act for it by role. Pure
 * rules only — which role an action needs and whether a member's roles grant it.
 */

export const ORG_ROLES = ['owner', 'admin', 'manager', 'finance', 'viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** What each role is for (shown in the API reference and the docs). */
export const ORG_ROLE_DESCRIPTIONS: Record<OrgRole, string> = {
  owner: 'everything, and the organisation itself; an organisation keeps at least one owner',
  admin: 'members, invitations, settings, and every action',
  manager: 'add, edit, delete and reorder milestones; approve, reject, release; answer change requests; message',
  finance: 'fund, pay drafts and invoices, payment methods, refunds at close',
  viewer: 'read only',
};

/**
 * Owners and admins may do everything; every other role grants its own actions; reading
 * (`viewer`) is granted by any membership.
 */
export function grants(roles: readonly string[], need: OrgRole): boolean {
  if (need === 'viewer') return roles.length > 0;
  if (roles.includes('owner')) return true;
  if (need === 'owner') return false;
  return roles.includes('admin') || roles.includes(need);
}

export const isOrganizationId = (id: string) => id.startsWith('org_');

/** Roles normalised: each once, in the order of ORG_ROLES. */
export const normaliseRoles = (roles: readonly OrgRole[]): OrgRole[] => ORG_ROLES.filter((r) => roles.includes(r));

export const INVITATION_DAYS = 7;
