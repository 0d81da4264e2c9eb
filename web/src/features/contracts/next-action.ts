import type { Contract } from '../../api.ts';
import { nextActionWord } from '../../app/words.ts';

/** The next thing the signed-in person can do on a contract, or what they wait for, in words; `mine`: it is theirs to do. */
export type NextAction = { text: string; mine: boolean };

/** The other party's public profile: the side that is not the caller's. */
export const otherParty = (c: Contract) => (c.viewerRole === 'client' ? c.contractor : c.client);

/**
 * What waits for the caller (the API's `nextAction`), or else who the contract waits for: the
 * other party to accept an offer, or (a client with money in escrow) to do the work.
 */
export function nextAction(c: Contract): NextAction | null {
  if (c.nextAction) return { text: nextActionWord(c.nextAction), mine: true };
  const other = otherParty(c).name;
  if (c.status === 'proposal') return { text: `Waiting for ${other} to accept the offer`, mine: false };
  if (c.status !== 'active') return null;
  if (c.viewerRole === 'client') return { text: (c.overview?.inEscrow ?? 0) > 0 ? `Waiting for ${other}’s work` : 'Nothing waits for you', mine: false };
  return { text: `Waiting for ${other}`, mine: false };
}
