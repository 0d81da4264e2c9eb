import { z } from 'zod';
import type { ContractRow } from '../../db/repos/contracts.ts';
import { AppError } from '../../domain/errors.ts';
import { closeContract } from '../../usecases/close-contract.ts';
import { loadContract } from '../../usecases/access.ts';
import { isPlatformAdmin } from '../../usecases/context.ts';
import { createContract } from '../../usecases/create-contract.ts';
import { respondToContract } from '../../usecases/respond-to-contract.ts';
import type { RouteContext } from '../app.ts';
import { decodeCursor, page, presentContract } from '../present.ts';
import { ContractCreateBody, ContractSchema, ExpectedVersion, IdParams, ListQuery, NonNegativeAmount, Page } from '../schemas.ts';
import type { V1 } from './types.ts';
import { expectedVersion } from './versions.ts';

export function contractRoutes(app: V1, { runner }: RouteContext) {
  const tags = ['Contracts'];

  app.post('/contracts', { schema: { tags, summary: 'Propose a contract (starts as a proposal)', body: ContractCreateBody, response: { 201: ContractSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => {
      const row = await createContract(ctx, req.body);
      return { status: 201, body: await presentContract(ctx.tx, row, { overview: true, milestones: true }) };
    }),
  );

  app.get(
    '/contracts',
    {
      schema: {
        tags,
        summary: 'List your contracts (as client, contractor or both)',
        querystring: z.object({ role: z.enum(['client', 'contractor']).optional(), status: z.enum(['proposal', 'active', 'closed', 'withdrawn', 'declined']).optional(), ...ListQuery }).strict(),
        response: { 200: Page(ContractSchema) },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async ({ tx, principal }) => {
        const q = req.query;
        const after = decodeCursor(q.cursor);
        const where: string[] = ['platform_id = $1'];
        const params: unknown[] = [principal.platformId];
        const p = (v: unknown) => {
          params.push(v);
          return `$${params.length}`;
        };
        const me = isPlatformAdmin(principal) ? null : p(principal.userId);
        if (me && q.role) where.push(q.role === 'client' ? `client_id = ${me}` : `contractor_id = ${me}`);
        if (q.status) where.push(`status = ${p(q.status)}`);
        if (after) where.push(`id < ${p(after)}`);
        const limit = p(q.limit + 1);
        const cond = where.join(' AND ');
        // Either role: two index-ordered scans merged (a contract's client and contractor differ),
        // not an OR that the planner may answer by walking the whole table in id order.
        const sql =
          me && !q.role
            ? `(SELECT * FROM contracts WHERE ${cond} AND client_id = ${me} ORDER BY id DESC LIMIT ${limit})
               UNION ALL (SELECT * FROM contracts WHERE ${cond} AND contractor_id = ${me} ORDER BY id DESC LIMIT ${limit})
               ORDER BY id DESC LIMIT ${limit}`
            : `SELECT * FROM contracts WHERE ${cond} ORDER BY id DESC LIMIT ${limit}`;
        const rows = await tx.query<ContractRow>(sql, params);
        const pg = page(rows, q.limit);
        return { status: 200, body: { data: await Promise.all(pg.data.map((c) => presentContract(tx, c))), nextCursor: pg.nextCursor } };
      }),
  );

  app.get(
    '/contracts/:id',
    { schema: { tags, summary: 'A contract with its payment overview (read from the ledger) and milestones', params: IdParams('contract'), response: { 200: ContractSchema } } },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const { contract } = await loadContract(ctx, req.params.id, false);
        return { status: 200, body: await presentContract(ctx.tx, contract, { overview: true, milestones: true }) };
      }),
  );

  for (const command of ['activate', 'withdraw', 'decline'] as const) {
    const summary = {
      activate: 'The client makes the proposal live',
      withdraw: 'The party who proposed the contract withdraws it',
      decline: 'The other party declines the proposal',
    }[command];
    app.post(
      `/contracts/:id/${command}`,
      { schema: { tags, summary, params: IdParams('contract'), body: z.object(ExpectedVersion).strict().nullish(), response: { 200: ContractSchema } } },
      (req, reply) =>
        runner.run(req, reply, async (ctx) => {
          const row = await respondToContract(ctx, req.params.id, command, expectedVersion(req, req.body?.expectedVersion));
          return { status: 200, body: await presentContract(ctx.tx, row, { overview: true, milestones: true }) };
        }),
    );
  }

  app.post(
    '/contracts/:id/close',
    {
      schema: {
        tags,
        summary: 'Close a live contract; escrow left is refunded, released (client) or split pro rata',
        params: IdParams('contract'),
        body: z
          .object({ refund: NonNegativeAmount.optional(), release: NonNegativeAmount.optional(), ...ExpectedVersion })
          .strict()
          .optional()
          .meta({ example: { refund: 5000 } }),
        response: { 200: ContractSchema },
      },
    },
    (req, reply) =>
      runner.run(req, reply, async (ctx) => {
        const body = req.body ?? {};
        const row = await closeContract(ctx, req.params.id, { ...body, expectedVersion: expectedVersion(req, body.expectedVersion) });
        return { status: 200, body: await presentContract(ctx.tx, row, { overview: true, milestones: true }) };
      }),
  );
}
