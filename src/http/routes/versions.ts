import type { FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.ts';

/** The expected version from `If-Match` (a bare integer or a quoted ETag) or the body's `expectedVersion`. */
export function expectedVersion(req: FastifyRequest, fromBody: number | undefined): number | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return fromBody;
  const m = /^(?:W\/)?"?(\d{1,9})"?$/.exec(String(header).trim());
  if (!m) throw new AppError('validation_failed', 'If-Match must be a resource version', {}, [{ field: 'If-Match', message: 'must be a version number' }]);
  const v = Number(m[1]);
  if (fromBody !== undefined && fromBody !== v) {
    throw new AppError('validation_failed', 'If-Match and expectedVersion disagree', {}, [{ field: 'expectedVersion', message: 'differs from If-Match' }]);
  }
  return v;
}
