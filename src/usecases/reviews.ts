import { AppError, invalidState } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { actorName, loadContract, requireParty } from './access.ts';
import type { UseCaseCtx } from './context.ts';
import { enqueueJob, recordEvent } from './record.ts';

export type ReviewRow = {
  id: string;
  platform_id: string;
  contract_id: string;
  author_id: string;
  author_role: 'client' | 'contractor';
  subject_id: string;
  rating: number;
  comment: string | null;
  visible_at: Date | null;
  created_at: Date;
};

/** How long a review stays hidden from the other party if they leave none (seed 001). */
export const REVIEW_REVEAL_DAYS = 14;
const revealAt = (closedAt: Date) => new Date(closedAt.getTime() + REVIEW_REVEAL_DAYS * 86_400_000);

/**
 * A party rates the other once the contract is closed, once. The review stays hidden from the
 * other party until they leave theirs or 14 days after the close, whichever comes first; there
 * is no way to change it, so what either party sees never changes once shown.
 */
export async function postReview(ctx: UseCaseCtx, contractId: string, input: { rating: number; comment?: string }) {
  const { contract, role } = await loadContract(ctx, contractId, true);
  const party = requireParty(role);
  if (contract.status !== 'closed' || !contract.closed_at) {
    throw invalidState('contract', contract.status, `reviews are left once the contract is closed; it is ${contract.status}`);
  }
  const existing = await ctx.tx.query<ReviewRow>('SELECT * FROM reviews WHERE contract_id = $1 ORDER BY created_at', [contract.id]);
  const mine = existing.find((r) => r.author_role === party);
  if (mine) throw new AppError('review_exists', 'you already reviewed this contract; a review cannot be changed', { reviewId: mine.id });
  const other = existing.find((r) => r.author_role !== party);
  // Both in, or the 14 days are over: visible now (the other party's too).
  const visibleNow = other !== undefined || ctx.now >= revealAt(contract.closed_at);
  const [row] = await ctx.tx.query<ReviewRow>(
    `INSERT INTO reviews (id, platform_id, contract_id, author_id, author_role, subject_id, rating, comment, visible_at, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING *`,
    [newId('review'), contract.platform_id, contract.id, ctx.principal.userId, party, party === 'client' ? contract.contractor_id : contract.client_id,
      input.rating, input.comment ?? null, visibleNow ? ctx.now : null, ctx.now],
  );
  if (other && !other.visible_at) await revealReviews(ctx, contract.id);
  if (!visibleNow) {
    await enqueueJob(ctx, { kind: 'reveal_reviews', payload: { contractId: contract.id }, platformId: contract.platform_id, contractId: contract.id, runAt: revealAt(contract.closed_at), dedupeKey: `reveal_reviews:${contract.id}` });
  }
  // The other party learns that a review is in, not what it says (it is hidden until revealed).
  await recordEvent(ctx, contract, { kind: 'review.posted', actorRole: party, data: { reviewId: row!.id, by: await actorName(ctx), visible: visibleNow, revealsAt: (row!.visible_at ?? revealAt(contract.closed_at)).toISOString() } });
  return { contract, review: row!, party };
}

/** Timer (14 days after the close) or the second review: every hidden review of the contract shows. */
export async function revealReviews(ctx: Pick<UseCaseCtx, 'tx' | 'now'>, contractId: string): Promise<string> {
  const shown = await ctx.tx.query('UPDATE reviews SET visible_at = $2 WHERE contract_id = $1 AND visible_at IS NULL RETURNING id', [contractId, ctx.now]);
  return `revealed ${shown.length}`;
}

/** The contract's reviews the caller may read: their own, and the other party's once visible (the admin: all). */
export async function listReviews(ctx: UseCaseCtx, contractId: string) {
  const { contract, role } = await loadContract(ctx, contractId, false);
  const rows = await ctx.tx.query<ReviewRow>('SELECT * FROM reviews WHERE contract_id = $1 ORDER BY created_at, id', [contract.id]);
  const readable = rows.filter((r) => role === 'admin' || r.author_role === role || r.visible_at !== null);
  return { contract, reviews: readable, revealsAt: contract.closed_at ? revealAt(contract.closed_at) : null };
}
