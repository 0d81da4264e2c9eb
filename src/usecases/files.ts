import type { ContractRow } from '../db/repos/contracts.ts';
import { AppError } from '../domain/errors.ts';
import type { UseCaseCtx } from './context.ts';

/**
 * Files attached to a contract's milestones, submissions or disputes must exist on the
 * platform and belong to the caller (attaching a file is what lets the other party read it,
 * so nobody may attach a file they did not upload); anything else is refused as if it did
 * not exist.
 */
export async function assertFilesUsable(ctx: UseCaseCtx, contract: ContractRow, fileIds: readonly string[]): Promise<void> {
  if (fileIds.length === 0) return;
  const unique = [...new Set(fileIds)];
  const rows = await ctx.tx.query<{ id: string }>(
    'SELECT id FROM files WHERE platform_id = $1 AND id = ANY($2) AND owner_id = ANY($3)',
    [contract.platform_id, unique, [ctx.principal.userId ?? '']],
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) {
    throw new AppError('validation_failed', 'unknown attachment', {}, missing.map((id) => ({ field: 'attachmentIds', message: `${id} is not a file you can attach here` })));
  }
}
