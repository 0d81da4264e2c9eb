import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { loadContract } from '../../usecases/access.ts';
import { acceptChangeRequest, declineChangeRequest, loadChangeRequest, modifyChangeRequest, previewModifyChangeRequest, withdrawChangeRequest } from '../../usecases/answer-change-request.ts';
import { openChangeRequest, previewChangeRequest, type ChangeRequestRow } from '../../usecases/open-change-request.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page, presentChangeRequest } from '../present.ts';
import { problemFrom } from '../problem.ts';
import { CHANGE_REQUEST_STATUSES, ChangeOperationSchema, ChangeRequestSchema, ExpectedVersion, IdParams, ListQuery, Page, Reason } from '../schemas.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

/** A change set as sent, previewed or sent back as a counter-proposal. */
const ChangeSetBody = z
  .object({
    operations: z.array(ChangeOperationSchema).min(1).max(100).describe('The changes, applied in order: add, update, remove, reorder'),
    message: z.string().max(2000).optional().describe('A note to the other party'),
  })
  .strict()
  .meta({
    example: {
      message: 'Scope grew: adding QA, moving the deadline',
      operations: [
        { op: 'add', milestone: { title: 'QA pass', amount: 50000, dueDate: '2027-05-01' } },
        { op: 'update', milestoneId: 'ms_01jd0000000000000000000001', changes: { dueDate: '2027-04-20' } },
      ],
    },
  });

const ChangePreviewSchema = z
  .object({
    mode: z.enum(['direct', 'change_request']).describe('`direct`: sending applies the set at once (the policy lets you change alone); `change_request`: it waits for the other party'),
    diff: ChangeRequestSchema.shape.diff.describe('Each milestone before and after, and the sum of the current milestones (proposed ones included) before and after'),
    agreedBefore: z.number().int().describe('The agreed total now: milestones not proposed, declined, cancelled or refunded (minor units)'),
    agreedAfter: z.number().int().describe('The agreed total once this set is accepted or applied (milestones it adds count)'),
    currency: z.string().describe('The contract’s currency'),
  })
  .meta({ id: 'ChangePreview', description: 'What sending a change set would do, computed without writing anything' });

export function negotiationRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Change requests'];

  app.post(
    '/contracts/:id/change-requests/preview',
    {
      schema: {
        tags,
        operationId: 'previewContractChangeRequest',
        summary: 'Dry run: the diff and totals a change set would give, and whether it applies at once; nothing is written',
        description: 'Checks the set exactly as sending it would (same errors: `change_request_open`, `invalid_state`, `validation_failed`, …) and answers its plan.',
        params: IdParams('contract'),
        body: ChangeSetBody,
        response: { 200: ChangePreviewSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await previewChangeRequest(ctx, req.params.id, req.body);
        return { status: 200, body: { mode: r.mode, diff: r.diff, agreedBefore: r.agreedBefore, agreedAfter: r.agreedAfter, currency: r.contract.currency } };
      }),
  );

  app.post(
    '/contracts/:id/change-requests',
    {
      schema: {
        tags,
        summary: 'Propose a change set (add, update, remove, reorder); applied at once (201, accepted) when the policy lets you change alone',
        params: IdParams('contract'),
        body: ChangeSetBody,
        response: { 201: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await openChangeRequest(ctx, req.params.id, req.body);
        return { status: 201, body: presentChangeRequest(r.changeRequest) };
      }),
  );

  app.get(
    '/contracts/:id/change-requests',
    {
      schema: {
        tags,
        summary: 'The contract’s change requests, newest first',
        params: IdParams('contract'),
        querystring: z.object({ status: z.enum(CHANGE_REQUEST_STATUSES).optional().describe('Only change requests with this status'), ...ListQuery }).strict(),
        response: { 200: Page(ChangeRequestSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        const after = decodeCursor(req.query.cursor);
        const rows = await ctx.tx.query<ChangeRequestRow>(
          `SELECT * FROM change_requests WHERE contract_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3) ORDER BY id DESC LIMIT $4`,
          [contract.id, req.query.status ?? null, after, req.query.limit + 1],
        );
        const pg = page(rows, req.query.limit);
        return { status: 200, body: { data: pg.data.map(presentChangeRequest), nextCursor: pg.nextCursor } };
      }),
  );

  app.get('/change-requests/:id', { schema: { tags, summary: 'A change request with its diff', params: IdParams('changeRequest'), response: { 200: ChangeRequestSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const { cr } = await loadChangeRequest(ctx, req.params.id, false);
      return { status: 200, body: presentChangeRequest(cr) };
    }),
  );

  app.post(
    '/change-requests/:id/accept',
    {
      schema: {
        tags,
        summary: 'The other party accepts: applied atomically, or `failed` (409) if something it touches changed meanwhile',
        params: IdParams('changeRequest'),
        body: z.object(ExpectedVersion).strict().nullish(),
        response: { 200: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await acceptChangeRequest(ctx, req.params.id, { expectedVersion: expectedVersion(req, req.body?.expectedVersion) });
        if (r.failure) {
          // The request is now `failed` (committed); the answer says why, with the failed request.
          const base = r.failure instanceof AppError ? r.failure : new AppError('invalid_state', 'the change request could not be applied');
          return { status: 409, body: { ...problemFrom(base.code === 'validation_failed' ? 'invalid_state' : base.code, base.message, { ...base.extra, changeRequest: presentChangeRequest(r.changeRequest) }), status: 409 } };
        }
        return { status: 200, body: presentChangeRequest(r.changeRequest) };
      }),
  );

  app.post(
    '/change-requests/:id/decline',
    { schema: { tags, summary: 'The other party declines, optionally with a reason', params: IdParams('changeRequest'), body: z.object({ reason: Reason.optional() }).strict().nullish(), response: { 200: ChangeRequestSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await declineChangeRequest(ctx, req.params.id, { reason: req.body?.reason });
        return { status: 200, body: presentChangeRequest(r.changeRequest) };
      }),
  );

  app.post(
    '/change-requests/:id/modify',
    {
      schema: {
        tags,
        operationId: 'modifyChangeRequest',
        summary: 'The other party modifies an open change request: their counter-proposal supersedes it and waits for the first party',
        description:
          'The body is a whole change set against the milestones as they are now (not against the original request). The original ends `superseded` ' +
          '(`supersededBy` names the counter); the counter (`supersedes` names the original) is `open` for the first party to accept, decline or modify in turn — ' +
          'even where the policy would let its author change alone. Only the party who did not author the request may modify it (403).',
        params: IdParams('changeRequest'),
        body: ChangeSetBody.extend(ExpectedVersion).strict(),
        response: { 201: ChangeRequestSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { expectedVersion: v, ...set } = req.body;
        const r = await modifyChangeRequest(ctx, req.params.id, { ...set, expectedVersion: expectedVersion(req, v) });
        return { status: 201, body: presentChangeRequest(r.changeRequest) };
      }),
  );

  app.post(
    '/change-requests/:id/modify/preview',
    {
      schema: {
        tags,
        operationId: 'previewModifyChangeRequest',
        summary: 'Dry run of a counter-proposal: the diff and totals modifying this change request would give; nothing is written',
        description:
          'Checks the set exactly as `POST /v1/change-requests/{id}/modify` would (the request open, the caller its other party: same errors) and answers its plan. ' +
          'The mode is always `change_request`: a counter-proposal waits for the first party.',
        params: IdParams('changeRequest'),
        body: ChangeSetBody,
        response: { 200: ChangePreviewSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await previewModifyChangeRequest(ctx, req.params.id, req.body);
        return { status: 200, body: { mode: r.mode, diff: r.diff, agreedBefore: r.agreedBefore, agreedAfter: r.agreedAfter, currency: r.contract.currency } };
      }),
  );

  app.post(
    '/change-requests/:id/withdraw',
    { schema: { tags, summary: 'The author withdraws the change request', params: IdParams('changeRequest'), body: z.object({}).strict().nullish(), response: { 200: ChangeRequestSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const r = await withdrawChangeRequest(ctx, req.params.id);
        return { status: 200, body: presentChangeRequest(r.changeRequest) };
      }),
  );
}
