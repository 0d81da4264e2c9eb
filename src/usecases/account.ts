import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { AppError, forbidden } from '../domain/errors.ts';
import { EVENT_KINDS, type EventKind } from '../notify/templates.ts';
import type { UseCaseCtx } from './context.ts';

const me = (ctx: UseCaseCtx) => {
  if (!ctx.principal.userId) throw forbidden('act for a user with the Acting-User header');
  return ctx.principal.userId;
};

/**
 * The user changes their password, proving the current one. Every other web session of theirs
 * ends (someone who knew the old password may be logged in); the session making the change,
 * named by `keepSessionHash`, stays. API tokens are credentials of their own and stay.
 */
export async function changePassword(ctx: UseCaseCtx, input: { currentPassword: string; newPassword: string; keepSessionHash: string | null }) {
  const userId = me(ctx);
  const [user] = await ctx.tx.query<{ password_hash: string | null }>('SELECT password_hash FROM users WHERE id = $1 FOR UPDATE', [userId]);
  const ok = user?.password_hash ? await argonVerify(user.password_hash, input.currentPassword).catch(() => false) : false;
  if (!ok) {
    throw new AppError('current_password_incorrect', user?.password_hash ? 'the current password is not correct' : 'this account has no password yet: the platform sets the first one', {}, [
      { field: 'currentPassword', message: 'is not your current password' },
    ]);
  }
  if (input.newPassword === input.currentPassword) {
    throw new AppError('validation_failed', 'the new password must differ from the current one', {}, [{ field: 'newPassword', message: 'must differ from the current password' }]);
  }
  await ctx.tx.query('UPDATE users SET password_hash = $2, version = version + 1, updated_at = $3 WHERE id = $1', [userId, await argonHash(input.newPassword), ctx.now]);
  const ended = await ctx.tx.query(
    'UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $3 RETURNING id',
    [userId, ctx.now, input.keepSessionHash],
  );
  return { otherSessionsEnded: ended.length };
}

export type EmailPreferences = Record<EventKind, boolean>;

/** Email on or off per kind of event (on unless turned off); in-app notifications are always written. */
export async function notificationPreferences(ctx: UseCaseCtx): Promise<EmailPreferences> {
  const rows = await ctx.tx.query<{ kind: string; email: boolean }>('SELECT kind, email FROM notification_preferences WHERE user_id = $1', [me(ctx)]);
  const off = new Map(rows.map((r) => [r.kind, r.email]));
  return Object.fromEntries(EVENT_KINDS.map((k) => [k, off.get(k) ?? true])) as EmailPreferences;
}

/** Sets email on or off for the kinds named; the others keep their setting. Answers the whole set. */
export async function setNotificationPreferences(ctx: UseCaseCtx, email: Partial<EmailPreferences>): Promise<EmailPreferences> {
  const userId = me(ctx);
  const kinds = Object.keys(email) as EventKind[];
  if (kinds.length) {
    await ctx.tx.query(
      `INSERT INTO notification_preferences (user_id, kind, email, updated_at)
       SELECT $1, k.kind, k.email, $4 FROM unnest($2::text[], $3::bool[]) AS k(kind, email)
       ON CONFLICT (user_id, kind) DO UPDATE SET email = EXCLUDED.email, updated_at = EXCLUDED.updated_at`,
      [userId, kinds, kinds.map((k) => email[k]!), ctx.now],
    );
  }
  return notificationPreferences(ctx);
}
