import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { ORG_ROLE_DESCRIPTIONS, ORG_ROLES } from '../../domain/organizations.ts';
import { listContractorMilestones, listOrganizationContractors } from '../../usecases/organizations/contractors.ts';
import { acceptInvitation, inviteMember, listInvitations, revokeInvitation } from '../../usecases/organizations/invitations.ts';
import {
  createOrganization,
  getOrganization,
  listMyOrganizations,
  loadOrganization,
  setOrganizationPaymentMethod,
  updateOrganization,
} from '../../usecases/organizations/manage-organization.ts';
import { listOrganizationMembers, removeMember, updateMemberRoles } from '../../usecases/organizations/members.ts';
import { attachPaymentMethod } from '../../usecases/payments/customers.ts';
import { authenticate } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { presentMilestone } from '../present.ts';
import { sendProblem, toProblem } from '../problem.ts';
import { Amount, Currency, exampleId, Id, IdParams, MilestoneSchema, NoContent, PaymentMethod, Timestamp } from '../schemas.ts';
import type { V1 } from './types.ts';

const at = '2026-11-22T10:00:00.000Z';
const Role = z.enum(ORG_ROLES).describe(Object.entries(ORG_ROLE_DESCRIPTIONS).map(([r, d]) => `${r}: ${d}`).join(' · '));
const Roles = z.array(Role).min(1).max(ORG_ROLES.length).describe('The roles: what the member may do for the organisation');
const Email = z.string().trim().toLowerCase().email('must be an email address').max(254);
const Name = z.string().trim().min(1).max(200).describe('A name (1–200 characters)');

const ApprovalThreshold = z
  .record(Currency, Amount)
  .describe('Four eyes: per currency, the amount in minor units from which a second member must approve, release or pay; replaces the whole setting ({} turns four eyes off)');
const OrganizationSchema = z
  .object({
    id: z.string(), platformId: z.string(), name: z.string().describe('The organisation’s name'),
    defaultPaymentMethod: z.string().nullable().describe('Charged when a charge names no payment method; null when none is saved'),
    approvalThreshold: z.record(z.string(), z.number().int()).describe('four eyes: per currency, the amount from which two members must approve, release or pay'),
    myRoles: z.array(z.string()).describe('the caller’s roles in the organisation'), createdAt: Timestamp, updatedAt: Timestamp,
  })
  .meta({
    id: 'Organization',
    description: 'A client organisation: its members act for it by role.',
    example: { id: exampleId('organization'), platformId: exampleId('platform'), name: 'Acme Ltd', defaultPaymentMethod: null, approvalThreshold: { USD: 50000 }, myRoles: ['owner'], createdAt: at, updatedAt: at },
  });
const MemberSchema = z
  .object({ userId: z.string(), name: z.string().describe('The member’s name'), email: z.string(), roles: z.array(z.string()).describe('The member’s roles'), joinedAt: Timestamp })
  .meta({ id: 'OrganizationMember', description: 'A member of an organisation with their roles.', example: { userId: exampleId('user', 1), name: 'Grace Hopper', email: 'grace@acme.example', roles: ['manager'], joinedAt: at } });
const InvitationSchema = z
  .object({
    id: z.string(), organizationId: z.string(), email: z.string(), roles: z.array(z.string()).describe('The roles the invitee gets on joining'),
    status: z.enum(['pending', 'accepted', 'revoked', 'expired']).describe('`pending` until used, revoked or 7 days old'),
    invitedBy: z.string().describe('The member who invited'), acceptedBy: z.string().nullable().describe('The user who joined with it; null until then'), expiresAt: Timestamp, createdAt: Timestamp,
  })
  .meta({
    id: 'OrganizationInvitation',
    description: 'The link’s token is only ever sent by email; the API never returns it.',
    example: { id: exampleId('invitation'), organizationId: exampleId('organization'), email: 'grace@acme.example', roles: ['finance'], status: 'pending', invitedBy: exampleId('user', 1), acceptedBy: null, expiresAt: '2026-11-29T10:00:00.000Z', createdAt: at },
  });
const TotalsSchema = z.object({ currency: z.string(), contracts: z.number().int().describe('Contracts with the contractor in this currency'), inEscrow: z.number().int(), paid: z.number().int().describe('Paid to the contractor, in minor units'), pending: z.number().int().describe('agreed, neither in escrow nor paid') });
const ContractorSchema = z
  .object({ userId: z.string(), name: z.string().describe('The contractor’s name'), email: z.string(), totals: z.array(TotalsSchema).describe('Totals per currency, from the ledger') })
  .meta({ id: 'OrganizationContractor', description: 'A person the organisation contracts with, with totals per currency.', example: { userId: exampleId('user', 2), name: 'Ada Lovelace', email: 'ada@example.com', totals: [{ currency: 'USD', contracts: 2, inEscrow: 50000, paid: 120000, pending: 30000 }] } });
const OrgParams = IdParams('organization');
const MemberParams = z.object({ id: Id('organization').describe('The organisation’s id'), userId: Id('user').describe('The user’s id: the member (under /contractors, the contractor)') }).strict();
const List = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item).describe('Every item (this list has no pages)') });

export function organizationRoutes(app: V1, { runner, db, deps, http }: RouteContext) {
  const tags = ['Organisations'];
  const appUrl = http.publicUrl?.replace(/\/$/, '') ?? '';

  app.post(
    '/organizations',
    { schema: { tags, summary: 'Found an organisation: the caller is its owner', body: z.object({ name: Name }).strict().meta({ example: { name: 'Acme Ltd' } }), response: { 201: OrganizationSchema } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: await createOrganization(ctx, req.body) })),
  );

  app.get('/organizations', { schema: { tags, summary: 'The organisations you are a member of, with your roles', response: { 200: List(OrganizationSchema) } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: await listMyOrganizations(ctx) } })),
  );

  app.get('/organizations/:id', { schema: { tags, summary: 'An organisation (members only)', params: OrgParams, response: { 200: OrganizationSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: await getOrganization(ctx, req.params.id) })),
  );

  app.patch(
    '/organizations/:id',
    {
      config: { orgRole: 'admin' },
      schema: {
        tags,
        summary: 'Admin: rename the organisation, or set its four-eyes approval threshold',
        description:
          'With `approvalThreshold`, approving or releasing a milestone, or paying a draft payment, for an amount at or above the threshold of the contract’s currency needs two members: the first leaves it pending (`approval_pending`, `pendingApproval`), a second member confirms it; the same member twice gets 403 `second_approver_required`. Below the threshold, or in a currency without one, nothing changes.',
        params: OrgParams,
        body: z
          .object({
            name: Name.optional().describe('the organisation’s name'),
            approvalThreshold: ApprovalThreshold.optional(),
          })
          .strict()
          .refine((b) => b.name !== undefined || b.approvalThreshold !== undefined, 'give name, approvalThreshold or both')
          .meta({ example: { name: 'Acme Holdings', approvalThreshold: { USD: 50000 } } }),
        response: { 200: OrganizationSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await updateOrganization(ctx, req.params.id, req.body) })),
  );

  app.put(
    '/organizations/:id/payment-method',
    {
      config: { orgRole: 'finance' },
      schema: { tags, summary: 'Finance: the organisation’s default payment method for charges that name none', params: OrgParams, body: z.object({ paymentMethod: PaymentMethod }).strict(), response: { 200: OrganizationSchema } },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        // Checked now (finance role, the method's shape); after commit (provider calls) the method
        // is attached to the organisation's customer, then saved.
        const { org } = await loadOrganization(ctx, req.params.id, 'finance');
        if (!deps.provider.isPaymentMethod(req.body.paymentMethod)) {
          throw new AppError('validation_failed', 'unknown payment method', {}, [{ field: 'paymentMethod', message: 'is not a payment method of this provider' }]);
        }
        return {
          status: 200,
          body: null,
          afterCommit: async (q) => {
            const method = await attachPaymentMethod(q, deps, { platformId: org.platform_id, id: org.id, name: org.name }, req.body.paymentMethod);
            return { status: 200, body: await db.tx((tx) => setOrganizationPaymentMethod({ ...ctx, tx }, org.id, method)) };
          },
        };
      }),
  );

  app.get('/organizations/:id/members', { schema: { tags, summary: 'The members and their roles', params: OrgParams, response: { 200: List(MemberSchema) } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: await listOrganizationMembers(ctx, req.params.id) } })),
  );

  app.patch(
    '/organizations/:id/members/:userId',
    {
      config: { orgRole: 'admin' },
      schema: { tags, summary: 'Admin: set a member’s roles (only an owner grants or takes away owner; the last owner stays)', params: MemberParams, body: z.object({ roles: Roles }).strict().meta({ example: { roles: ['manager', 'finance'] } }), response: { 200: MemberSchema } },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await updateMemberRoles(ctx, req.params.id, req.params.userId, req.body) })),
  );

  app.delete(
    '/organizations/:id/members/:userId',
    { config: { orgRole: 'admin' }, schema: { tags, summary: 'Admin: remove a member, or leave yourself (the last owner cannot)', params: MemberParams, response: { 204: NoContent } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        await removeMember(ctx, req.params.id, req.params.userId);
        return { status: 204, body: null };
      }),
  );

  app.post(
    '/organizations/:id/invitations',
    {
      config: { orgRole: 'admin' },
      schema: {
        tags,
        summary: 'Admin: invite someone by email (a single-use link valid 7 days; its token is never returned)',
        params: OrgParams,
        body: z.object({ email: Email, roles: Roles }).strict().meta({ example: { email: 'grace@acme.example', roles: ['finance'] } }),
        response: { 201: InvitationSchema },
      },
    },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 201, body: await inviteMember(ctx, req.params.id, req.body, appUrl) })),
  );

  app.get('/organizations/:id/invitations', { config: { orgRole: 'admin' }, schema: { tags, summary: 'Admin: invitations, newest first', params: OrgParams, response: { 200: List(InvitationSchema) } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: await listInvitations(ctx, req.params.id) } })),
  );

  app.delete(
    '/organizations/:id/invitations/:invitationId',
    { config: { orgRole: 'admin' }, schema: { tags, summary: 'Admin: revoke a pending invitation (its link stops working)', params: z.object({ id: Id('organization').describe('The organisation’s id'), invitationId: Id('invitation').describe('The invitation’s id') }).strict(), response: { 200: InvitationSchema } } },
    (req, reply) => runner.run(req, reply, async (ctx) => ({ status: 200, body: await revokeInvitation(ctx, req.params.id, req.params.invitationId) })),
  );

  app.post(
    '/invitations/:token/accept',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Join an organisation: signed in as the invited email, or with name and password to create that user',
        description: 'The link works once and for 7 days: used, revoked or expired links get 410, an unknown one 404.',
        security: [],
        params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'is not an invitation token').describe('The token from the invitation email’s link') }).strict(),
        body: z.object({ name: Name.optional().describe('Your name, to create your user when not signed in'), password: z.string().min(10, 'must be at least 10 characters').max(200).optional().describe('Your password (10–200 characters), to create your user when not signed in') }).strict().nullish().meta({ example: { name: 'Grace Hopper', password: 'correct horse battery' } }),
        response: { 200: z.object({ organizationId: z.string(), member: MemberSchema }) },
      },
    },
    async (req, reply) => {
      try {
        const now = deps.clock.now();
        const signedIn = req.headers.authorization !== undefined || req.cookies?.tranche_session !== undefined;
        const principal = signedIn ? await authenticate(db, req, now) : null;
        if (principal && !principal.userId) throw new AppError('forbidden', 'an invitation is accepted by a person: use the Acting-User header');
        const r = await db.tx((tx) =>
          acceptInvitation(tx, now, req.params.token, { userId: principal?.userId ?? null, platformId: principal?.platformId ?? null, name: req.body?.name, password: req.body?.password }),
        );
        return reply.code(200).send({ organizationId: r.organizationId, member: r.member });
      } catch (err) {
        return sendProblem(reply, toProblem(err, req));
      }
    },
  );

  app.get('/organizations/:id/contractors', { schema: { tags, summary: 'The people the organisation contracts with, with totals per currency from the ledger', params: OrgParams, response: { 200: List(ContractorSchema) } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: { data: await listOrganizationContractors(ctx, req.params.id) } })),
  );

  app.get(
    '/organizations/:id/contractors/:userId/milestones',
    {
      schema: {
        tags,
        summary: 'A contractor’s milestones across the organisation’s contracts: pending (in progress or awaiting review) or approved',
        params: MemberParams,
        querystring: z.object({ section: z.enum(['pending', 'approved']).default('pending').describe('`pending`: in progress or awaiting review; `approved`: approved or paid') }).strict(),
        response: { 200: List(MilestoneSchema.extend({ contractTitle: z.string().describe('The title of the milestone’s contract') })) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const rows = await listContractorMilestones(ctx, req.params.id, req.params.userId, req.query.section);
        return { status: 200, body: { data: rows.map((m) => ({ ...presentMilestone(m, m), contractTitle: m.contract_title })) } };
      }),
  );
}
