import type { Contract, Milestone } from '../../api.ts';

export type Role = 'client' | 'contractor';
export type Party = { id: string; name: string };

/**
 * A contract as the list shows it. The other party's name and the overview come from the API
 * when it sends them on list items; otherwise from the contract's own page (GET /v1/contracts/{id}).
 */
export type ListItem = { contract: Contract; role: Role | null; other: Party | null; detail: Contract | null };

export const roleOf = (c: Contract, meId: string): Role | null => (c.clientId === meId ? 'client' : c.contractorId === meId ? 'contractor' : null);

/** The other party's public profile when the API sends one on the contract (`client` / `contractor`). */
export function otherParty(c: Contract, role: Role | null): Party | null {
  const side = role === 'client' ? 'contractor' : 'client';
  const p = (c as Contract & Partial<Record<Role, unknown>>)[side];
  return p && typeof p === 'object' && 'name' in p && typeof p.name === 'string' && 'id' in p && typeof p.id === 'string' ? { id: p.id, name: p.name } : null;
}

/** The next thing the signed-in person can do on a contract, or what they wait for, in words; `mine`: it is theirs to do. */
export type NextAction = { text: string; mine: boolean };

/**
 * Derived from what both parties can see: the contract's status and its milestones. Whose turn
 * a milestone is follows PRODUCT.md's milestone table (the client funds and reviews, the
 * contractor submits, the party who did not propose accepts).
 */
export function nextAction(c: Contract, role: Role | null, meId: string, milestones: Milestone[] | undefined, otherName: string): NextAction | null {
  if (!role) return null;
  if (c.status === 'proposal') return c.createdBy === meId ? { text: `Waiting for ${otherName} to accept the offer`, mine: false } : { text: 'Accept or decline the offer', mine: true };
  if (c.status !== 'active') return null;
  if (!milestones) return { text: 'Open to see', mine: false };
  const has = (f: (m: Milestone) => boolean) => milestones.some(f);
  const proposedByOther = (m: Milestone) => m.status === 'proposed' && m.proposedBy !== null && m.proposedBy !== role;
  if (role === 'client') {
    if (has((m) => m.status === 'submitted')) return { text: 'Review submitted work', mine: true };
    if (has((m) => m.status === 'disputed')) return { text: 'Answer the dispute', mine: true };
    if (has(proposedByOther)) return { text: 'Answer a proposed milestone', mine: true };
    if (has((m) => m.status === 'approved' && c.policy.escrow === 'none')) return { text: 'Pay approved work', mine: true };
    if (c.policy.escrow === 'required' && has((m) => m.status === 'accepted') && !has((m) => m.status === 'funded' || m.status === 'in_progress'))
      return { text: 'Fund the next milestone', mine: true };
    if (has((m) => m.status === 'funded' || m.status === 'in_progress')) return { text: `Waiting for ${otherName}’s work`, mine: false };
  } else {
    // Without escrow, agreed work may start at once (PRODUCT.md: accepted → in_progress in no-escrow policies).
    const workable = (m: Milestone) => m.status === 'funded' || m.status === 'in_progress' || (c.policy.escrow === 'none' && m.status === 'accepted');
    if (has(workable)) return { text: 'Do the work and submit it', mine: true };
    if (has((m) => m.status === 'disputed')) return { text: 'Answer the dispute', mine: true };
    if (has(proposedByOther)) return { text: 'Answer a proposed milestone', mine: true };
    if (has((m) => m.status === 'submitted')) return { text: `Waiting for ${otherName}’s review`, mine: false };
    if (has((m) => m.status === 'accepted')) return { text: `Waiting for ${otherName} to fund`, mine: false };
  }
  if (c.type === 'hourly') return { text: role === 'contractor' ? 'Log your hours' : 'Review hours and invoices', mine: role === 'contractor' };
  if (milestones.every((m) => ['paid', 'refunded', 'cancelled', 'declined'].includes(m.status))) return { text: 'Add a milestone or close the contract', mine: true };
  return { text: 'Nothing to do now', mine: false };
}
