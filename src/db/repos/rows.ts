/** Row → resource mappers shared by repositories. Resources are camelCase with ISO timestamps. */
export const iso = (d: Date | string | null | undefined): string | null =>
  d === null || d === undefined ? null : (d instanceof Date ? d : new Date(d)).toISOString();
export const isoReq = (d: Date | string): string => iso(d)!;
