import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isRetryableTxError, isUnavailableError } from '../db/client.ts';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from '../domain/errors.ts';

export const PROBLEM_BASE = 'https://tranche.dev/problems/';

export type Problem = {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  [k: string]: unknown;
};

export function problemFrom(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, errors?: FieldError[]): Problem {
  const def = ERROR_CODES[code];
  return { type: PROBLEM_BASE + code, title: def.title, status: def.status, code, detail, ...extra, ...(errors?.length ? { errors } : {}) };
}

/**
 * A field path as the use cases name fields too: `milestones[0].dueDate` (dots between keys,
 * brackets around array indexes), so that one request names one field one way.
 */
const fieldPath = (segs: string[]) => segs.reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');

/** Field errors of a request validation failure, each naming the field (path as in fieldPath). */
function fieldErrors(err: FastifyError): FieldError[] {
  const where = err.validationContext ?? 'body';
  const out: FieldError[] = [];
  for (const v of err.validation ?? []) {
    const path = String(v.instancePath ?? '').split('/').filter(Boolean);
    const keys = (v.params as { keys?: string[] } | undefined)?.keys;
    if (v.keyword === 'unrecognized_keys' && keys) {
      for (const k of keys) out.push({ field: fieldPath([...path, k]), message: 'is not a known field', code: 'unknown_field' });
      continue;
    }
    out.push({ field: fieldPath(path) || where, message: v.message ?? 'is not valid', code: v.keyword });
  }
  return out;
}

/**
 * The one place where errors become HTTP answers (RFC 9457 problem+json with a stable code).
 * Unknown errors are logged and answered 500 with nothing internal in the body.
 */
export function toProblem(err: unknown, req: FastifyRequest): Problem {
  if (err instanceof AppError) return problemFrom(err.code, err.message, err.extra, err.errors);
  const fe = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const errors = fieldErrors(fe);
    const where = fe.validationContext ?? 'body';
    return problemFrom('validation_failed', `invalid ${where}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, {}, errors);
  }
  if (isResponseSerializationError(fe)) {
    req.log.error({ err: fe, issues: (fe as unknown as { cause?: { issues?: unknown } }).cause?.issues }, 'response did not match its schema');
    return problemFrom('internal_error', 'internal error');
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problemFrom('malformed_request', 'the body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
      return problemFrom('payload_too_large', 'the request body is larger than allowed');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return problemFrom('unsupported_media_type', 'send application/json (or multipart/form-data for files)');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemFrom('malformed_request', 'the Content-Length does not match the body');
    case 'FST_ERR_VALIDATION':
      return problemFrom('validation_failed', fe.message);
  }
  if (fe.statusCode === 429) return problemFrom('rate_limited', 'too many requests; try again later');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return problemFrom(fe.statusCode === 413 ? 'payload_too_large' : fe.statusCode === 415 ? 'unsupported_media_type' : 'malformed_request', fe.message);
  }
  if (isUnavailableError(err)) {
    req.log.warn({ err }, 'database unavailable');
    return problemFrom('service_unavailable', 'the database is unavailable; retry the request');
  }
  const pgCode = (err as { code?: string }).code;
  if (pgCode === '22021' || pgCode === '22P05') {
    // Bytes PostgreSQL cannot store as text (a NUL character): bad input, not a server fault.
    return problemFrom('validation_failed', 'the request contains characters that cannot be stored');
  }
  if (isRetryableTxError(err) || pgCode === '23505') {
    // A race lost after retries, or a uniqueness guard that caught a concurrent duplicate.
    return problemFrom('conflict', 'a concurrent request changed this resource; retry');
  }
  req.log.error({ err }, 'unhandled error');
  return problemFrom('internal_error', 'internal error');
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  const retryAfter = p.status === 503 ? 1 : p.retryAfter;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply
    .code(p.status)
    .type('application/problem+json')
    .send({ ...p, instance: reply.request.url, requestId: reply.request.id });
}
