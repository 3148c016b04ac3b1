/**
 * A token bucket: at most `burst` operations at once, refilled at `ratePerSecond`.
 * Registry watchers use it so a server that answers every long-poll at once degrades
 * into polling at `ratePerSecond` instead of a busy loop.
 */
export class TokenBucket {
  private tokens: number;
  private lastRefill: number;

  /**
   * @param ratePerSecond tokens added per second (> 0)
   * @param burst bucket capacity (>= 1); the bucket starts full
   * @param now clock in milliseconds, replaceable for tests
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`TokenBucket: ratePerSecond must be a finite number > 0, got ${ratePerSecond}`);
    }
    if (!(burst >= 1) || !Number.isFinite(burst)) {
      throw new RangeError(`TokenBucket: burst must be a finite number >= 1, got ${burst}`);
    }
    this.tokens = burst;
    this.lastRefill = now();
  }

  /**
   * Takes one token and returns how many milliseconds the caller must wait before acting
   * (0: act now). Reservations queue: the bucket may go into debt, so calls made while
   * waiting get successively later slots.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }

  /** Milliseconds until a token is available, without taking one. */
  delayUntilAvailable(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  /** Refills the bucket completely (e.g. on a restart). */
  reset(): void {
    this.tokens = this.burst;
    this.lastRefill = this.now();
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.lastRefill);
    this.lastRefill = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }
}
