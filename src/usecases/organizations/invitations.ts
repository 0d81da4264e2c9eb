import { createHash, randomBytes } from 'node:crypto';
import type { Tx } from '../../db/client.ts';
import { toInvitation, toMember, listMembers, type InvitationRow } from '../../db/repos/organizations.ts';
import { findUser, normalizeEmail, type UserRow } from '../../db/repos/users.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { INVITATION_DAYS, normaliseRoles, type OrgRole } from '../../domain/organizations.ts';
import type { UseCaseCtx } from '../context.ts';
import { createUser } from '../create-user.ts';
import { enqueueJob } from '../record.ts';
import { loadOrganization } from './manage-organization.ts';

const DAY = 86_400_000;
/** Only the hash of a link's secret is stored; the secret travels in the email alone. */
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * `POST …/invitations {email, roles}` (admin role): an email with a single-use link valid for
 * INVITATION_DAYS. An earlier pending invitation to the same address is replaced.
 */
export async function inviteMember(ctx: UseCaseCtx, orgId: string, input: { email: string; roles: OrgRole[] }, appUrl: string) {
  const { org } = await loadOrganization(ctx, orgId, 'admin', true);
  const email = normalizeEmail(input.email);
  const [member] = await ctx.tx.query(
    'SELECT 1 FROM organization_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email_normalized = $2',
    [org.id, email],
  );
  if (member) throw new AppError('already_member', 'this person is already a member of the organisation', {}, [{ field: 'email', message: 'is already a member' }]);
  await ctx.tx.query("UPDATE organization_invitations SET status = 'revoked', updated_at = $3 WHERE org_id = $1 AND lower(email) = $2 AND status = 'pending'", [org.id, email, ctx.now]);
  const token = randomBytes(32).toString('base64url');
  const [row] = await ctx.tx.query<InvitationRow>(
    `INSERT INTO organization_invitations (id, org_id, email, roles, token_hash, invited_by, status, expires_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $8) RETURNING *`,
    [newId('invitation'), org.id, input.email.trim(), normaliseRoles(input.roles), hashToken(token), ctx.principal.userId, new Date(ctx.now.getTime() + INVITATION_DAYS * DAY), ctx.now],
  );
  const link = `${appUrl}/invitations/${token}`;
  await enqueueJob(ctx, {
    kind: 'email',
    platformId: org.platform_id,
    payload: {
      to: row!.email,
      subject: `You are invited to join ${org.name} on Tranche`,
      text:
        `You are invited to act for ${org.name} as ${row!.roles.join(', ')}.\n\n` +
        `Open this link within ${INVITATION_DAYS} days to join (it works once):\n${link}\n\n` +
        `Or accept through the API: POST /v1/invitations/${token}/accept`,
    },
  });
  return toInvitation(row!, ctx.now);
}

export async function listInvitations(ctx: UseCaseCtx, orgId: string) {
  const { org } = await loadOrganization(ctx, orgId, 'admin');
  const rows = await ctx.tx.query<InvitationRow>('SELECT * FROM organization_invitations WHERE org_id = $1 ORDER BY id DESC LIMIT 200', [org.id]);
  return rows.map((r) => toInvitation(r, ctx.now));
}

/** `DELETE …/invitations/{id}` (admin role): a pending link stops working. */
export async function revokeInvitation(ctx: UseCaseCtx, orgId: string, invitationId: string) {
  const { org } = await loadOrganization(ctx, orgId, 'admin', true);
  const [row] = await ctx.tx.query<InvitationRow>('SELECT * FROM organization_invitations WHERE org_id = $1 AND id = $2', [org.id, invitationId]);
  if (!row) throw notFound('invitation');
  if (row.status !== 'pending') throw new AppError('invalid_state', `the invitation is ${row.status}`, { state: row.status });
  const [saved] = await ctx.tx.query<InvitationRow>("UPDATE organization_invitations SET status = 'revoked', updated_at = $2 WHERE id = $1 RETURNING *", [row.id, ctx.now]);
  return toInvitation(saved!, ctx.now);
}

/**
 * `POST /v1/invitations/{token}/accept`: the invited person joins — signed in as the invited
 * email (`userId`), or creating that user with `{name, password}`. Used, revoked or expired
 * links get 410; an unknown link 404. Nothing changes on a refusal.
 */
export async function acceptInvitation(
  tx: Tx,
  now: Date,
  token: string,
  who: { userId: string | null; platformId: string | null; name?: string; password?: string },
) {
  const [inv] = await tx.query<InvitationRow & { platform_id: string }>(
    'SELECT i.*, o.platform_id FROM organization_invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = $1 FOR UPDATE OF i',
    [hashToken(token)],
  );
  if (!inv || (who.platformId && who.platformId !== inv.platform_id)) throw notFound('invitation');
  if (inv.status !== 'pending' || inv.expires_at <= now) {
    throw new AppError('invitation_not_usable', `this invitation link was ${inv.status === 'pending' ? 'valid until ' + inv.expires_at.toISOString() : inv.status}; ask for a new one`, { state: inv.status === 'pending' ? 'expired' : inv.status });
  }
  let user: UserRow;
  if (who.userId) {
    user = (await findUser(tx, inv.platform_id, who.userId))!;
    if (normalizeEmail(user.email) !== normalizeEmail(inv.email)) {
      throw new AppError('forbidden', 'this invitation is for another email address: sign in as the invited person');
    }
  } else {
    if (!who.name || !who.password) {
      throw new AppError('validation_failed', 'sign in as the invited person, or send name and password to create the account', {}, [
        { field: who.name ? 'password' : 'name', message: 'is required without a session' },
      ]);
    }
    user = await createUser(tx, inv.platform_id, { email: inv.email, name: who.name, password: who.password }, now);
  }
  const inserted = await tx.query(
    'INSERT INTO organization_members (org_id, user_id, roles, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, user_id) DO NOTHING RETURNING 1',
    [inv.org_id, user.id, inv.roles, now],
  );
  if (inserted.length === 0) throw new AppError('already_member', 'you are already a member of this organisation');
  await tx.query("UPDATE organization_invitations SET status = 'accepted', accepted_by = $2, updated_at = $3 WHERE id = $1", [inv.id, user.id, now]);
  const member = (await listMembers(tx, inv.org_id)).find((m) => m.user_id === user.id)!;
  return { organizationId: inv.org_id, member: toMember(member), user };
}
