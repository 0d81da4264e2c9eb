import { toMessage, findMessage, type Message } from '../../db/repos/messages.ts';
import { conversationWritable, MESSAGE_EMAIL_DELAY_MS } from '../../domain/conversation.ts';
import { invalidState } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { loadContract, partyUserIds, requireParty } from '../access.ts';
import type { UseCaseCtx } from '../context.ts';
import { assertFilesUsable } from '../files.ts';
import { enqueueJob, recordEvent, recordMessage } from '../record.ts';

/**
 * A party writes on the contract's thread. Attachments must be the author's own uploads; once
 * attached, the other party may read them. Writing also marks the thread read for the author
 * (they answer what they see), and schedules the other party's email digest for this burst.
 */
export async function sendMessage(ctx: UseCaseCtx, contractId: string, input: { body: string; attachmentIds?: string[] }): Promise<Message> {
  const { tx, now } = ctx;
  // The contract lock orders messages with commands on the contract (a close cannot slip in
  // between the check below and the insert) and makes "first message" exact.
  const { contract, role } = await loadContract(ctx, contractId, true);
  const party = requireParty(role);
  if (!conversationWritable(contract.status)) {
    throw invalidState('contract', contract.status, `the contract is ${contract.status}: its conversation is read-only`);
  }
  const attachmentIds = [...new Set(input.attachmentIds ?? [])];
  await assertFilesUsable(ctx, contract, attachmentIds);
  const authorId = ctx.principal.userId!;
  const recipientIds = party === 'contractor' ? await partyUserIds(ctx, contract.client_id) : [contract.contractor_id];
  const id = newId('message');
  const [state] = await tx.query<{ first: boolean; author_name: string }>(
    `WITH ins AS (
       INSERT INTO messages (id, platform_id, contract_id, author_id, body, attachment_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
     ), rd AS (
       INSERT INTO message_reads (platform_id, contract_id, user_id, read_up_to, updated_at) VALUES ($2, $3, $4, $1, $7)
       ON CONFLICT (contract_id, user_id) DO UPDATE SET read_up_to = GREATEST(message_reads.read_up_to, EXCLUDED.read_up_to), updated_at = EXCLUDED.updated_at
     )
     SELECT NOT EXISTS (SELECT 1 FROM messages WHERE contract_id = $3) AS first, (SELECT name FROM users WHERE id = $4) AS author_name`,
    [id, contract.platform_id, contract.id, authorId, input.body, JSON.stringify(attachmentIds), now],
  );
  if (state!.first) {
    // The timeline links the conversation once; it never copies messages.
    await recordEvent(ctx, contract, { kind: 'conversation.started', actorRole: party, data: { messageId: id, messages: `/v1/contracts/${contract.id}/messages` }, notify: [] });
  }
  await recordMessage(ctx, contract, { id, authorId, authorName: state!.author_name, body: input.body, attachmentIds, createdAt: now });
  for (const recipientId of recipientIds) await scheduleDigest(ctx, contract.platform_id, contract.id, recipientId);
  return toMessage((await findMessage(tx, contract.id, id))!);
}

/**
 * One email per burst: the burst is the recipient's unread messages not yet emailed; the job is
 * named after its first message, so every message of the burst lands on the same job, due ten
 * minutes after that first message.
 */
async function scheduleDigest(ctx: UseCaseCtx, platformId: string, contractId: string, userId: string): Promise<void> {
  const [first] = await ctx.tx.query<{ id: string; created_at: Date }>(
    `SELECT m.id, m.created_at FROM messages m
       LEFT JOIN message_reads r ON r.contract_id = m.contract_id AND r.user_id = $2
     WHERE m.contract_id = $1 AND m.author_id <> $2 AND m.id > GREATEST(COALESCE(r.read_up_to, ''), COALESCE(r.emailed_up_to, ''))
     ORDER BY m.id LIMIT 1`,
    [contractId, userId],
  );
  if (!first) return;
  await enqueueJob(ctx, {
    kind: 'message_digest',
    payload: { contractId, userId },
    platformId,
    contractId,
    runAt: new Date(new Date(first.created_at).getTime() + MESSAGE_EMAIL_DELAY_MS),
    dedupeKey: `message-digest:${userId}:${first.id}`,
  });
}
