import { IdOrder } from './id-order';
import { checkMembers } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';
import { uint64Mod } from './uint64';
import { xxh64String } from './xxhash64';

const hashOut = new Uint32Array(2);

/** A member's permutation parameters for one table size. */
interface Permutation {
  readonly offset: number;
  readonly skip: number;
}

/** offset = XXH64(id, seed 0) mod M; skip = XXH64(id, seed 1) mod (M - 1) + 1 (Envoy, the paper). */
export function maglevPermutation(id: string, tableSize: number): Permutation {
  xxh64String(id, 0, hashOut);
  const offset = uint64Mod(hashOut[0]!, hashOut[1]!, tableSize);
  xxh64String(id, 1, hashOut);
  const skip = uint64Mod(hashOut[0]!, hashOut[1]!, tableSize - 1) + 1;
  return { offset, skip };
}

/** Weight skew (largest / smallest) above which the fill uses a queue instead of scanning. */
const SKEW_FOR_QUEUE = 4;

/**
 * Free slots left when claims stop probing and pick from a list of the free slots instead. The
 * last slots cost about M / free probes each (about a quarter of the fill's time at 10,000
 * members); a pick costs one modular product per free slot.
 */
const FEW_FREE = 64;

/** 0, 1, …, n - 1 (a loop: `from` with a map function costs a call per element). */
function identity(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** a^-1 mod m for a prime m and 0 < a < m (extended Euclid). */
function inverseMod(a: number, m: number): number {
  let r0 = m;
  let r1 = a;
  let t0 = 0;
  let t1 = 1;
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    const r = r0 - q * r1;
    r0 = r1;
    r1 = r;
    const t = t0 - q * t1;
    t0 = t1;
    t1 = t;
  }
  return t0 < 0 ? t0 + m : t0;
}

/**
 * The free slot that probing from c by `skip` reaches first, removed from `free[0..left)`: slot s
 * is (s - c) × skip^-1 mod M probes away (M is prime).
 */
function takeNearestFree(free: Int32Array, left: number, c: number, inverseSkip: number, m: number): number {
  let best = m;
  let bestAt = 0;
  for (let k = 0; k < left; k++) {
    let d = free[k]! - c;
    if (d < 0) d += m;
    // d × inverse < 2^40 for M < 2^20: exact in a float64.
    const x = d * inverseSkip;
    const probes = x - Math.floor(x / m) * m;
    if (probes < best) {
      best = probes;
      bestAt = k;
    }
  }
  const slot = free[bestAt]!;
  free[bestAt] = free[left - 1]!;
  return slot;
}

/**
 * Envoy's weighted Maglev fill. Members (ranks) are visited in id order with their offsets and
 * skips; in iteration t a member of normalised weight w claims its next free preferred slot when
 * t × w >= its target, whose target then grows by the largest normalised weight. Equal weights
 * give the paper's fill. Slot s gets `owners[rank]` (default: the rank).
 */
export function fillMaglevTable(
  offsets: Int32Array,
  skips: Int32Array,
  weights: Float64Array,
  tableSize: number,
  owners: Uint32Array = identity(offsets.length),
): Uint32Array {
  const n = offsets.length;
  const m = tableSize;
  let sum = 0;
  for (const w of weights) sum += w;
  const normalized = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    normalized[i] = weights[i]! / sum;
    if (normalized[i]! > maxWeight) maxWeight = normalized[i]!;
  }
  let minWeight = maxWeight;
  for (let i = 0; i < n; i++) if (normalized[i]! < minWeight) minWeight = normalized[i]!;
  // Near-equal weights: nearly every member claims in every iteration; a plain scan is cheapest.
  // Skewed weights: a scan visits every member in every iteration, but light members claim in few
  // of them (M × max/mean visits: seconds for one heavy member among 10,000 light ones). The same
  // claims in the same order — by iteration, then by member — come from a queue of each member's
  // next claiming iteration: O(M log N).
  const queue = maxWeight > SKEW_FOR_QUEUE * minWeight;
  const due = queue ? new Float64Array(n).fill(1) : new Float64Array(0);
  const heap = queue ? Int32Array.from(identity(n)) : new Int32Array(0);

  const table = new Uint32Array(m);
  // One bit per slot, set when taken: 8 KiB for the default table, so probes stay in L1.
  const taken = new Int32Array((m + 31) >>> 5);
  // Each member's next preferred slot, (offset + skip × probes) mod M, advanced by skip per probe.
  // Int32 (M < 2^20) keeps the probe loop in int32 arithmetic: ~10% faster than uint32.
  const position = Int32Array.from(offsets);
  const target = new Float64Array(n);
  // Once few slots are free: the free slots, and skip^-1 mod M per member (0: not computed yet).
  let free: Int32Array | undefined;
  let inverse = new Float64Array(0);
  let i = -1;
  let iteration = 1;
  for (let filled = 0; filled < m; filled++) {
    if (queue) {
      i = heap[0]!;
      iteration = due[i]!;
    } else {
      // The next member (by iteration, then rank) with t × w >= its target.
      do {
        if (++i === n) {
          i = 0;
          iteration++;
        }
      } while (iteration * normalized[i]! < target[i]!);
    }
    target[i]! += maxWeight;

    const skip = skips[i]!;
    let c = position[i]!;
    if (free === undefined) {
      while ((taken[c >> 5]! & (1 << (c & 31))) !== 0) {
        c = (c + skip) | 0;
        if (c >= m) c = (c - m) | 0;
      }
      taken[c >> 5]! |= 1 << (c & 31);
      if (m - filled - 1 === FEW_FREE) {
        free = new Int32Array(FEW_FREE);
        let f = 0;
        for (let s = 0; s < m; s++) if ((taken[s >>> 5]! & (1 << (s & 31))) === 0) free[f++] = s;
        inverse = new Float64Array(n);
      }
    } else {
      let inv = inverse[i]!;
      if (inv === 0) {
        inv = inverseMod(skip, m);
        inverse[i] = inv;
      }
      c = takeNearestFree(free, m - filled, c, inv, m);
    }
    table[c] = owners[i]!;
    c = (c + skip) | 0;
    position[i] = c >= m ? c - m : c;

    if (queue) {
      // The first later iteration t with t × w >= target, exactly as the scan's test decides it.
      const w = normalized[i]!;
      let t = Math.ceil(target[i]! / w);
      if (!(t <= 2 * m + 2)) {
        // The heaviest member claims in (nearly) every iteration, so the table is full by about
        // iteration M: this member (a tiny weight, or 0 after underflow) claims nothing more.
        t = Number.POSITIVE_INFINITY;
      } else {
        t = Math.max(iteration + 1, t);
        while (t - 1 > iteration && (t - 1) * w >= target[i]!) t--;
        while (t * w < target[i]!) t++;
      }
      due[i] = t;
      siftDown(heap, due, n);
    }
  }
  return table;
}

/** Moves the heap's root down to its place; the heap orders members by (due iteration, rank). */
function siftDown(heap: Int32Array, due: Float64Array, n: number): void {
  let at = 0;
  const item = heap[0]!;
  const itemDue = due[item]!;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= n) break;
    let c = heap[child]!;
    if (child + 1 < n) {
      const d = heap[child + 1]!;
      if (due[d]! < due[c]! || (due[d] === due[c] && d < c)) {
        child++;
        c = d;
      }
    }
    if (!(due[c]! < itemDue || (due[c] === itemDue && c < item))) break;
    heap[at] = c;
    at = child;
  }
  heap[at] = item;
}

/** A built Maglev lookup table: slot i is owned by member `owners[i]`; a position is a slot. */
export class MaglevTable implements HashRing {
  readonly algorithm = 'maglev' as const;
  readonly size: number;
  private readonly out = new Uint32Array(2);
  /** 2^32 mod M, so that (hi:lo) mod M = ((hi mod M) × this + lo) mod M, exact below 2^53. */
  private readonly twoPow32Mod: number;

  constructor(
    readonly members: readonly RingMember[],
    readonly owners: Uint32Array,
  ) {
    this.size = owners.length;
    this.twoPow32Mod = 4294967296 % owners.length;
  }

  /** The slot (hi:lo) mod M. */
  locate(hi: number, lo: number): number {
    const m = this.size;
    // M <= 2^23 keeps x below 2^47. One float division instead of uint64Mod's three `%`
    // (33 → 20 ns measured); the quotient's rounding is off by at most one, corrected below.
    const x = ((hi >>> 0) % m) * this.twoPow32Mod + (lo >>> 0);
    const r = x - Math.floor(x / m) * m;
    return r < 0 ? r + m : r >= m ? r - m : r;
  }

  locateKey(key: string): number {
    const out = this.out;
    xxh64String(key, 0, out);
    return this.locate(out[0]!, out[1]!);
  }

  keyHash(key: string, out: Uint32Array): void {
    xxh64String(key, 0, out);
  }

  memberAt(position: number): number {
    return this.owners[position]!;
  }
}

/**
 * Builds Maglev tables, caching each member's offset/skip in a record per id kept between builds.
 * Members are filled in id order (Envoy sorts by key).
 */
export class MaglevTableBuilder implements RingBuilder {
  readonly algorithm = 'maglev' as const;
  private readonly idOrder = new IdOrder<Permutation>();
  /** The last build's offsets and skips by rank: kept members' are copied, not looked up. */
  private lastOffsets = new Int32Array(0);
  private lastSkips = new Int32Array(0);

  constructor(private readonly tableSize: number) {}

  /** The current members' records by id (their permutations). */
  get cache(): ReadonlyMap<string, unknown> {
    return this.idOrder.cache;
  }

  build(members: readonly RingMember[]): MaglevTable {
    // Duplicate ids are rejected by the id order.
    const memberWeights = checkMembers(members, false);
    const snapshot = members.slice();
    const byId = this.idOrder.order(snapshot);
    const previousRanks = this.idOrder.previousRanks;
    const records = this.idOrder.sortedRecords;
    const n = byId.length;
    const offsets = new Int32Array(n);
    const skips = new Int32Array(n);
    const weights = new Float64Array(n);
    const lastOffsets = this.lastOffsets;
    const lastSkips = this.lastSkips;
    for (let r = 0; r < n; r++) {
      const last = previousRanks[r]!;
      if (last >= 0) {
        offsets[r] = lastOffsets[last]!;
        skips[r] = lastSkips[last]!;
      } else {
        const record = records[r]!;
        let p = record.data;
        if (p === undefined) {
          p = maglevPermutation(record.id, this.tableSize);
          record.data = p;
        }
        offsets[r] = p.offset;
        skips[r] = p.skip;
      }
      weights[r] = memberWeights[byId[r]!]!;
    }
    this.lastOffsets = offsets;
    this.lastSkips = skips;
    // The fill visits members by rank in id order; slots name them in the caller's order.
    return new MaglevTable(snapshot, fillMaglevTable(offsets, skips, weights, this.tableSize, byId));
  }
}
