import type { Queryable } from '../client.ts';
import { isoReq } from './rows.ts';

export type UserRow = {
  id: string;
  platform_id: string;
  email: string;
  name: string;
  password_hash: string | null;
  default_payment_method: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  version: number;
  created_at: Date;
  updated_at: Date;
};

export type User = {
  id: string;
  platformId: string;
  email: string;
  name: string;
  hasPassword: boolean;
  defaultPaymentMethod: string | null;
  externalId: string | null;
  metadata: Record<string, string>;
  version: number;
  createdAt: string;
  updatedAt: string;
};

export const toUser = (r: UserRow): User => ({
  id: r.id,
  platformId: r.platform_id,
  email: r.email,
  name: r.name,
  hasPassword: r.password_hash !== null,
  defaultPaymentMethod: r.default_payment_method,
  externalId: r.external_id ?? null,
  metadata: r.metadata ?? {},
  version: r.version,
  createdAt: isoReq(r.created_at),
  updatedAt: isoReq(r.updated_at),
});

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function findUser(q: Queryable, platformId: string, id: string): Promise<UserRow | undefined> {
  const [row] = await q.query<UserRow>('SELECT * FROM users WHERE platform_id = $1 AND id = $2', [platformId, id]);
  return row;
}

export async function findUserByEmail(q: Queryable, platformId: string, email: string): Promise<UserRow | undefined> {
  const [row] = await q.query<UserRow>('SELECT * FROM users WHERE platform_id = $1 AND email_normalized = $2', [
    platformId,
    normalizeEmail(email),
  ]);
  return row;
}
