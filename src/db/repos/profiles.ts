import type { Queryable } from '../client.ts';
import { isoReq } from './rows.ts';

/**
 * What the platform shows of a party to the people they work with: who they are (a user, or the
 * client organisation), since when, and their rating from visible reviews. Never an email.
 */
export type PartyProfile = {
  id: string;
  kind: 'user' | 'organization';
  name: string;
  memberSince: string;
  rating: { average: number; count: number } | null;
};

/** Profiles of the given parties (users or organisations), by id; unknown ids are left out. */
export async function partyProfiles(q: Queryable, ids: readonly string[]): Promise<Map<string, PartyProfile>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await q.query<{ id: string; kind: 'user' | 'organization'; name: string; created_at: Date; average: number | null; count: number }>(
    `SELECT p.id, p.kind, p.name, p.created_at, r.average, r.count
     FROM (SELECT id, 'user' AS kind, name, created_at FROM users WHERE id = ANY($1::text[])
           UNION ALL SELECT id, 'organization' AS kind, name, created_at FROM organizations WHERE id = ANY($1::text[])) p
     CROSS JOIN LATERAL (SELECT round(avg(rating), 2)::float8 AS average, count(*)::int AS count
                         FROM reviews WHERE subject_id = p.id AND visible_at IS NOT NULL) r`,
    [unique],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, kind: r.kind, name: r.name, memberSince: isoReq(r.created_at), rating: r.count > 0 ? { average: Number(r.average), count: r.count } : null },
    ]),
  );
}
