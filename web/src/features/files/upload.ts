import { ApiError, newKey } from '../../api.ts';

export type UploadedFile = { id: string; filename: string; contentType: string; size: number };

/**
 * The server's limits (src/http/app.ts FILE_LIMIT, src/http/routes/files.ts ALLOWED_TYPES): one
 * file of at most 10 MiB, a PDF, an image (PNG, JPEG, GIF, WebP), a ZIP or plain text. The server
 * checks the content; the app checks the name and declared type first so that nobody waits for
 * an upload that will be refused.
 */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
const TYPES: Record<string, string[]> = {
  'application/pdf': ['pdf'],
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'application/zip': ['zip'],
  'text/plain': ['txt', 'text', 'md', 'csv', 'log'],
};
const EXTENSIONS = new Set(Object.values(TYPES).flat());
/** For the file picker's `accept`. */
export const ACCEPT = [...Object.keys(TYPES), ...[...EXTENSIONS].map((e) => `.${e}`)].join(',');
export const ALLOWED_WORDS = 'PDF, PNG, JPEG, GIF, WebP, ZIP or plain text, up to 10 MB';

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Why this file would be refused, in people's words, or null when it may be sent. */
export function fileProblem(file: File): string | null {
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_FILE_BYTES) return `${file.name} is ${formatSize(file.size)}; files can be at most 10 MB.`;
  const ext = /\.([^.]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? '';
  const typeOk = file.type !== '' && file.type in TYPES;
  if (!EXTENSIONS.has(ext) && !typeOk) return `${file.name} is not a file type Tranche accepts (${ALLOWED_WORDS}).`;
  return null;
}

const problemText = (file: File, status: number, body: { code?: string; detail?: string }) =>
  body.code === 'unsupported_media_type'
    ? `${file.name}: its content is not a file type Tranche accepts (${ALLOWED_WORDS}).`
    : body.code === 'upload_quota_exceeded'
      ? `${file.name}: you have uploaded as much as allowed for today; try again tomorrow.`
      : status === 413
        ? `${file.name} is too large; files can be at most 10 MB.`
        : `${file.name} could not be uploaded${body.detail ? `: ${body.detail}` : '.'}`;

/**
 * POST /v1/files (multipart, field `file`) with the session cookie and one Idempotency-Key per
 * upload. XMLHttpRequest rather than fetch: it reports upload progress.
 */
export function uploadFile(file: File, onProgress?: (fraction: number) => void): Promise<UploadedFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/files');
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('idempotency-key', newKey());
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.'));
    xhr.onload = () => {
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(xhr.responseText) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(1);
        resolve(json as UploadedFile);
      } else {
        const p = json as { code?: string; detail?: string };
        reject(new ApiError(xhr.status, p.code ?? 'error', problemText(file, xhr.status, p)));
      }
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

export const fileUrl = (id: string) => `/v1/files/${encodeURIComponent(id)}/content`;
