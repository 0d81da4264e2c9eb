/** Time is passed in, never read from a global, so that timers and tests can control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that tests can move (TRANCHE_TEST_CLOCK=1). Once set it keeps running from the set
 * instant at real speed, so that ordering by time stays meaningful between two sets.
 */
export class AdjustableClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  set(at: Date): void {
    this.offsetMs = at.getTime() - Date.now();
  }
}
