import type { Schemas } from '@tranche/client';

export type Organization = Schemas['Organization'];
export type OrgRole = 'owner' | 'admin' | 'manager' | 'finance' | 'viewer';
export const ORG_ROLES: OrgRole[] = ['owner', 'admin', 'manager', 'finance', 'viewer'];

/** What each role is for, in the people's words (the API's rules: docs/lifecycle.md, Organisations and roles). */
export const ROLE_WORDS: Record<OrgRole, string> = {
  owner: 'Owner — everything, and the organisation itself',
  admin: 'Admin — members, invitations, settings and every action',
  manager: 'Manager — milestones, approvals, change requests, messages',
  finance: 'Finance — funding, paying drafts and invoices, the card',
  viewer: 'Viewer — reads only',
};

/** Whether `roles` grant `need` (as the server decides: owners and admins hold every role; any member reads). */
export function can(roles: readonly string[], need: OrgRole): boolean {
  if (need === 'viewer') return roles.length > 0;
  if (roles.includes('owner')) return true;
  if (need === 'owner') return false;
  return roles.includes('admin') || roles.includes(need);
}

export const roleList = (roles: readonly string[]) => roles.join(', ');
