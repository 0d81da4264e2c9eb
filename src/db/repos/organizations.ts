import type { Queryable } from '../client.ts';

export type OrganizationRow = {
  id: string;
  platform_id: string;
  name: string;
  default_payment_method: string | null;
  /** Four eyes: per currency, the amount (minor units) from which a second member must approve. */
  approval_threshold: Record<string, number>;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

export type MemberRow = { org_id: string; user_id: string; roles: string[]; created_at: Date; name: string; email: string };

export type InvitationRow = {
  id: string;
  org_id: string;
  email: string;
  roles: string[];
  invited_by: string;
  status: 'pending' | 'accepted' | 'revoked';
  expires_at: Date;
  accepted_by: string | null;
  created_at: Date;
  updated_at: Date;
};

export const toOrganization = (r: OrganizationRow, myRoles: string[] | null) => ({
  id: r.id,
  platformId: r.platform_id,
  name: r.name,
  defaultPaymentMethod: r.default_payment_method,
  approvalThreshold: r.approval_threshold ?? {},
  myRoles: myRoles ?? [],
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export const toMember = (r: MemberRow) => ({ userId: r.user_id, name: r.name, email: r.email, roles: r.roles, joinedAt: r.created_at.toISOString() });

/** The stored status, with a pending invitation past its expiry shown as expired. */
export const toInvitation = (r: InvitationRow, now: Date) => ({
  id: r.id,
  organizationId: r.org_id,
  email: r.email,
  roles: r.roles,
  status: r.status === 'pending' && r.expires_at <= now ? ('expired' as const) : r.status,
  invitedBy: r.invited_by,
  acceptedBy: r.accepted_by,
  expiresAt: r.expires_at.toISOString(),
  createdAt: r.created_at.toISOString(),
});

export async function findOrganization(q: Queryable, platformId: string, id: string, lock = false): Promise<OrganizationRow | undefined> {
  const [row] = await q.query<OrganizationRow>(`SELECT * FROM organizations WHERE platform_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [platformId, id]);
  return row;
}

/** The four-eyes threshold of a client organisation in `currency`, or null (a user client, or none set). */
export async function approvalThresholdOf(q: Queryable, clientId: string, currency: string): Promise<number | null> {
  if (!clientId.startsWith('org_')) return null;
  const [row] = await q.query<{ t: string | number | null }>('SELECT approval_threshold -> $2 AS t FROM organizations WHERE id = $1', [clientId, currency]);
  return row?.t === null || row?.t === undefined ? null : Number(row.t);
}

export async function listMembers(q: Queryable, orgId: string): Promise<MemberRow[]> {
  return q.query<MemberRow>(
    'SELECT m.org_id, m.user_id, m.roles, m.created_at, u.name, u.email FROM organization_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id',
    [orgId],
  );
}
