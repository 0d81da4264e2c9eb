import type { Contract } from '../../api.ts';

/**
 * A party's public profile as the contract carries it (`client` / `contractor`: id, name and what
 * the platform lets them share). Read loosely: older servers answer without it, and then the
 * page names the role only.
 */
export type Profile = { id: string; name: string; email?: string | null; organization?: boolean; reviews?: { count: number; average: number | null } | null } & Record<string, unknown>;

export function partyOf(contract: Contract, role: 'client' | 'contractor'): Profile | null {
  const p = (contract as unknown as Record<string, unknown>)[role];
  return p && typeof p === 'object' && typeof (p as Profile).name === 'string' ? (p as Profile) : null;
}

/** The other party's name and details (seed 004: "access your specialist's info"). */
export function PartyCard({ contract, role }: { contract: Contract; role: 'client' | 'contractor' }) {
  const p = partyOf(contract, role);
  if (!p) return null;
  const rating = p.reviews && p.reviews.count > 0 && p.reviews.average !== null ? p.reviews : null;
  return (
    <section className="card party" aria-labelledby="party-title">
      <h2 id="party-title">Your {role === 'client' ? 'client' : 'contractor'}</h2>
      <p className="party-name">
        <strong>{p.name}</strong>
        {p.organization && <span className="muted"> · organisation</span>}
      </p>
      {p.email && (
        <p>
          <a href={`mailto:${p.email}`}>{p.email}</a>
        </p>
      )}
      <p className="muted small">{rating ? `Rated ${rating.average!.toFixed(1)} of 5 in ${rating.count} review${rating.count === 1 ? '' : 's'}.` : 'No reviews yet.'}</p>
    </section>
  );
}
