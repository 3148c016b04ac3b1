import type { RingBuildSteps } from './build-steps';

/** The ring algorithms this package implements. */
export type RingAlgorithm = 'ketama' | 'ring_hash' | 'maglev' | 'rendezvous';

/** A ring member as given to a build. */
export interface RingMember {
  /** Stable identity, and the string that is hashed to place the member (an address or hash key). */
  readonly id: string;
  /** Relative weight: a finite number > 0. Defaults to 1. */
  readonly weight?: number;
}

/**
 * An immutable consistent-hash ring: the positions of a ring (ketama, ring_hash), the slots of
 * a lookup table (maglev) or the members themselves (rendezvous), each owned by one member.
 */
export interface HashRing {
  readonly algorithm: RingAlgorithm;
  /** The members, in build order; positions map to indexes into this array. */
  readonly members: readonly RingMember[];
  /** Number of positions (points, entries or table slots). */
  readonly size: number;
  /**
   * The position that owns a hash given as two uint32 halves (hi, lo).
   * 32-bit rings (ketama) use only `lo`.
   */
  locate(hi: number, lo: number): number;
  /** The position that owns a string key, hashed the way this algorithm hashes request keys. */
  locateKey(key: string): number;
  /**
   * Hashes a key as {@link locateKey} does, into `out[0]` (high 32 bits) and `out[1]` (low 32
   * bits); 32-bit key hashes (ketama, rendezvous) leave the high half 0.
   */
  keyHash(key: string, out: Uint32Array): void;
  /** The index into `members` of the member at `position`. */
  memberAt(position: number): number;
}

/** Ring-size options; each applies to one algorithm and is ignored by the others. */
export interface RingOptions {
  /** ketama: points per member of weight 1 (default 64). */
  readonly vnodes?: number;
  /** ring_hash: minimum ring size (default 1024). */
  readonly minRingSize?: number;
  /** ring_hash: maximum ring size (default 4096, at most 8,388,608). */
  readonly maxRingSize?: number;
  /** maglev: table size, a prime (default 65537). */
  readonly tableSize?: number;
}

/**
 * Builds rings of one algorithm with fixed options. A builder keeps per-member work
 * (digests, hashes) between builds, so a rebuild after a small membership change is cheap.
 */
export interface RingBuilder {
  readonly algorithm: RingAlgorithm;
  /** Builds a ring; throws a RangeError naming the problem for an empty, duplicate or badly weighted member list. */
  build(members: readonly RingMember[]): HashRing;
  /**
   * The same build as {@link build}, in slices ({@link RingBuildSteps}), for builders whose large
   * builds take long (ketama's first ring of 20,000 members: about 100 ms). Each step is short;
   * the caller runs the steps across event-loop turns and must run them to the end.
   */
  buildSteps?(members: readonly RingMember[]): RingBuildSteps<HashRing>;
}
