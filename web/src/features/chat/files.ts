import { ApiError, newKey } from '../../api.ts';

export type UploadedFile = { id: string; filename: string; contentType: string; size: number };

/** POST /v1/files (multipart, field `file`) with the session cookie; one Idempotency-Key per upload. */
export async function uploadFile(file: File): Promise<UploadedFile> {
  const form = new FormData();
  form.append('file', file, file.name);
  let res: Response;
  try {
    res = await fetch('/v1/files', { method: 'POST', body: form, credentials: 'same-origin', headers: { accept: 'application/json', 'idempotency-key': newKey() } });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const p = json as { code?: string; detail?: string; errors?: { field: string; message: string }[] };
    throw new ApiError(res.status, p.code ?? 'error', `${file.name}: ${p.detail ?? `upload failed (${res.status})`}`, p.errors ?? []);
  }
  return json as UploadedFile;
}
