import type { Policy } from '../../api.ts';

type Role = 'client' | 'contractor';

/**
 * What happens when the other party does not answer a dispute in time, in words: the policy's
 * `disputeDefaultOutcome` (src/usecases/disputes.ts decides it the same way).
 */
export function defaultOutcome(outcome: Policy['disputeDefaultOutcome'], opener: Role, viewer: Role, escrow: number, money: (n: number) => string): string {
  const release = outcome === 'release' || (outcome === 'opener_wins' && opener === 'contractor');
  const to = release ? 'released to the contractor' : 'refunded to the client';
  const whoOpened = opener === viewer ? 'you' : `the ${opener}`;
  const rule = outcome === 'opener_wins' ? ` (this contract decides for whoever opened the dispute: ${whoOpened})` : '';
  return `If no answer comes in time, the ${money(escrow)} is ${to}${rule}. Once answered, the platform decides how to split it.`;
}
