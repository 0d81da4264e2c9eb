import type { Queryable } from '../db/client.ts';
import { AppError, forbidden, notFound } from '../domain/errors.ts';
import { applyMetadataPatch, type Metadata } from '../domain/operator-fields.ts';
import type { Principal, UseCaseCtx } from './context.ts';

export type OperatorFields = { externalId?: string | null; metadata?: Metadata };
export type OperatorPatch = { externalId?: string | null; metadata?: Record<string, string | null> };

const TABLES = { user: 'users', contract: 'contracts', milestone: 'milestones' } as const;
export type OperatorKind = keyof typeof TABLES;

/** Only the platform admin token (acting for a user or not) writes operator fields. */
export function assertMayWriteOperatorFields(principal: Principal, given: OperatorFields | undefined, field: string): void {
  if (!given || (given.externalId === undefined && given.metadata === undefined)) return;
  if (!principal.viaAdmin) throw new AppError('forbidden', 'externalId and metadata are written with the platform admin token', {}, [{ field, message: 'only with the platform admin token' }]);
}

/** 409 external_id_taken when another record of this kind on the platform has the id. */
export async function assertExternalIdFree(q: Queryable, kind: OperatorKind, platformId: string, externalId: string | null | undefined, exceptId: string | null = null, field = 'externalId'): Promise<void> {
  if (externalId === undefined || externalId === null) return;
  const [row] = await q.query<{ id: string }>(`SELECT id FROM ${TABLES[kind]} WHERE platform_id = $1 AND external_id = $2 AND id IS DISTINCT FROM $3`, [platformId, externalId, exceptId]);
  if (row) throw new AppError('external_id_taken', `another ${kind} has externalId ${externalId}`, { existingId: row.id }, [{ field, message: 'is taken' }]);
}

/**
 * The operator sets or clears a record's externalId and merges a metadata patch into it.
 * Changes nothing else, records no activity (these are the operator's notes, not the parties').
 */
export async function updateOperatorFields(ctx: UseCaseCtx, kind: OperatorKind, id: string, patch: OperatorPatch): Promise<void> {
  if (!ctx.principal.viaAdmin || ctx.principal.userId !== null) throw forbidden('only the platform admin token (without Acting-User) changes operator fields');
  const table = TABLES[kind];
  const [row] = await ctx.tx.query<{ id: string; metadata: Metadata }>(`SELECT id, metadata FROM ${table} WHERE platform_id = $1 AND id = $2 FOR UPDATE`, [ctx.principal.platformId, id]);
  if (!row) throw notFound(kind);
  await assertExternalIdFree(ctx.tx, kind, ctx.principal.platformId, patch.externalId, id);
  const metadata = patch.metadata ? applyMetadataPatch(row.metadata, patch.metadata) : row.metadata;
  await ctx.tx.query(
    `UPDATE ${table} SET external_id = CASE WHEN $3 THEN $4 ELSE external_id END, metadata = $5, version = version + 1, updated_at = $6 WHERE id = $1 AND platform_id = $2`,
    [id, ctx.principal.platformId, patch.externalId !== undefined, patch.externalId ?? null, JSON.stringify(metadata), ctx.now],
  );
}
