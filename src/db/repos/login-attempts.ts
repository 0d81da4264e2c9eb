import type { Queryable } from '../client.ts';
import { AppError } from '../../domain/errors.ts';

export type LoginLimits = { perAccount: number; perAddress: number; windowSeconds: number };
export type LoginAttempt = { account: string; address: string; windowStart: Date };

/**
 * Counts a login attempt against its account and its client address before the password is
 * checked, in one statement, so that attempts in any process and at the same moment all count
 * (a check-then-insert would let a burst of parallel guesses through). Over either limit, the
 * attempt is taken back and refused with 429 and the seconds until the window ends. Windows
 * are fixed (`windowSeconds` long); rows of past windows are dropped now and then.
 */
export async function beginLoginAttempt(db: Queryable, who: { account: string; address: string }, now: Date, limits: LoginLimits): Promise<LoginAttempt> {
  const ms = limits.windowSeconds * 1000;
  const windowStart = new Date(Math.floor(now.getTime() / ms) * ms);
  const counts = await db.query<{ scope: 'account' | 'address'; attempts: number }>(
    `INSERT INTO login_attempts (scope, key, window_start, attempts) VALUES ('account', $1, $3, 1), ('address', $2, $3, 1)
     ON CONFLICT (scope, key, window_start) DO UPDATE SET attempts = login_attempts.attempts + 1
     RETURNING scope, attempts`,
    [who.account, who.address, windowStart],
  );
  const attempt = { ...who, windowStart };
  const over = counts.some((c) => c.attempts > (c.scope === 'account' ? limits.perAccount : limits.perAddress));
  if (over) {
    await takeBack(db, 'account', attempt.account, windowStart);
    await takeBack(db, 'address', attempt.address, windowStart);
    const retryAfter = Math.max(1, Math.ceil((windowStart.getTime() + ms - now.getTime()) / 1000));
    throw new AppError('rate_limited', 'too many failed logins for this account or from this address; try again later', { retryAfter });
  }
  if (Math.random() < 0.01) await db.query('DELETE FROM login_attempts WHERE window_start < $1', [new Date(windowStart.getTime() - ms)]);
  return attempt;
}

/** A login that succeeded does not count: the address gets its attempt back, and the account starts afresh. */
export async function loginSucceeded(db: Queryable, attempt: LoginAttempt): Promise<void> {
  await db.query("DELETE FROM login_attempts WHERE scope = 'account' AND key = $1", [attempt.account]);
  await takeBack(db, 'address', attempt.address, attempt.windowStart);
}

const takeBack = (db: Queryable, scope: 'account' | 'address', key: string, windowStart: Date) =>
  db.query('UPDATE login_attempts SET attempts = attempts - 1 WHERE scope = $1 AND key = $2 AND window_start = $3', [scope, key, windowStart]);
