import type { FastifyReply, FastifyRequest } from 'fastify';
import { create as contentDisposition } from 'content-disposition';

/**
 * CSV exports of list routes: `?format=csv` (or `Accept: text/csv`) answers RFC 4180 CSV with
 * a header row; amounts stay integers in minor units as in JSON. A cell that a spreadsheet
 * would run as a formula (=, +, -, @, tab, CR first) is prefixed with an apostrophe (OWASP).
 */
export const wantsCsv = (req: FastifyRequest, format: string | undefined) =>
  format === 'csv' || (format === undefined && /\btext\/csv\b/.test(String(req.headers.accept ?? '')));

function cell(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(columns: [header: string, get: (row: T) => unknown][], rows: T[]): string {
  return [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, get]) => get(r)))].map((line) => line.map(cell).join(',')).join('\r\n') + '\r\n';
}

export function sendCsv(reply: FastifyReply, filename: string, body: string) {
  return reply.code(200).type('text/csv; charset=utf-8').header('content-disposition', contentDisposition(filename)).send(body);
}
