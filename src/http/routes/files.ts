import { createHash } from 'node:crypto';
import { create as contentDisposition } from 'content-disposition';
import { z } from 'zod';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { isPlatformAdmin, type UseCaseCtx } from '../../usecases/context.ts';
import { assertUploadQuota } from '../../usecases/files.ts';
import type { RouteContext } from '../app.ts';
import { isStorableText } from '../input-text.ts';
import { sendProblem, toProblem } from '../problem.ts';
import { IdParams } from '../schemas.ts';
import type { V1 } from './types.ts';

/** Types accepted by content (magic bytes), not by the name or the declared type. */
export const ALLOWED_TYPES = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/zip', 'text/plain']);

const FileSchema = z
  .object({ id: z.string(), filename: z.string(), contentType: z.string().describe('The type detected from the content (not the declared one)'), size: z.number().int(), sha256: z.string(), createdAt: z.string() })
  .describe('An uploaded file’s metadata');
type FileRow = { id: string; owner_id: string; filename: string; content_type: string; size: number; sha256: string; created_at: Date };

async function sniff(bytes: Buffer): Promise<string | null> {
  const { fileTypeFromBuffer } = await import('file-type'); // loaded with the first upload, not at start-up
  const t = await fileTypeFromBuffer(bytes);
  if (t) return t.mime;
  // No magic number: accept it as text only if it is valid UTF-8 without control bytes.
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /[\u0000-\u0008\u000e-\u001f]/.test(text) ? null : 'text/plain';
  } catch {
    return null;
  }
}

/** The owner, the platform admin, and the other party of a contract the file is attached to (milestone, dispute, message) may read it. */
async function canRead(ctx: UseCaseCtx, f: FileRow): Promise<boolean> {
  const p = ctx.principal;
  if (isPlatformAdmin(p) || p.userId === f.owner_id) return true;
  const [hit] = await ctx.tx.query(
    `SELECT 1 FROM contracts c WHERE c.platform_id = $1 AND (c.client_id = ANY($5::text[]) OR c.contractor_id = $2)
       AND (c.client_id = $3 OR c.contractor_id = $3 OR c.client_id IN (SELECT org_id FROM organization_members WHERE user_id = $3)) AND (
       EXISTS (SELECT 1 FROM milestones m WHERE m.contract_id = c.id AND (m.attachment_ids ? $4 OR m.submission_files ? $4))
    OR EXISTS (SELECT 1 FROM disputes d WHERE d.contract_id = c.id AND (d.evidence_ids ? $4 OR d.response_ids ? $4))
    OR EXISTS (SELECT 1 FROM messages msg WHERE msg.contract_id = c.id AND msg.author_id = $3 AND msg.attachment_ids ? $4)) LIMIT 1`,
    [p.platformId, p.userId, f.owner_id, f.id, [p.userId, ...Object.keys(p.orgs ?? {})]],
  );
  return hit !== undefined;
}

/**
 * RFC 6266: the name as UTF-8 in `filename*` and, for clients that know only `filename`, an ASCII
 * stand-in (a header value holds nothing else safely: a DEL or a non-Latin-1 character in it
 * makes Node refuse the whole answer).
 */
const attachment = (filename: string) => contentDisposition(filename, { fallback: filename.replace(/[^\x20-\x7e]|["\\%]/g, '_') });

const present = (f: FileRow) => ({ id: f.id, filename: f.filename, contentType: f.content_type, size: f.size, sha256: f.sha256, createdAt: new Date(f.created_at).toISOString() });

export function fileRoutes(app: V1, { runner, storage, http }: RouteContext) {
  const tags = ['Files'];

  app.post(
    '/files',
    {
      schema: {
        tags,
        summary: 'Upload one file (multipart/form-data, field `file`, at most 10 MiB; PDF, images, ZIP or plain text, checked by content; a daily quota per user)',
        consumes: ['multipart/form-data'],
        response: { 201: FileSchema },
      },
    },
    async (req, reply) => {
      let upload: { bytes: Buffer; filename: string; type: string };
      try {
        if (!req.isMultipart()) throw new AppError('unsupported_media_type', 'send the file as multipart/form-data');
        const part = await req.file();
        if (!part) throw new AppError('validation_failed', 'no file in the request', {}, [{ field: 'file', message: 'is required' }]);
        if (!isStorableText(part.filename)) {
          throw new AppError('validation_failed', 'the file name cannot be stored', {}, [{ field: 'file', message: 'its name must not contain NUL characters or unpaired UTF-16 surrogates' }]);
        }
        const bytes = await part.toBuffer();
        if (bytes.length === 0) throw new AppError('validation_failed', 'the file is empty', {}, [{ field: 'file', message: 'is empty' }]);
        const type = await sniff(bytes);
        if (!type || !ALLOWED_TYPES.has(type)) throw new AppError('unsupported_media_type', `files of this type are refused (detected ${type ?? 'unknown'})`, { detected: type });
        upload = { bytes, type, filename: (part.filename || 'file').replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200) };
      } catch (err) {
        // Anything else that fails while reading the parts (a multipart body without a boundary,
        // a truncated stream) is the request's fault, not ours.
        const known = err instanceof AppError || typeof (err as { statusCode?: unknown }).statusCode === 'number';
        return sendProblem(reply, toProblem(known ? err : new AppError('malformed_request', 'the multipart body could not be read'), req));
      }
      // The Idempotency-Key hash covers the request body; for an upload that is the file itself.
      (req as { body: unknown }).body = { sha256: createHash('sha256').update(upload.bytes).digest('hex'), filename: upload.filename };
      return runner.run(req, reply, async (ctx) => {
        const { tx, principal, now } = ctx;
        if (!principal.userId) throw forbidden('files belong to a user: use the Acting-User header');
        await assertUploadQuota(ctx, principal.userId, upload.bytes.length, http.uploadQuota);
        const stored = await storage.put(upload.bytes);
        const [row] = await tx.query<FileRow>(
          `INSERT INTO files (id, platform_id, owner_id, sha256, size, content_type, filename, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
          [newId('file'), principal.platformId, principal.userId, stored.sha256, stored.size, upload.type, upload.filename, now],
        );
        return { status: 201, body: present(row!) };
      });
    },
  );

  const load = async (ctx: UseCaseCtx, id: string) => {
    const [f] = await ctx.tx.query<FileRow>('SELECT * FROM files WHERE platform_id = $1 AND id = $2', [ctx.principal.platformId, id]);
    if (!f || !(await canRead(ctx, f))) throw notFound('file');
    return f;
  };

  app.get('/files/:id', { schema: { tags, summary: 'File metadata', params: IdParams('file'), response: { 200: FileSchema } } }, (req, reply) =>
    runner.run(req, reply, async (ctx) => ({ status: 200, body: present(await load(ctx, req.params.id)) })),
  );

  app.get('/files/:id/content', {
      schema: {
        tags,
        summary: 'File bytes (served as an attachment)',
        params: IdParams('file'),
        // Bytes, not JSON: described for the document only (the route sends a Buffer, which is never serialized).
        response: { 200: { description: 'The file’s bytes, with its content type and an attachment Content-Disposition', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } },
      },
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    }, async (req, reply) => {
    try {
      const file = await runner.within(req, (ctx) => load(ctx, req.params.id));
      const bytes = await storage.get(file.sha256);
      return reply
        .code(200)
        .type(file.content_type)
        .header('content-disposition', attachment(file.filename))
        .send(bytes);
    } catch (err) {
      return sendProblem(reply, toProblem(err, req));
    }
  });
}
