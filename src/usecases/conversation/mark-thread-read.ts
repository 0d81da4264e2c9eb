import { unreadByContract } from '../../db/repos/messages.ts';
import { validation } from '../../domain/errors.ts';
import { loadContract, requireParty } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { recordReadMarker } from '../record.ts';

export type ThreadReadState = { contractId: string; readUpTo: string | null; unreadMessages: number };

/**
 * Marks the caller's thread read up to a message of this thread (by default its latest). The
 * marker only moves forward; the in-app notifications of the messages read are read with it.
 */
export async function markThreadRead(ctx: UseCaseCtx, contractId: string, upTo: string | undefined): Promise<ThreadReadState> {
  const { tx, now } = ctx;
  const { contract, role } = await loadContract(ctx, contractId, false);
  requireParty(role);
  const userId = ctx.principal.userId!;
  const [target] = await tx.query<{ id: string }>(
    upTo === undefined
      ? 'SELECT id FROM messages WHERE contract_id = $1 ORDER BY id DESC LIMIT 1'
      : 'SELECT id FROM messages WHERE contract_id = $1 AND id = $2',
    upTo === undefined ? [contract.id] : [contract.id, upTo],
  );
  if (upTo !== undefined && !target) throw validation('upTo', 'is not a message of this conversation');
  let readUpTo: string | null = null;
  if (target) {
    const [row] = await tx.query<{ read_up_to: string }>(
      `INSERT INTO message_reads (platform_id, contract_id, user_id, read_up_to, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (contract_id, user_id) DO UPDATE SET read_up_to = GREATEST(message_reads.read_up_to, EXCLUDED.read_up_to), updated_at = EXCLUDED.updated_at
       RETURNING read_up_to`,
      [contract.platform_id, contract.id, userId, target.id, now],
    );
    readUpTo = row!.read_up_to;
    await tx.query(
      `UPDATE notifications SET read_at = $4 WHERE user_id = $1 AND contract_id = $2 AND kind = 'message.created' AND read_at IS NULL AND data->>'messageId' <= $3`,
      [userId, contract.id, readUpTo, now],
    );
    await recordReadMarker(ctx, contract.platform_id, userId, contract.id);
  } else {
    const [row] = await tx.query<{ read_up_to: string | null }>('SELECT read_up_to FROM message_reads WHERE contract_id = $1 AND user_id = $2', [contract.id, userId]);
    readUpTo = row?.read_up_to ?? null;
  }
  const unread = await unreadByContract(tx, userId, [contract.id]);
  return { contractId: contract.id, readUpTo, unreadMessages: unread.get(contract.id) ?? 0 };
}
