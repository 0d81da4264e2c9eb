import type { Contract } from '../../api.ts';
import { formatDate } from '../../format.ts';
import './reviews.css';

export type Profile = Contract['client'];

/** A party's public profile as the contract carries it (`client` / `contractor`). */
export const partyOf = (contract: Contract, role: 'client' | 'contractor'): Profile | null => contract[role] ?? null;

/** "4.5 of 5 from 2 reviews", or that there are none yet. */
export function ratingWords(rating: Profile['rating']): string {
  if (!rating || rating.count === 0) return 'No reviews yet.';
  return `Rated ${rating.average.toFixed(1)} of 5 from ${rating.count} review${rating.count === 1 ? '' : 's'}.`;
}

/** The other party's name and details (seed 004: "access your specialist's info"). */
export function PartyCard({ contract, role }: { contract: Contract; role: 'client' | 'contractor' }) {
  const p = partyOf(contract, role);
  if (!p) return null;
  return (
    <section className="card party" aria-labelledby="party-title">
      <h2 id="party-title">Your {role}</h2>
      <p className="party-name">
        <strong>{p.name}</strong>
        {p.kind === 'organization' && <span className="muted"> · a company whose members act for it</span>}
      </p>
      <p className="muted small">
        On Tranche since {formatDate(p.memberSince.slice(0, 10))}. {ratingWords(p.rating)}
      </p>
    </section>
  );
}
