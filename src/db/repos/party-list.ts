import type { Queryable } from '../client.ts';

export type PartyListQuery = {
  platformId: string;
  /** The caller; null for the platform admin, who sees every row of the platform. */
  userId: string | null;
  role?: 'client' | 'contractor';
  /** The organisations the caller is a member of: their rows count as the caller's on the client side. */
  orgIds?: string[];
  /** Equality filters; column names come from code, never from input. */
  filters: Record<string, unknown>;
  /** More conditions, each SQL written in code with `?` for its bound value (bound once, used wherever `?` appears). */
  where?: [sql: string, value: unknown][];
  /** One more condition, built in code from the caller's bound parameter (`me`); only with a user. */
  condition?: (me: string) => string;
  /** Rows with an id below this (ids are time-ordered: newest first). */
  before: string | null;
  limit: number;
};

/**
 * A page of a party-owned table (contracts, payments), newest first. For "either role" it
 * merges two index-ordered scans instead of `client_id = me OR contractor_id = me`, which the
 * planner may answer by walking the whole table in id order (see bench/scale.ts).
 */
export async function listByParty<T>(q: Queryable, table: 'contracts' | 'payments' | 'invoices', o: PartyListQuery): Promise<T[]> {
  const params: unknown[] = [o.platformId];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ['platform_id = $1'];
  const me = o.userId === null ? null : p(o.userId);
  // The client side is the caller or one of their organisations (kept an equality for a caller without any).
  const asClient = me && o.orgIds?.length && o.role !== 'contractor' ? `(client_id = ${me} OR client_id = ANY(${p(o.orgIds)}::text[]))` : `client_id = ${me}`;
  if (me && o.role) where.push(o.role === 'client' ? asClient : `contractor_id = ${me}`);
  for (const [column, value] of Object.entries(o.filters)) if (value !== undefined) where.push(`${column} = ${p(value)}`);
  for (const [sql, value] of o.where ?? []) if (value !== undefined) where.push(sql.replaceAll('?', p(value)));
  if (me && o.condition) where.push(o.condition(`${me}::text`));
  if (o.before) where.push(`id < ${p(o.before)}`);
  const limit = p(o.limit);
  const cond = where.join(' AND ');
  const sql =
    me && !o.role
      ? `(SELECT * FROM ${table} WHERE ${cond} AND ${asClient} ORDER BY id DESC LIMIT ${limit})
         UNION ALL (SELECT * FROM ${table} WHERE ${cond} AND contractor_id = ${me} ORDER BY id DESC LIMIT ${limit})
         ORDER BY id DESC LIMIT ${limit}`
      : `SELECT * FROM ${table} WHERE ${cond} ORDER BY id DESC LIMIT ${limit}`;
  return q.query<T>(sql, params);
}
