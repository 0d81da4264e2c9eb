import type { Invoice } from '../db/repos/hourly.ts';
import { formatMoney } from '../domain/money.ts';

export type InvoiceParty = { name: string; email: string };

const hours = (minutes: number) => `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')} h`;

/**
 * Renders an invoice of an hourly contract as a PDF (pdfkit, standard fonts: no font files to
 * ship): number, parties, period, one line per time entry, rate, billed hours, amount, and how
 * it was paid. Deterministic for one invoice state (the creation date is the invoice's own).
 */
export async function renderInvoicePdf(inv: Invoice & { lines: NonNullable<Invoice['lines']> }, p: { platform: string; contract: string; client: InvoiceParty; contractor: InvoiceParty }): Promise<Buffer> {
  // Loaded with the first invoice, not at start-up (pdfkit and its fonts: half a second).
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Invoice ${inv.number}`, Author: p.platform, CreationDate: new Date(inv.createdAt) } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const money = (n: number) => formatMoney(n, inv.currency);
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;

  doc.font('Helvetica-Bold').fontSize(20).text(`Invoice ${inv.number}`);
  doc.font('Helvetica').fontSize(10).fillColor('#555').text(`${p.platform} · ${p.contract}`).fillColor('black').moveDown();

  const y = doc.y;
  doc.font('Helvetica-Bold').text('From (contractor)', left, y).font('Helvetica').text(p.contractor.name).text(p.contractor.email);
  doc.font('Helvetica-Bold').text('To (client)', left + width / 2, y).font('Helvetica').text(p.client.name).text(p.client.email);
  doc.x = left;
  doc.moveDown();
  doc.text(`Period: ${inv.periodStart} – ${inv.periodEnd}`);
  doc.text(`Payment date: ${inv.dueDate}`);
  doc.text(`Status: ${inv.status.replace('_', ' ')}`);
  doc.moveDown();

  // Entries table: date, memo, logged, billed.
  const cols = [left, left + 80, left + width - 140, left + width - 70];
  const row = (cells: string[], bold = false) => {
    const top = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica');
    doc.text(cells[0]!, cols[0], top, { width: 75 });
    doc.text(cells[1]!, cols[1], top, { width: cols[2]! - cols[1]! - 10 });
    const bottom = doc.y;
    doc.text(cells[2]!, cols[2], top, { width: 65, align: 'right' });
    doc.text(cells[3]!, cols[3], top, { width: 70, align: 'right' });
    doc.x = left;
    doc.y = Math.max(bottom, doc.y) + 4;
  };
  row(['Date', 'Memo', 'Logged', 'Billed'], true);
  for (const l of inv.lines) row([l.date, l.memo || '—', hours(l.minutes), hours(l.billedMinutes)]);
  doc.moveTo(left, doc.y).lineTo(left + width, doc.y).stroke().moveDown(0.5);

  const total = (label: string, value: string, bold = false) => {
    const top = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').text(label, left, top, { width: width - 150 });
    doc.text(value, left + width - 150, top, { width: 150, align: 'right' });
    doc.x = left;
  };
  total('Hours logged', hours(inv.loggedMinutes));
  total(`Hours billed${inv.weeklyLimitHours !== null ? ` (weekly limit ${inv.weeklyLimitHours} h)` : ''}`, hours(inv.billedMinutes));
  total('Hourly rate', money(inv.hourlyRate));
  total('Amount', money(inv.amount), true);
  if (inv.amountDue !== inv.amount) total('Amount due after the dispute', money(inv.amountDue), true);
  doc.moveDown();

  doc.font('Helvetica-Bold').text('Payment');
  doc.font('Helvetica');
  if (inv.status === 'void') doc.text('This invoice is void: nothing is owed.');
  else {
    if (inv.paidFromEscrow > 0) doc.text(`Paid from escrowed milestone payments: ${money(inv.paidFromEscrow)}`);
    if (inv.charged > 0) doc.text(`Charged to the client's payment method: ${money(inv.charged)}${inv.clientFee > 0 ? ` (plus ${money(inv.clientFee)} platform fee)` : ''}`);
    if (inv.paidAt) doc.text(`Paid on ${inv.paidAt.slice(0, 10)}.`);
    else doc.text(`Balance due: ${money(inv.balanceDue)}${inv.pastDueReason ? ` — past due: ${inv.pastDueReason}` : ''}`);
  }
  doc.end();
  return done;
}
