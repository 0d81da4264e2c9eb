import { MESSAGE_EMAIL_DELAY_MS } from '../../domain/conversation.ts';
import type { UseCaseCtx } from '../context.ts';
import { enqueueJob } from '../record.ts';

const LISTED = 10;

/**
 * Timer job (exactly once, in the worker's transaction): if the user still has unread messages on
 * the contract that no email told them about, and the oldest is at least ten minutes old, one
 * email lists them (through the outbox) and the thread remembers it was emailed up to there.
 * A burst that is read in time, or already covered by an earlier digest, sends nothing.
 */
export async function sendMessageDigest(ctx: UseCaseCtx, contractId: string, userId: string): Promise<string> {
  const { tx, now } = ctx;
  // Two digests of one thread (two workers) must not both send: the contract row serializes them.
  const [contract] = await tx.query<{ id: string; platform_id: string; title: string }>('SELECT id, platform_id, title FROM contracts WHERE id = $1 FOR UPDATE', [contractId]);
  if (!contract) return 'contract gone';
  const unread = await tx.query<{ id: string; body: string; created_at: Date; author_name: string }>(
    `SELECT m.id, m.body, m.created_at, u.name AS author_name FROM messages m
       JOIN users u ON u.id = m.author_id
       LEFT JOIN message_reads r ON r.contract_id = m.contract_id AND r.user_id = $2
     WHERE m.contract_id = $1 AND m.author_id <> $2 AND m.id > GREATEST(COALESCE(r.read_up_to, ''), COALESCE(r.emailed_up_to, ''))
     ORDER BY m.id`,
    [contractId, userId],
  );
  if (unread.length === 0) return 'read in time';
  const [off] = await tx.query("SELECT 1 FROM notification_preferences WHERE user_id = $1 AND kind = 'message.created' AND NOT email", [userId]);
  if (off) return 'email off for messages';
  // Read in part, then more arrived: the newer burst has its own job, due later.
  if (new Date(unread[0]!.created_at).getTime() > now.getTime() - MESSAGE_EMAIL_DELAY_MS) return 'burst not due yet';
  const n = unread.length;
  const lines = unread.slice(-LISTED).map((m) => `${m.author_name} (${new Date(m.created_at).toISOString().slice(0, 16).replace('T', ' ')} UTC):\n${m.body.length > 500 ? `${m.body.slice(0, 499)}…` : m.body}`);
  const more = n > LISTED ? `\n\n…and ${n - LISTED} earlier message${n - LISTED === 1 ? '' : 's'}.` : '';
  await enqueueJob(ctx, {
    kind: 'email',
    platformId: contract.platform_id,
    contractId,
    payload: {
      userId,
      subject: `${n} unread message${n === 1 ? '' : 's'} on “${contract.title}”`,
      text: `${n === 1 ? 'A message is' : `${n} messages are`} waiting for you on “${contract.title}”:\n\n${lines.join('\n\n')}${more}\n\nOpen the contract in Tranche to reply.`,
    },
  });
  await tx.query(
    `INSERT INTO message_reads (platform_id, contract_id, user_id, emailed_up_to, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (contract_id, user_id) DO UPDATE SET emailed_up_to = GREATEST(message_reads.emailed_up_to, EXCLUDED.emailed_up_to), updated_at = EXCLUDED.updated_at`,
    [contract.platform_id, contractId, userId, unread.at(-1)!.id, now],
  );
  return `digest of ${n}`;
}
