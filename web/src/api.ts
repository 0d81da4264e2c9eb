/** Same-origin calls to the Tranche API; the session cookie rides along. */

import type { components, operations } from '@tranche/client';

// Resource types come from the client package generated from the server's OpenAPI document
// (packages/client): the app and the API cannot drift apart unnoticed.
type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Milestone = Schemas['Milestone'];
export type MilestoneStatus = Milestone['status'];
export type Contract = Schemas['Contract'];
export type Overview = NonNullable<Contract['overview']>;
export type Policy = Contract['policy'];
export type ChangeRequest = Schemas['ChangeRequest'];
export type DiffSide = ChangeRequest['diff']['milestones'][number]['before'];
export type Payment = Schemas['Payment'];
type Ok<Op extends keyof operations> = operations[Op]['responses'] extends { 200: { content: { 'application/json': infer B } } } ? B : never;
export type Activity = Ok<'listContractActivity'> extends { data: (infer A)[] } ? A : never;
export type Notification = Ok<'listNotifications'> extends { data: (infer N)[] } ? N : never;
export type Page<T> = { data: T[]; nextCursor: string | null };

/** A failed call: carries the RFC 9457 problem's `detail` (and per-field errors) for the alert region. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: { field: string; message: string }[] = [],
  ) {
    super(detail);
  }
  /** One line for people: the detail, then each field's message. */
  get text(): string {
    const fields = this.errors.map((e) => `${e.field} ${e.message}`).join('; ');
    return fields ? `${this.message} (${fields})` : this.message;
  }
}

/** crypto.randomUUID exists only in secure contexts (https, localhost); fall back to getRandomValues elsewhere. */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['idempotency-key'] = newKey();
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const p = (json ?? {}) as { code?: string; detail?: string; title?: string; errors?: { field: string; message: string }[] };
    throw new ApiError(res.status, p.code ?? 'error', p.detail ?? p.title ?? `Request failed (${res.status})`, p.errors ?? []);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body),
  patch: <T>(path: string, body?: unknown) => call<T>('PATCH', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

export const errorText = (e: unknown) => (e instanceof ApiError ? e.text : e instanceof Error ? e.message : String(e));
