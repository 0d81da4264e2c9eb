import type { ContractStatus } from './milestone-machine.ts';

/** A message body: 1 to 10,000 characters (Unicode code points) once trimmed. */
export const MESSAGE_MAX_CHARS = 10_000;

/** Unread messages still unread this long after the first of a burst are emailed, once per burst. */
export const MESSAGE_EMAIL_DELAY_MS = 10 * 60_000;

/**
 * The parties may write while the contract is negotiated or live. Once it has ended (closed,
 * withdrawn, declined) its conversation is kept, readable by both, and read-only: it is part of
 * the record of what was agreed, like the timeline.
 */
export const conversationWritable = (status: ContractStatus) => status === 'proposal' || status === 'active';
