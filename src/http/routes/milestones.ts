import { z } from 'zod';
import type { OrgRole } from '../../domain/organizations.ts';
import { ExternalId, MetadataFilter, splitMetadataFilter } from '../../domain/operator-fields.ts';
import { findContract } from '../../db/repos/contracts.ts';
import { findMilestone, listContractMilestones } from '../../db/repos/milestones.ts';
import { AppError } from '../../domain/errors.ts';
import { APPROVED_STATUSES, PENDING_STATUSES, RELEASE_RESTS, type ReleaseRest } from '../../domain/milestone-machine.ts';
import { acceptMilestone } from '../../usecases/accept-milestone.ts';
import { loadContract, loadMilestone } from '../../usecases/access.ts';
import { addMilestone } from '../../usecases/add-milestone.ts';
import { approveMilestone } from '../../usecases/approve-milestone.ts';
import type { UseCaseCtx } from '../../usecases/context.ts';
import { declineMilestone } from '../../usecases/decline-milestone.ts';
import { deleteMilestone } from '../../usecases/delete-milestone.ts';
import { openDispute } from '../../usecases/disputes.ts';
import { editMilestone } from '../../usecases/edit-milestone.ts';
import { fundMilestone } from '../../usecases/fund-milestone.ts';
import { refundMilestone } from '../../usecases/refund-milestone.ts';
import { rejectMilestone } from '../../usecases/reject-milestone.ts';
import { releaseMilestone } from '../../usecases/release-milestone.ts';
import { reorderMilestones } from '../../usecases/reorder-milestones.ts';
import type { CommandResult } from '../../usecases/run-milestone-command.ts';
import { submitMilestone } from '../../usecases/submit-milestone.ts';
import type { RouteContext } from '../app.ts';
import { loadContractPage, presentChangeRequest, presentDispute, presentMilestone } from '../present.ts';
import {
  Amount, ChangeRequestSchema, ContractSchema, Description, DisputeSchema, DueDate, ExpectedVersion, FileIds, Id, IdParams,
  MilestoneSchema, NewMilestoneBody, PaymentMethod, Reason, Title,
} from '../schemas.ts';
import type { Answer } from '../runner.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

const MilestoneAnswer = { 200: MilestoneSchema };
const FundAnswer = {
  200: MilestoneSchema.describe('The provider answered: the milestone is funded (`fundingPending` while an accepted charge settles).'),
  202: MilestoneSchema.describe('The provider has not answered within the wait: `fundingPending` is true, the status unchanged; both parties are notified when it answers.'),
};
const ReleaseAnswer = {
  200: MilestoneSchema.describe('The release is done (with `rest: "next"`, the next milestone is funded too).'),
  202: MilestoneSchema.describe(
    'With `rest: "next"` when the client’s card pays the difference and the provider has not answered within the wait: nothing has moved yet, ' +
      '`fundingPending` is true on this milestone and the next; the release and the move happen together when the charge is accepted (both parties are notified).',
  ),
};
const ok = (r: CommandResult) => ({ status: 200, body: presentMilestone(r.milestone, r.contract) });

export function milestoneRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Milestones'];

  app.get(
    '/contracts/:id/milestones',
    {
      schema: {
        tags,
        summary: 'The contract’s milestones, in order; `section=pending|approved` gives the two lists of the web app',
        params: IdParams('contract'),
        querystring: z
          .object({
            section: z.enum(['pending', 'approved']).optional().describe('`pending`: in progress or awaiting review; `approved`: approved or paid; absent: all'),
            externalId: ExternalId.optional(),
            metadata: MetadataFilter.optional(),
          })
          .strict(),
        response: { 200: z.object({ data: z.array(MilestoneSchema).describe('The milestones in order'), nextCursor: z.null().describe('Always null: the list has no pages') }) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        const statuses = req.query.section === 'pending' ? PENDING_STATUSES : req.query.section === 'approved' ? APPROVED_STATUSES : undefined;
        const [key, value] = req.query.metadata === undefined ? [] : splitMetadataFilter(req.query.metadata);
        const rows = (await listContractMilestones(ctx.tx, contract.id, statuses)).filter(
          (m) => (req.query.externalId === undefined || m.external_id === req.query.externalId) && (key === undefined || m.metadata[key] === value),
        );
        return { status: 200, body: { data: rows.map((m) => presentMilestone(m, contract)), nextCursor: null } };
      }),
  );

  app.post(
    '/contracts/:id/milestones',
    { schema: { tags, summary: 'Add a milestone (proposed when the other side must accept it)', params: IdParams('contract'), body: NewMilestoneBody, response: { 201: MilestoneSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await addMilestone(ctx, req.params.id, req.body);
        return { status: 201, body: presentMilestone(r.milestone, r.contract) };
      }),
  );

  app.get('/milestones/:id', { schema: { tags, summary: 'A milestone', params: IdParams('milestone'), response: MilestoneAnswer } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const { contract, milestone } = await loadMilestone(ctx, req.params.id, false);
      return { status: 200, body: presentMilestone(milestone, contract) };
    }),
  );

  app.patch(
    '/milestones/:id',
    {
      schema: {
        tags,
        summary: 'Edit a milestone; answers 202 with a change request when the other party must accept the edit',
        params: IdParams('milestone'),
        body: z
          .object({ title: Title.optional(), amount: Amount.optional(), dueDate: DueDate.optional(), description: Description.nullish(), attachmentIds: FileIds.optional(), ...ExpectedVersion })
          .strict()
          .refine((b) => Object.keys(b).some((k) => k !== 'expectedVersion'), 'change at least one field')
          .meta({ example: { amount: 175000, dueDate: '2027-04-15' } }),
        response: { 200: MilestoneSchema, 202: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { expectedVersion: v, ...changes } = req.body;
        const r = await editMilestone(ctx, req.params.id, changes, expectedVersion(req, v));
        if (r.kind === 'change_request') return { status: 202, body: presentChangeRequest(r.changeRequest) };
        return { status: 200, body: presentMilestone(r.milestone, r.contract) };
      }),
  );

  app.delete(
    '/milestones/:id',
    {
      schema: {
        tags,
        summary: 'Remove a milestone (a funded one only where the policy allows, with its escrow refunded); 202 when it needs acceptance',
        params: IdParams('milestone'),
        response: { 200: MilestoneSchema, 202: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await deleteMilestone(ctx, req.params.id, expectedVersion(req, undefined));
        if (r.kind === 'change_request') return { status: 202, body: presentChangeRequest(r.changeRequest) };
        return ok(r);
      }),
  );

  app.put(
    '/contracts/:id/milestone-order',
    {
      schema: {
        tags,
        summary: 'Reorder milestones: list every current milestone once; funded and later ones keep their place',
        params: IdParams('contract'),
        body: z.object({ milestoneIds: z.array(Id('milestone')).min(1).max(500).describe('Every current milestone once, in the new order') }).strict(),
        response: { 200: ContractSchema, 202: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await reorderMilestones(ctx, req.params.id, req.body.milestoneIds);
        if (r.kind === 'change_request') return { status: 202, body: presentChangeRequest(r.changeRequest) };
        return { status: 200, body: await loadContractPage(ctx.tx, r.contract, ctx.principal.userId) };
      }),
  );

  type Cmd = {
    name: string;
    summary: string;
    body: z.ZodType;
    /** The organisation role a member of a client organisation needs (default: manager). */
    orgRole?: OrgRole;
    run: (ctx: UseCaseCtx, id: string, body: Record<string, unknown>, version: number | undefined) => Promise<{ status: number; body: unknown }>;
  };
  const withVersion = <T extends z.ZodRawShape>(shape: T) => z.object({ ...shape, ...ExpectedVersion }).strict();
  const commands: Cmd[] = [
    { name: 'accept', summary: 'Accept a milestone the other party proposed', body: withVersion({}).nullish(), run: async (c, id, _b, v) => ok(await acceptMilestone(c, id, { expectedVersion: v })) },
    { name: 'decline', summary: 'Decline a milestone the other party proposed', body: z.object({ reason: Reason.optional() }).strict().nullish(), run: async (c, id, b) => ok(await declineMilestone(c, id, { reason: b.reason as string | undefined })) },
    {
      name: 'fund',
      orgRole: 'finance',
      summary: 'Client: hold the milestone’s amount in escrow (charges the payment method)',
      body: withVersion({ paymentMethod: PaymentMethod.optional() }).nullish(),
      run: async (c, id, b, v) => ok(await fundMilestone(c, id, { paymentMethod: b.paymentMethod as string | undefined, expectedVersion: v })),
    },
    {
      name: 'submit',
      summary: 'Contractor: mark the milestone complete for review',
      body: withVersion({ note: z.string().max(5000).optional().describe('A note to the client with the work (at most 5000 characters)'), attachmentIds: FileIds.optional() }).nullish(),
      run: async (c, id, b, v) => ok(await submitMilestone(c, id, { note: b.note as string | undefined, attachmentIds: b.attachmentIds as string[] | undefined, expectedVersion: v })),
    },
    { name: 'approve', summary: 'Client: approve the work (releases escrow, or creates a draft payment without escrow)', body: withVersion({}).nullish(), run: async (c, id, _b, v) => ok(await approveMilestone(c, id, { expectedVersion: v })) },
    { name: 'reject', summary: 'Client: send the work back with a reason', body: withVersion({ reason: Reason }), run: async (c, id, b, v) => ok(await rejectMilestone(c, id, { reason: b.reason as string, expectedVersion: v })) },
    {
      name: 'release',
      summary: 'Client: release part of the escrow; the rest stays held, is refunded, or funds the next milestone',
      body: withVersion({
        amount: Amount.describe('What is released to the contractor now, in minor units: at most what the milestone holds in escrow.'),
        rest: z
          .enum(RELEASE_RESTS)
          .optional()
          .describe(
            'What happens to the escrow left after this release. `keep` (default): it stays held, more can be released or approved later. ' +
              '`refund`: it goes back to the client and the milestone is settled as paid. `next`: the milestone is settled as paid and what is left funds ' +
              'the next agreed, unfunded milestone in order (escrow to escrow); the client is charged only the difference, or refunded any excess (409 ' +
              '`no_next_milestone` when there is none). Nothing is left when `amount` is the whole escrow: then `rest` changes nothing.',
          ),
        paymentMethod: PaymentMethod.optional().describe('With `rest: "next"`: the card charged for the difference (default: the client’s saved one).'),
      }).meta({ example: { amount: 15000, rest: 'next' } }),
      run: async (c, id, b, v) =>
        ok(await releaseMilestone(c, id, { amount: b.amount as number, rest: b.rest as ReleaseRest | undefined, paymentMethod: b.paymentMethod as string | undefined, expectedVersion: v })),
    },
    { name: 'refund', summary: 'Contractor or admin: return the escrow to the client', body: withVersion({}).nullish(), run: async (c, id, _b, v) => ok(await refundMilestone(c, id, { expectedVersion: v })) },
    {
      name: 'dispute',
      summary: 'Open a dispute on a funded or submitted milestone (its escrow is frozen)',
      body: z.object({ reason: Reason, evidenceIds: FileIds.optional() }).strict(),
      run: async (c, id, b) => {
        const r = await openDispute(c, id, { reason: b.reason as string, evidenceIds: b.evidenceIds as string[] | undefined });
        return { status: 201, body: presentDispute(r.dispute) };
      },
    },
  ];
  for (const cmd of commands) {
    app.post(
      `/milestones/:id/${cmd.name}`,
      { config: { orgRole: cmd.orgRole }, schema: { tags, summary: cmd.summary, params: IdParams('milestone'), body: cmd.body, response: cmd.name === 'dispute' ? { 201: DisputeSchema } : cmd.name === 'fund' ? FundAnswer : cmd.name === 'release' ? ReleaseAnswer : MilestoneAnswer } },
      (req, reply) =>
        runner.run(req, reply, async (ctx) => {
          const body = (req.body ?? {}) as Record<string, unknown>;
          const answer = await cmd.run(ctx, req.params.id, body, expectedVersion(req, body.expectedVersion as number | undefined));
          // A release whose rest funds the next milestone may charge the difference: it tells that outcome as fund does.
          const tells = cmd.name === 'fund' || (cmd.name === 'release' && body.rest === 'next');
          return cmd.name === 'dispute' ? answer : afterProvider(ctx, answer, req.params.id, tells);
        }),
    );
  }
}

/**
 * A command that made provider calls (a deposit, a refund) answers with the milestone as their
 * answers left it. The fund command (and a release whose rest funds the next milestone, when the
 * difference is charged) tells the outcome: 402 `payment_declined` when the card was
 * declined (nothing changed), 202 with `fundingPending` while the provider has not answered
 * (the parties are notified when it does), else 200.
 */
function afterProvider(ctx: UseCaseCtx, a: Answer, milestoneId: string, tellsOutcome: boolean): Answer {
  if (!ctx.operations?.length) return a;
  const { platformId } = ctx.principal;
  return {
    status: tellsOutcome ? 202 : a.status,
    body: a.body,
    tellsOutcome,
    afterCommit: async (q, ops) => {
      const funding = ops.find((o) => o.purpose === 'funding' && (o.milestone_id === milestoneId || o.details.fromMilestoneId === milestoneId));
      if (tellsOutcome && funding?.status === 'failed') {
        throw new AppError('payment_declined', 'the card was declined', { declineCode: funding.failure_code ?? 'card_declined' });
      }
      const m = (await findMilestone(q, platformId, milestoneId))!;
      const c = (await findContract(q, platformId, m.contract_id))!;
      return { status: tellsOutcome && funding?.status === 'pending' ? 202 : 200, body: presentMilestone(m, c) };
    },
  };
}
