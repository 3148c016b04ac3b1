/** {@link KeyPositionCache.get}: the key was looked up and is not cached; `set` it once located. */
export const KEY_MISSED = -1;
/** {@link KeyPositionCache.get}: the lookup was skipped (sampling); do not `set` the key. */
export const KEY_NOT_LOOKED_UP = -2;

/** Lookups per hit-rate window. */
const WINDOW = 512;
/** While sampling, one pick in this many looks the key up. */
const SAMPLE_EVERY = 16;
/** Hysteresis: start sampling below 1/32 hits in a window; look up every key again from 1/8. */
const SAMPLE_BELOW = WINDOW / 32;
const LOOKUP_FROM = WINDOW / 8;

/**
 * A bounded cache from request key to ring position, one per ring. Real keys repeat (users,
 * sessions), so a hit skips hashing and the ring search. Memory stays bounded: at most
 * `capacity` keys of at most `maxKeyLength` characters; when full it is cleared.
 *
 * Keys that do not repeat: a failed lookup costs a Map probe and an insert (40–70 ns, a quarter
 * of such a pick), so when a window of 512 lookups hits less than 1 in 32 times, only about one
 * pick in 16 (jittered) looks its key up and admits it. Those samples keep measuring the hit rate
 * with a cache that stays filled, and from 1 in 8 every pick looks up again; the gap keeps a mix
 * of hot and cold keys from flapping (measured with 25 % of picks on 256 hot keys: 19.8 % hits,
 * against 20.1 % when every pick looks up).
 */
export class KeyPositionCache {
  private readonly positions = new Map<string, number>();
  private hits = 0;
  private misses = 0;
  private admitEvery = 1;
  private skipped = 0;
  private windowLookups = 0;
  private windowHits = 0;
  private sampleEvery = 1;
  private untilSample = 0;
  private jitter = 0x9e3779b9 | 0;

  constructor(
    readonly capacity = 4096,
    readonly maxKeyLength = 256,
  ) {}

  /** The cached position of `key`, or {@link KEY_MISSED}, or {@link KEY_NOT_LOOKED_UP}. */
  get(key: string): number {
    // A key too long to be cached is not looked up either: hashing it for the Map costs as much.
    if (key.length > this.maxKeyLength) return KEY_NOT_LOOKED_UP;
    if (this.sampleEvery > 1) {
      if (--this.untilSample > 0) return KEY_NOT_LOOKED_UP;
      this.untilSample = this.nextGap();
    }
    const position = this.positions.get(key);
    if (position === undefined) this.misses++;
    else {
      this.hits++;
      this.windowHits++;
    }
    if (++this.windowLookups === WINDOW) this.endWindow();
    return position ?? KEY_MISSED;
  }

  /** Caches the position of a key that `get` reported as {@link KEY_MISSED} (while keys miss, only some are admitted). */
  set(key: string, position: number): void {
    if (key.length > this.maxKeyLength || this.capacity === 0) return;
    // While sampling, lookups are already one in 16: admit each sampled miss, so hot keys return fast.
    if (this.sampleEvery === 1 && this.admitEvery > 1 && ++this.skipped < this.admitEvery) return;
    this.skipped = 0;
    if (this.positions.size >= this.capacity) {
      this.admitEvery = this.hits < this.misses ? Math.min(this.admitEvery * 2, 64) : 1;
      this.hits = 0;
      this.misses = 0;
      this.positions.clear();
    }
    this.positions.set(key, position);
  }

  /** Chooses, from the window that just ended, whether every pick looks its key up or one in 16. */
  private endWindow(): void {
    if (this.windowHits < SAMPLE_BELOW) this.sampleEvery = SAMPLE_EVERY;
    else if (this.windowHits >= LOOKUP_FROM) this.sampleEvery = 1;
    this.untilSample = this.nextGap();
    this.windowLookups = 0;
    this.windowHits = 0;
  }

  /** Picks until the next sampled lookup, 1..31: jittered, so that a periodic key pattern cannot alias with the samples. */
  private nextGap(): number {
    // xorshift32
    let x = this.jitter;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.jitter = x;
    return this.sampleEvery === 1 ? 1 : 1 + ((x >>> 0) % (2 * SAMPLE_EVERY - 1));
  }

  /** Keys cached now. */
  get size(): number {
    return this.positions.size;
  }
}
