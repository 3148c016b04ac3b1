import { type BucketIndex, buildBucketIndex } from './bucket-index';
import { IdOrder } from './id-order';
import { checkMembers } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';
import { xxh64String } from './xxhash64';

const hashOut = new Uint32Array(2);

/**
 * Number of ring entries per member, following grpc-go `newRing`: weights normalised to w/sum,
 * `scale = min(ceil(minW × minRingSize) / minW, maxRingSize)`, and for each member in order
 * `target += scale × w; while (current < target) add an entry`.
 */
export function ringHashEntryCounts(
  weights: Float64Array,
  minRingSize: number,
  maxRingSize: number,
): Uint32Array {
  let sum = 0;
  for (const w of weights) sum += w;
  // Weights near the float64 limit overflow the sum: normalise relative to the largest instead.
  let divisor = 1;
  if (!Number.isFinite(sum)) {
    // A loop, not Math.max(...weights): spreading a long list overflows the call stack.
    divisor = 0;
    for (const w of weights) if (w > divisor) divisor = w;
    sum = 0;
    for (const w of weights) sum += w / divisor;
  }
  let minWeight = 1;
  const normalized = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    normalized[i] = weights[i]! / divisor / sum;
    minWeight = Math.min(minWeight, normalized[i]!);
  }
  // A normalised weight that underflows to 0 would make the scale NaN and the ring empty.
  const wanted = Math.ceil(minWeight * minRingSize) / minWeight;
  const scale = Number.isFinite(wanted) ? Math.min(wanted, maxRingSize) : maxRingSize;
  const counts = new Uint32Array(weights.length);
  let current = 0;
  let target = 0;
  for (let i = 0; i < weights.length; i++) {
    target += scale * normalized[i]!;
    let c = 0;
    while (current < target) {
      current++;
      c++;
    }
    counts[i] = c;
  }
  return counts;
}

/** Entries per bucket above which {@link sortEntries} sorts a bucket with a comparator, not by insertion. */
const BUCKET_INSERTION_LIMIT = 32;

/**
 * Entry indexes sorted by (hash, rank). Entry hashes are uniform, so a counting pass over the top
 * bits of the high half (about one entry per bucket, at most 2^20 buckets) and an insertion sort
 * of each bucket order them in O(n): a quarter of a native sort's time at 4096 entries. A bucket
 * holding more than a few entries (equal or crafted hashes) is sorted with a comparator.
 */
export function sortEntries(hi: Uint32Array, lo: Uint32Array, rank: Uint32Array): Uint32Array {
  const total = hi.length;
  const order = new Uint32Array(total);
  if (total === 0) return order;
  const bits = Math.min(20, 32 - Math.clz32(total - 1)) || 1;
  const shift = 32 - bits;
  // starts[b] = the first place of bucket b once the counts are summed.
  const starts = new Uint32Array((1 << bits) + 1);
  for (let i = 0; i < total; i++) starts[(hi[i]! >>> shift) + 1]!++;
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  const next = starts.slice(0, starts.length - 1);
  for (let i = 0; i < total; i++) order[next[hi[i]! >>> shift]!++] = i;
  for (let b = 0; b + 1 < starts.length; b++) {
    const from = starts[b]!;
    const to = starts[b + 1]!;
    if (to - from < 2) continue;
    if (to - from > BUCKET_INSERTION_LIMIT) {
      order.subarray(from, to).sort((x, y) => hi[x]! - hi[y]! || lo[x]! - lo[y]! || rank[x]! - rank[y]!);
      continue;
    }
    for (let k = from + 1; k < to; k++) {
      const v = order[k]!;
      const h = hi[v]!;
      const l = lo[v]!;
      const r = rank[v]!;
      let j = k;
      for (; j > from; j--) {
        const u = order[j - 1]!;
        const uh = hi[u]!;
        if (uh < h || (uh === h && (lo[u]! < l || (lo[u] === l && rank[u]! <= r)))) break;
        order[j] = u;
      }
      order[j] = v;
    }
  }
  return order;
}

/** A built gRPC ring_hash ring: entries sorted by 64-bit hash (hi, lo halves) and their owners. */
export class RingHashRing implements HashRing {
  readonly algorithm = 'ring_hash' as const;
  readonly size: number;
  private readonly out = new Uint32Array(2);
  /** Buckets by the top bits of the high half. */
  private readonly index: BucketIndex;

  constructor(
    readonly members: readonly RingMember[],
    readonly hashHi: Uint32Array,
    readonly hashLo: Uint32Array,
    readonly owners: Uint32Array,
  ) {
    this.size = owners.length;
    this.index = buildBucketIndex(hashHi);
  }

  /** First entry whose hash >= (hi, lo), wrapping to 0. */
  locate(hi: number, lo: number): number {
    const hs = this.hashHi;
    const ls = this.hashLo;
    const h = hi >>> 0;
    const l = lo >>> 0;
    const { starts, shift } = this.index;
    const bucket = h >>> shift;
    // Entries before the bucket have a smaller high half; those after it, a larger one.
    let low = starts[bucket]!;
    let high = starts[bucket + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const mh = hs[mid]!;
      if (mh < h || (mh === h && ls[mid]! < l)) low = mid + 1;
      else high = mid;
    }
    return low === hs.length ? 0 : low;
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
 * Builds gRPC ring_hash rings. Members are sorted by id (the hash key) first, as grpc-go does,
 * so the ring does not depend on resolver order. Each hash key's entry hashes are cached in a
 * record per id kept between builds.
 */
export class RingHashRingBuilder implements RingBuilder {
  readonly algorithm = 'ring_hash' as const;
  /** Per id: its entry hashes XXH64("<id>_<i>") as hi, lo pairs, computed as far as needed. */
  private readonly idOrder = new IdOrder<number[]>();
  /**
   * The last build's first entry hash by rank (`lastHave` 1 when known): past ~4096 members most
   * have one entry or none, and a kept member's is copied instead of read from its record.
   */
  private lastHi = new Uint32Array(0);
  private lastLo = new Uint32Array(0);
  private lastHave = new Uint8Array(0);

  constructor(
    private readonly minRingSize: number,
    private readonly maxRingSize: number,
  ) {}

  /** The current members' records by id (their entry hashes). */
  get cache(): ReadonlyMap<string, unknown> {
    return this.idOrder.cache;
  }

  build(members: readonly RingMember[]): RingHashRing {
    // Duplicate ids are rejected by the id order.
    const memberWeights = checkMembers(members, false);
    const snapshot = members.slice();
    // Placement order: by hash key, as grpc-go sorts; owners still index the caller's order.
    const byId = this.idOrder.order(snapshot);
    const previousRanks = this.idOrder.previousRanks;
    const records = this.idOrder.sortedRecords;
    const n = byId.length;
    const weights = new Float64Array(n);
    for (let r = 0; r < n; r++) weights[r] = memberWeights[byId[r]!]!;
    const counts = ringHashEntryCounts(weights, this.minRingSize, this.maxRingSize);
    let total = 0;
    for (let r = 0; r < n; r++) total += counts[r]!;

    const hi = new Uint32Array(total);
    const lo = new Uint32Array(total);
    const rank = new Uint32Array(total);
    const firstHi = new Uint32Array(n);
    const firstLo = new Uint32Array(n);
    const have = new Uint8Array(n);
    const lastHi = this.lastHi;
    const lastLo = this.lastLo;
    const lastHave = this.lastHave;
    let k = 0;
    for (let r = 0; r < n; r++) {
      const c = counts[r]!;
      const last = previousRanks[r]!;
      if (last >= 0 && lastHave[last] === 1) {
        firstHi[r] = lastHi[last]!;
        firstLo[r] = lastLo[last]!;
        have[r] = 1;
        if (c === 1) {
          hi[k] = firstHi[r]!;
          lo[k] = firstLo[r]!;
          rank[k++] = r;
          continue;
        }
      }
      if (c === 0) continue;
      const record = records[r]!;
      let hashes = record.data;
      if (hashes === undefined || hashes.length < 2 * c) {
        hashes = entryHashes(record.id, hashes ?? [], c);
        record.data = hashes;
      }
      for (let i = 0; i < c; i++, k++) {
        hi[k] = hashes[2 * i]!;
        lo[k] = hashes[2 * i + 1]!;
        rank[k] = r;
      }
      firstHi[r] = hashes[0]!;
      firstLo[r] = hashes[1]!;
      have[r] = 1;
    }
    this.lastHi = firstHi;
    this.lastLo = firstLo;
    this.lastHave = have;
    // Sort an index permutation by (hash, hash key): equal hashes (never seen in practice) are
    // ordered by id so the ring stays independent of member order.
    const order = sortEntries(hi, lo, rank);
    const sHi = new Uint32Array(total);
    const sLo = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let i = 0; i < total; i++) {
      const j = order[i]!;
      sHi[i] = hi[j]!;
      sLo[i] = lo[j]!;
      owners[i] = byId[rank[j]!]!;
    }
    return new RingHashRing(snapshot, sHi, sLo, owners);
  }
}

/** `hashes` (hi, lo pairs of XXH64("<id>_<i>")) extended to `count` entries, in place. */
function entryHashes(id: string, hashes: number[], count: number): number[] {
  for (let i = hashes.length >> 1; i < count; i++) {
    xxh64String(`${id}_${i}`, 0, hashOut);
    hashes.push(hashOut[0]!, hashOut[1]!);
  }
  return hashes;
}
