/** Settings for {@link ExponentialBackoff}. */
export interface BackoffOptions {
  /** First delay in ms (> 0). Default 1000. */
  initialMs?: number;
  /** Cap on the delay in ms (>= initialMs). Default 30000. */
  maxMs?: number;
  /** Growth factor per failure (>= 1). Default 1.6, as gRPC's connection backoff. */
  multiplier?: number;
  /** Relative jitter in [0, 1]: each delay is spread uniformly over ±jitter. Default 0.2. */
  jitter?: number;
  /** Random source in [0, 1), replaceable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter, capped: the delays a watcher waits between failed
 * attempts. The jitter spreads many clients that failed together (an outage) apart.
 */
export class ExponentialBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private nextBaseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30_000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !Number.isFinite(this.initialMs)) {
      throw new RangeError(`backoff: initialMs must be a finite number > 0, got ${this.initialMs}`);
    }
    if (!(this.maxMs >= this.initialMs) || !Number.isFinite(this.maxMs)) {
      throw new RangeError(`backoff: maxMs must be finite and >= initialMs, got ${this.maxMs}`);
    }
    if (!(this.multiplier >= 1))
      throw new RangeError(`backoff: multiplier must be >= 1, got ${this.multiplier}`);
    if (!(this.jitter >= 0 && this.jitter <= 1)) {
      throw new RangeError(`backoff: jitter must be in [0, 1], got ${this.jitter}`);
    }
    this.nextBaseMs = this.initialMs;
  }

  /** The delay before the next attempt; each call grows the following one, up to the cap. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(this.maxMs, base * this.multiplier);
    const spread = base * this.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.min(this.maxMs, Math.round(base + spread)));
  }

  /** Back to the initial delay, after a success. */
  reset(): void {
    this.nextBaseMs = this.initialMs;
  }
}
