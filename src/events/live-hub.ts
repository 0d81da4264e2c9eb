import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';

/** The channel the live_events trigger notifies on commit, with the users concerned (or `*`). */
export const LIVE_CHANNEL = 'tranche_live';

export type Subscriber = { userId: string; wake(): void; close(): void };

/**
 * This process's open streams, per user, woken by the database's notifications. One listening
 * connection per process, opened with the first stream; after it reconnects every stream is
 * woken, since notifications may have been missed meanwhile (streams re-read the log, so a
 * wake-up too many costs a query, one too few would cost latency until the next heartbeat).
 */
export class LiveHub {
  private readonly subs = new Map<string, Set<Subscriber>>();
  private listening: Promise<() => Promise<void>> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    readonly maxPerUser: number,
  ) {}

  /** Adds a stream once the process listens; false when the user already has `maxPerUser` here. */
  async subscribe(sub: Subscriber): Promise<boolean> {
    if (this.closed) return false;
    const mine = this.subs.get(sub.userId) ?? new Set();
    if (mine.size >= this.maxPerUser) return false;
    mine.add(sub);
    this.subs.set(sub.userId, mine);
    try {
      await (this.listening ??= this.db.listen(LIVE_CHANNEL, (payload) => this.wake(payload), () => this.wakeAll()));
    } catch (err) {
      this.listening = null;
      this.unsubscribe(sub);
      throw err;
    }
    return true;
  }

  unsubscribe(sub: Subscriber): void {
    const mine = this.subs.get(sub.userId);
    mine?.delete(sub);
    if (mine?.size === 0) this.subs.delete(sub.userId);
  }

  count(userId: string): number {
    return this.subs.get(userId)?.size ?? 0;
  }

  private wake(payload: string): void {
    if (payload === '*') return this.wakeAll();
    for (const userId of payload.split(',')) for (const s of this.subs.get(userId) ?? []) s.wake();
  }

  private wakeAll(): void {
    for (const set of this.subs.values()) for (const s of set) s.wake();
  }

  /** Ends every stream (the server is stopping) and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const set of [...this.subs.values()]) for (const s of [...set]) s.close();
    this.subs.clear();
    const stop = await this.listening?.catch(() => null);
    await stop?.();
    this.log.debug('live hub closed');
  }
}
