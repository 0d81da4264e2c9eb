import type { Transporter } from 'nodemailer';
import type { Queryable } from '../db/client.ts';

export type Mailer = { send(msg: { to: string; subject: string; text: string }): Promise<void>; readonly configured: boolean };

/** SMTP when SMTP_URL is set; otherwise emails are recorded as skipped (in-app notifications still work). */
export function createMailer(smtpUrl: string | undefined, from: string): Mailer {
  if (!smtpUrl) return { configured: false, send: async () => undefined };
  // nodemailer is loaded with the first email, not at start-up (a quarter of a second).
  let transport: Promise<Transporter> | null = null;
  return {
    configured: true,
    send: async (m) => {
      transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl));
      await (await transport).sendMail({ from, to: m.to, subject: m.subject, text: m.text });
    },
  };
}

/**
 * Delivers one `email` job: a notification (`notificationId`), a message composed by a use
 * case for one user (`userId`, `subject`, `text`: the conversation's digest), or for an
 * address (`to`, `subject`, `text`: an invitation).
 */
export async function sendEmailJob(db: Queryable, mailer: Mailer, payload: Record<string, unknown>): Promise<'sent' | 'skipped'> {
  if (typeof payload.notificationId === 'string') return sendNotificationEmail(db, mailer, payload.notificationId);
  if (!mailer.configured) return 'skipped';
  // An address that may not be a user yet (an organisation's invitation).
  if (typeof payload.to === 'string') {
    await mailer.send({ to: payload.to, subject: String(payload.subject), text: `Hello,\n\n${String(payload.text)}\n\n— Tranche` });
    return 'sent';
  }
  const [u] = await db.query<{ email: string; name: string }>('SELECT email, name FROM users WHERE id = $1', [String(payload.userId)]);
  if (!u) return 'skipped';
  await mailer.send({ to: u.email, subject: String(payload.subject), text: `Hello ${u.name},\n\n${String(payload.text)}\n\n— Tranche` });
  return 'sent';
}

/** Delivers one notification by email. */
export async function sendNotificationEmail(db: Queryable, mailer: Mailer, notificationId: string): Promise<'sent' | 'skipped'> {
  if (!mailer.configured) return 'skipped';
  const [n] = await db.query<{ email: string; name: string; title: string; body: string }>(
    'SELECT u.email, u.name, n.title, n.body FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1',
    [notificationId],
  );
  if (!n) return 'skipped';
  await mailer.send({ to: n.email, subject: n.title, text: `Hello ${n.name},\n\n${n.body}\n\n— Tranche` });
  return 'sent';
}
