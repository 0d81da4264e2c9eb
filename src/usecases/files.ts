import type { ContractRow } from '../db/repos/contracts.ts';
import { AppError } from '../domain/errors.ts';
import type { UseCaseCtx } from './context.ts';

const DAY_MS = 86_400_000;

/**
 * A user's uploads over the last 24 hours stay within the quota (files and bytes), so that one
 * account cannot fill the disk. Uploads of one user are serialized on their row, so that two at
 * once cannot both slip under the limit. Refused with 429 and when to retry: when the oldest
 * upload of the window leaves it.
 */
export async function assertUploadQuota(ctx: UseCaseCtx, userId: string, size: number, quota: { files: number; bytes: number }): Promise<void> {
  await ctx.tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
  const [used] = await ctx.tx.query<{ files: number; bytes: string; oldest: Date | null }>(
    'SELECT count(*)::int AS files, coalesce(sum(size), 0)::text AS bytes, min(created_at) AS oldest FROM files WHERE owner_id = $1 AND created_at > $2',
    [userId, new Date(ctx.now.getTime() - DAY_MS)],
  );
  const files = used?.files ?? 0;
  const bytes = Number(used?.bytes ?? 0);
  if (files + 1 <= quota.files && bytes + size <= quota.bytes) return;
  const retryAfter = used?.oldest ? Math.max(1, Math.ceil((new Date(used.oldest).getTime() + DAY_MS - ctx.now.getTime()) / 1000)) : DAY_MS / 1000;
  throw new AppError(
    'upload_quota_exceeded',
    `uploads are limited to ${quota.files} files and ${quota.bytes} bytes per user per 24 hours (used: ${files} files, ${bytes} bytes)`,
    { retryAfter },
  );
}

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
