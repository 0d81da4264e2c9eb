/** Same-origin calls to the Tranche API; the session cookie rides along. */

import type { components, operations } from '@tranche/client';
import { problemSentence } from './app/words.ts';

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
export type Problem = Schemas['Problem'];
export type ErrorCode = Problem['code'];
type Ok<Op extends keyof operations> = operations[Op]['responses'] extends { 200: { content: { 'application/json': infer B } } } ? B : never;
export type Activity = Ok<'listContractActivity'> extends { data: (infer A)[] } ? A : never;
export type Notification = Ok<'listNotifications'> extends { data: (infer N)[] } ? N : never;
export type Page<T> = { data: T[]; nextCursor: string | null };

/**
 * A failed call: the RFC 9457 problem's stable `code`, its extra members (`minimum`,
 * `currency`, `state` …) and field errors. `text` is the sentence people read (app/words.ts):
 * never the server's developer-facing `detail` or a validator's message.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** A Problem.code, or `network` / `error` when no problem came back. */
    readonly code: ErrorCode | 'network' | 'error' | (string & {}),
    detail: string,
    readonly errors: { field: string; message: string; code?: string }[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
  /** One sentence for people, from the code and the problem's members. */
  get text(): string {
    return problemSentence(this);
  }
}

/** The problem body of a failed answer (or what can be made of a body that is not one) as an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  const p = (body && typeof body === 'object' ? body : {}) as Partial<Problem> & Record<string, unknown>;
  const { code, detail, title, errors, type: _t, status: _s, instance: _i, requestId: _r, ...extra } = p;
  return new ApiError(status, (code as ErrorCode | undefined) ?? 'error', detail ?? title ?? `Request failed (${status})`, errors ?? [], extra);
}

export const networkError = () => new ApiError(0, 'network', 'The server cannot be reached.');

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
    throw networkError();
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw toApiError(res.status, json);
  return json as T;
}

/**
 * Untyped calls by path, kept for code written before the typed client (app/client.ts);
 * new code uses `tranche` + `ok` from there.
 */
export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body?: unknown) => call<T>('POST', path, body),
  patch: <T>(path: string, body?: unknown) => call<T>('PATCH', path, body),
  put: <T>(path: string, body?: unknown) => call<T>('PUT', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

export const errorText = (e: unknown) => (e instanceof ApiError ? e.text : e instanceof Error ? e.message : String(e));
