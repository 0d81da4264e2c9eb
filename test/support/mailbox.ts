import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { parseMailHeaders } from './negotiation-helpers.ts';

export type Mail = { from: string; to: string[]; raw: string; headers: Record<string, string> };

/**
 * A real SMTP server on a free port of 127.0.0.1 that keeps every message it receives: what
 * the product's email outbox sends in tests. `url` goes into SMTP_URL.
 */
export async function startMailbox(): Promise<{ url: string; mails: Mail[]; close: () => Promise<void> }> {
  const mails: Mail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, headers: parseMailHeaders(raw) });
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as AddressInfo).port)));
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => smtp.close(() => r())) };
}
