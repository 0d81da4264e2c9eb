import { expect } from 'vitest';
import type { Client, TestServer } from './harness.ts';

/**
 * The test server's clock (TRANCHE_TEST_CLOCK=1). The server runs in this process and keeps
 * running from a set instant at real speed, so tracking the offset here mirrors it exactly.
 */
const offsets = new WeakMap<TestServer, number>();

export function serverNow(s: TestServer): Date {
  return new Date(Date.now() + (offsets.get(s) ?? 0));
}

export async function setClock(s: TestServer, at: Date): Promise<Date> {
  const r = await s.admin.put('/v1/admin/clock', { now: at.toISOString() });
  if (r.status !== 200) throw new Error(`set clock: ${r.status} ${JSON.stringify(r.body)}`);
  offsets.set(s, at.getTime() - Date.now());
  return at;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Runs every job due at the server's clock; returns {ran, failed}. */
export async function runJobs(s: TestServer): Promise<{ ran: number; failed: number }> {
  const r = await s.admin.post('/v1/admin/jobs/run', {});
  if (r.status !== 200) throw new Error(`run jobs: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Journal entries written for one milestone (every money movement is one entry). */
export async function journalEntries(s: TestServer, milestoneId: string): Promise<{ kind: string; reference: string }[]> {
  return s.db.query<{ kind: string; reference: string }>('SELECT kind, reference FROM journal_entries WHERE milestone_id = $1 ORDER BY seq', [milestoneId]);
}

/** The activity kinds of a contract, oldest first. */
export async function activityKinds(api: Client, contractId: string): Promise<string[]> {
  const r = await api.get(`/v1/contracts/${contractId}/activity?limit=100`);
  if (r.status !== 200) throw new Error(`activity: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body.data as { kind: string }[]).map((a) => a.kind).reverse();
}

/** A user's in-app notifications of one kind on one contract (optionally about one milestone). */
export async function notificationsOf(api: Client, kind: string, contractId: string, milestoneId?: string) {
  const r = await api.get('/v1/notifications?limit=100');
  if (r.status !== 200) throw new Error(`notifications: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body.data as { kind: string; contractId: string; title: string; body: string; data: Record<string, unknown> }[]).filter(
    (n) => n.kind === kind && n.contractId === contractId && (milestoneId === undefined || n.data.milestoneId === milestoneId),
  );
}

/** The contract's milestones as [id, status, position] in the API's order. */
export async function milestoneList(api: Client, contractId: string) {
  const r = await api.get(`/v1/contracts/${contractId}/milestones`);
  if (r.status !== 200) throw new Error(`milestones: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.data as { id: string; title: string; amount: number; dueDate: string; description: string | null; status: string; position: number; version: number; inEscrow: number }[];
}

/** Expects an RFC 9457 problem with the given status and code. */
export function expectProblem(r: { status: number; body: any }, status: number, code: string) {
  expect({ status: r.status, code: r.body?.code }, JSON.stringify(r.body)).toEqual({ status, code });
}

/** A 1×1 PNG, valid (signature, IHDR, IDAT, IEND with correct CRCs). */
export function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  // zlib stream of one scanline: filter byte 0 + one pixel 0 (stored block).
  const idat = Buffer.from([0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** A minimal one-page PDF. */
export function tinyPdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    'latin1',
  );
}

/** The first bytes of an ELF executable (x86-64), padded. */
export function elfBinary(): Buffer {
  const b = Buffer.alloc(256);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]).copy(b, 0);
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(0x3e, 18); // x86-64
  return b;
}

/** Multipart upload with fetch, FormData and the user's Bearer token. */
export async function upload(s: TestServer, token: string | null, bytes: Buffer, filename: string, type = 'application/octet-stream') {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), filename);
  const res = await fetch(`${s.url}/v1/files`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: form });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** Decodes RFC 2047 encoded-words (=?UTF-8?B?...?= / =?UTF-8?Q?...?=) in a header value. */
export function decodeHeader(value: string): string {
  const joined = value.replace(/\?=\s+=\?/g, '?==?');
  const parts: Buffer[] = [];
  const re = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  let last = 0;
  for (let m = re.exec(joined); m; m = re.exec(joined)) {
    parts.push(Buffer.from(joined.slice(last, m.index), 'utf8'));
    const [, , enc, text] = m as unknown as [string, string, string, string];
    if (enc.toUpperCase() === 'B') parts.push(Buffer.from(text, 'base64'));
    else {
      const bytes: number[] = [];
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === '_') bytes.push(0x20);
        else if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
          bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(ch.charCodeAt(0));
      }
      parts.push(Buffer.from(bytes));
    }
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(joined.slice(last), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

/** The headers of a raw RFC 5322 message, unfolded and decoded, by lower-case name. */
export function parseMailHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = decodeHeader(line.slice(i + 1).trim());
  }
  return out;
}
