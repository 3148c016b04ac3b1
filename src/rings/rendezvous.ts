import { crc32String } from './crc32';
import { IdOrder } from './id-order';
import { createRendezvousKernel, type RendezvousKernel } from './rendezvous-kernel';
import { checkMembers } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';
import { xxh64String } from './xxhash64';

/** 2^-52: a 52-bit draw v becomes u = (v + 0.5) × 2^-52, exactly, in (0, 1). */
const TWO_POW_MINUS_52 = 2 ** -52;

/**
 * The weighted score of a draw: −w / ln(u) with u = (v + 0.5) / 2^52 (the logarithmic method:
 * with u uniform, each member wins with probability exactly w / W).
 */
export function rendezvousScore(weight: number, draw: number): number {
  return -weight / Math.log((draw + 0.5) * TWO_POW_MINUS_52);
}

/**
 * Whether member a (score sa, draw da) ranks before member b: the higher score, then the higher
 * draw, then the lower rank (rank = position in hash-key order, UTF-8 bytes).
 */
function ranksBefore(sa: number, da: number, a: number, sb: number, db: number, b: number): boolean {
  return sa > sb || (sa === sb && (da > db || (da === db && a < b)));
}

/**
 * A rendezvous (highest random weight) placement over a fixed member list. A position is a
 * member's rank in hash-key order; {@link memberAt} maps it to the caller's member index.
 *
 * The function, exactly (docs/rings.md has the spec):
 * - key hash k = CRC-32 (IEEE) of the key's UTF-8 bytes;
 * - member seed s = XXH64(UTF-8 hash key, seed 0);
 * - draw v = fmix64(s XOR k) >>> 12 (MurmurHash3's 64-bit finalizer; 52 bits);
 * - equal weights: the highest draw wins; otherwise the highest −w / ln((v + 0.5) / 2^52);
 * - ties: the higher draw, then the hash key first in UTF-8 byte order.
 * With equal weights the score is a non-decreasing function of the draw, so ranking by
 * (score, draw, rank) and by (draw, rank) agree: the fast path skips the logarithm and places
 * every key exactly as the weighted formula would.
 */
export class RendezvousRing implements HashRing {
  readonly algorithm = 'rendezvous' as const;
  readonly size: number;
  /** True when all weights are equal: placement compares draws and never takes a logarithm. */
  readonly equalWeights: boolean;
  private readonly kernel: RendezvousKernel;
  /** Weighted scores of the last {@link scoresFor} key, by rank. */
  private readonly scores: Float64Array;

  constructor(
    readonly members: readonly RingMember[],
    /** Caller's member index of each rank. */
    readonly byRank: Uint32Array,
    /** Weights by rank. */
    readonly weights: Float64Array,
    /** Member seeds XXH64(hash key), high and low halves, by rank. */
    readonly seedHi: Int32Array,
    readonly seedLo: Int32Array,
    useJavaScriptKernel = false,
  ) {
    this.size = byRank.length;
    let equal = true;
    for (let r = 1; r < weights.length; r++) if (weights[r] !== weights[0]) equal = false;
    this.equalWeights = equal;
    this.kernel = createRendezvousKernel(seedHi, seedLo, useJavaScriptKernel);
    this.scores = equal ? this.kernel.draws : new Float64Array(byRank.length);
  }

  /** The rank of the winning member for key hash `lo` (CRC-32); `hi` is ignored: key hashes are 32-bit. */
  locate(_hi: number, lo: number): number {
    if (this.equalWeights) return this.kernel.best(lo);
    const kernel = this.kernel;
    kernel.fill(lo);
    const draws = kernel.draws;
    const weights = this.weights;
    const n = draws.length;
    // A logarithm costs 20–50 ns, so only a member that may beat the best so far takes one. As
    // −ln u ≥ 1 − u, a score is at most w / (1 − u): a member with w < best × (1 − u) cannot win.
    // The 2e-9 margin dwarfs the rounding of that test (~1e-16), so the winner is exactly the one
    // the full formula picks; about ln N members take a logarithm.
    let best = -1;
    let bestScore = 0;
    let cut = 0;
    for (let r = 0; r < n; r++) {
      const u = (draws[r]! + 0.5) * TWO_POW_MINUS_52;
      if (weights[r]! < cut * (1 - u)) continue;
      const score = rendezvousScore(weights[r]!, draws[r]!);
      if (best < 0 || ranksBefore(score, draws[r]!, r, bestScore, draws[best]!, best)) {
        best = r;
        bestScore = score;
        cut = score * (1 - 2e-9);
      }
    }
    return best;
  }

  locateKey(key: string): number {
    return this.locate(0, crc32String(key));
  }

  keyHash(key: string, out: Uint32Array): void {
    out[0] = 0;
    out[1] = crc32String(key);
  }

  memberAt(position: number): number {
    return this.byRank[position]!;
  }

  /**
   * Computes every member's draw and score for key hash `k`; returns the draws (scores are in
   * {@link currentScores}). Both arrays are reused by the next call.
   */
  scoresFor(k: number): Float64Array {
    const kernel = this.kernel;
    kernel.fill(k);
    const draws = kernel.draws;
    if (!this.equalWeights) {
      const scores = this.scores;
      const weights = this.weights;
      for (let r = 0; r < draws.length; r++) scores[r] = rendezvousScore(weights[r]!, draws[r]!);
    }
    return draws;
  }

  /** The scores written by the last {@link scoresFor} (the draws themselves when weights are equal). */
  get currentScores(): Float64Array {
    return this.scores;
  }
}

const seedOut = new Uint32Array(2);

/** Builds rendezvous placements, caching each member's seed between builds. */
export class RendezvousRingBuilder implements RingBuilder {
  readonly algorithm = 'rendezvous' as const;
  private cache = new Map<string, readonly [number, number]>();
  private readonly idOrder = new IdOrder();

  /** @param useJavaScriptKernel use the JavaScript loop even where WebAssembly is available (tests). */
  constructor(private readonly useJavaScriptKernel = false) {}

  build(members: readonly RingMember[]): RendezvousRing {
    const memberWeights = checkMembers(members);
    const snapshot = members.slice();
    const byId = this.idOrder.order(snapshot);
    const n = byId.length;
    const byRank = new Uint32Array(n);
    const weights = new Float64Array(n);
    const seedHi = new Int32Array(n);
    const seedLo = new Int32Array(n);
    const nextCache = new Map<string, readonly [number, number]>();
    for (let r = 0; r < n; r++) {
      const i = byId[r]!;
      const id = snapshot[i]!.id;
      let seed = this.cache.get(id);
      if (seed === undefined) {
        xxh64String(id, 0, seedOut);
        seed = [seedOut[0]! | 0, seedOut[1]! | 0];
      }
      nextCache.set(id, seed);
      byRank[r] = i;
      weights[r] = memberWeights[i]!;
      seedHi[r] = seed[0];
      seedLo[r] = seed[1];
    }
    this.cache = nextCache;
    return new RendezvousRing(snapshot, byRank, weights, seedHi, seedLo, this.useJavaScriptKernel);
  }
}
