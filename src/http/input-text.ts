import { AppError } from '../domain/errors.ts';

/** The deepest nesting of arrays and objects a request may send; our schemas need fewer than 8. */
export const MAX_DEPTH = 32;

// PostgreSQL text holds neither NUL nor a lone UTF-16 surrogate (JSON can spell both, as
// "\u0000" and "\ud800"; the database then fails the whole statement).
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const isStorableText = (s: string) => !UNSTORABLE.test(s);

export type TextScan = { tooDeep: boolean; fields: string[] };

/**
 * Walks a parsed value (a JSON body, a query string) with an explicit stack — a recursive walk
 * overflows on 100,000 nested arrays, before anyone is authenticated — and returns the paths
 * (as in validation errors: `a.b[0].c`) of strings and keys PostgreSQL cannot store, or stops
 * at the first value nested deeper than MAX_DEPTH.
 */
export function scanText(value: unknown): TextScan {
  const fields: string[] = [];
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) fields.push(path || 'body');
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return { tooDeep: true, fields };
    // Pushed last to first, so that fields come out in document order.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i]!;
      const p = path ? `${path}.${k}` : k;
      if (isStorableText(k)) stack.push({ v: x, path: p, depth: depth + 1 });
      else fields.push(p);
    }
  }
  return { tooDeep: false, fields };
}

/** The 4xx for a scan that found something, or null. */
export function textProblem(scan: TextScan): AppError | null {
  if (scan.tooDeep) return new AppError('malformed_request', `the request is nested deeper than ${MAX_DEPTH} levels`);
  if (!scan.fields.length) return null;
  const message = 'must not contain NUL characters or unpaired UTF-16 surrogates';
  return new AppError('validation_failed', `text ${message}`, {}, scan.fields.map((field) => ({ field, message })));
}
