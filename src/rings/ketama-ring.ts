import { type BucketIndex, buildBucketIndex } from './bucket-index';
import { compareUtf8 } from './compare-ids';
import { crc32String } from './crc32';
import { md5Words } from './md5';
import { checkMembers, KETAMA_POINT_BUDGET } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';

// A member index fits in 21 bits, so (point * 2^21 + index) is exact in a float64 and one
// numeric typed-array sort orders the points.
const INDEX_SPAN = 0x200000;

/** The points of one member: `count` requested, 4 per MD5 digest, in digest order. */
interface MemberPoints {
  readonly count: number;
  readonly points: Uint32Array;
}

/** Number of ketama points requested for a weight: round(w × vnodes), at least 1. */
export function ketamaPointCount(weight: number, vnodes: number): number {
  return Math.max(1, Math.round(weight * vnodes));
}

/**
 * A member's points as vizee/consistent (2018) places them: for i in 0..ceil(count/4)-1,
 * md5(id + "+" + i) gives 4 points, its little-endian uint32 words. So a count that is not a
 * multiple of 4 is rounded up to one.
 */
export function ketamaMemberPoints(id: string, count: number): Uint32Array {
  return unsortedMemberPoints(id, count).sort();
}

/** {@link ketamaMemberPoints} in digest order: a build sorts all points together anyway. */
function unsortedMemberPoints(id: string, count: number): Uint32Array {
  const digests = Math.ceil(count / 4);
  const points = new Uint32Array(digests * 4);
  for (let i = 0; i < digests; i++) md5Words(`${id}+${i}`, points, i * 4);
  return points;
}

/** Points a member really gets for a requested count: whole digests of 4. */
function pointsOf(count: number): number {
  return (count + 3) & ~3;
}

// The budget scale steps by 2^(-1/16) (about 4.4 %), so that adding or removing a few members
// rarely changes it: a changed scale changes every member's points and costs a full build.
const SCALE_STEPS_PER_HALVING = 16;

/**
 * Point counts for every member: round(weight × vnodes), at least 1, when the ring fits in
 * `budget` points; otherwise round(weight × vnodes × s), at least 1, with one scale factor
 * s = 2^(-k/16) for the smallest k that fits (as ring_hash scales its entries to its max size).
 * Only when every member is down to one digest can the ring exceed the budget.
 */
export function ketamaPointCounts(
  weights: Float64Array,
  vnodes: number,
  budget: number = KETAMA_POINT_BUDGET,
): Uint32Array {
  const n = weights.length;
  const counts = new Uint32Array(n);
  // Σ w × vnodes, in log space: weights near the float64 limit would overflow the sum.
  let maxWeight = 0;
  for (let i = 0; i < n; i++) if (weights[i]! > maxWeight) maxWeight = weights[i]!;
  let relative = 0;
  for (let i = 0; i < n; i++) relative += weights[i]! / maxWeight;
  const log2Requested = Math.log2(maxWeight) + Math.log2(relative * vnodes);
  let k = 0;
  if (!(maxWeight * relative * vnodes <= budget)) {
    k = Math.max(0, Math.ceil(SCALE_STEPS_PER_HALVING * (log2Requested - Math.log2(budget))));
  }
  for (; ; k++) {
    // vnodes × scale first: w × vnodes alone may overflow.
    const factor = vnodes * 2 ** (-k / SCALE_STEPS_PER_HALVING);
    let total = 0;
    let atMinimum = true;
    for (let i = 0; i < n; i++) {
      const c = Math.max(1, Math.round(weights[i]! * factor));
      counts[i] = c;
      total += pointsOf(c);
      if (c > 4) atMinimum = false;
    }
    if (total <= budget || atMinimum) return counts;
  }
}

/** A built ketama ring: sorted uint32 points and the member index owning each. */
export class KetamaRing implements HashRing {
  readonly algorithm = 'ketama' as const;
  readonly size: number;
  private readonly index: BucketIndex;

  constructor(
    readonly members: readonly RingMember[],
    /** Sorted points; ties ordered by member id (UTF-8 byte order). */
    readonly points: Uint32Array,
    readonly owners: Uint32Array,
  ) {
    this.size = points.length;
    this.index = buildBucketIndex(points);
  }

  /** First point >= lo, wrapping to 0 (Go `Get32`). `hi` is ignored: the key space is 32-bit. */
  locate(_hi: number, lo: number): number {
    const points = this.points;
    const key = lo >>> 0;
    const { starts, shift } = this.index;
    const bucket = key >>> shift;
    // The answer lies in [starts[bucket], starts[bucket + 1]]: every earlier point is < key.
    let low = starts[bucket]!;
    let high = starts[bucket + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < key) low = mid + 1;
      else high = mid;
    }
    return low === points.length ? 0 : low;
  }

  locateKey(key: string): number {
    return this.locate(0, crc32String(key));
  }

  keyHash(key: string, out: Uint32Array): void {
    out[0] = 0;
    out[1] = crc32String(key);
  }

  memberAt(position: number): number {
    return this.owners[position]!;
  }
}

/** Sorts (point, owner) pairs by point, then by owner id for equal points. */
function sortPoints(
  lists: readonly Uint32Array[],
  listOwners: readonly number[],
  members: readonly RingMember[],
): { points: Uint32Array; owners: Uint32Array } {
  let total = 0;
  for (const l of lists) total += l.length;
  let points = new Uint32Array(total);
  let owners = new Uint32Array(total);
  let k = 0;
  for (let j = 0; j < lists.length; j++) {
    const l = lists[j]!;
    points.set(l, k);
    owners.fill(listOwners[j]!, k, k + l.length);
    k += l.length;
  }
  if (total >= RADIX_THRESHOLD) {
    // Two stable 16-bit counting passes: O(n), several times faster than a comparison sort here.
    const tmpPoints = new Uint32Array(total);
    const tmpOwners = new Uint32Array(total);
    radixPass(points, owners, tmpPoints, tmpOwners, 0);
    radixPass(tmpPoints, tmpOwners, points, owners, 16);
  } else {
    const packed = new Float64Array(total);
    for (let i = 0; i < total; i++) packed[i] = points[i]! * INDEX_SPAN + owners[i]!;
    packed.sort();
    points = new Uint32Array(total);
    owners = new Uint32Array(total);
    for (let i = 0; i < total; i++) {
      const v = packed[i]!;
      const owner = v % INDEX_SPAN;
      points[i] = (v - owner) / INDEX_SPAN;
      owners[i] = owner;
    }
  }
  breakTiesById(points, owners, members);
  return { points, owners };
}

const RADIX_THRESHOLD = 8192;
const radixCounts = new Uint32Array(65537);

/** One stable counting-sort pass on 16 bits of the points, from (src*) into (dst*). */
function radixPass(
  srcPoints: Uint32Array,
  srcOwners: Uint32Array,
  dstPoints: Uint32Array,
  dstOwners: Uint32Array,
  shift: number,
): void {
  const counts = radixCounts;
  counts.fill(0);
  const n = srcPoints.length;
  for (let i = 0; i < n; i++) counts[((srcPoints[i]! >>> shift) & 0xffff) + 1]!++;
  for (let b = 1; b <= 65536; b++) counts[b]! += counts[b - 1]!;
  for (let i = 0; i < n; i++) {
    const p = srcPoints[i]!;
    const at = counts[(p >>> shift) & 0xffff]!++;
    dstPoints[at] = p;
    dstOwners[at] = srcOwners[i]!;
  }
}

/** Reorders each run of equal points by owner id, so placement never depends on member order. */
function breakTiesById(points: Uint32Array, owners: Uint32Array, members: readonly RingMember[]): void {
  const n = points.length;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && points[j] === points[i]) j++;
    if (j - i > 1) {
      const run = Array.from(owners.subarray(i, j)).sort((a, b) =>
        compareUtf8(members[a]!.id, members[b]!.id),
      );
      owners.set(run, i);
    }
    i = j;
  }
}

/** A member's points in the builder's cache, with the build that last used them. */
interface CachedPoints extends MemberPoints {
  /** The build that last listed this member with this count. */
  build: number;
  /** Its index in that build's member list. */
  index: number;
}

/**
 * Builds ketama rings, keeping each member's points (keyed by id and point count) and the last
 * ring. A build that changes few members filters the last ring and merges in the changed
 * members' points: O(ring size) plus the changed members' digests, no full sort.
 */
export class KetamaRingBuilder implements RingBuilder {
  readonly algorithm = 'ketama' as const;
  private cache = new Map<string, CachedPoints>();
  private builds = 0;
  private last: KetamaRing | undefined;
  /** The cache entries of the last ring's members, by member index. */
  private lastEntries: CachedPoints[] = [];

  constructor(
    private readonly vnodes: number,
    /** Most points in a ring ({@link ketamaPointCounts}). */
    private readonly budget: number = KETAMA_POINT_BUDGET,
  ) {}

  build(members: readonly RingMember[]): KetamaRing {
    const weights = checkMembers(members);
    const n = members.length;
    // A huge weight (or vnodes × weight) is scaled into the budget, never millions of MD5 digests.
    const pointCounts = ketamaPointCounts(weights, this.vnodes, this.budget);
    const build = ++this.builds;
    const cache = this.cache;
    const entries: CachedPoints[] = new Array(n);
    const changed: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = members[i]!.id;
      const count = pointCounts[i]!;
      let entry = cache.get(id);
      if (entry === undefined || entry.count !== count) {
        entry = { count, points: unsortedMemberPoints(id, count), build, index: i };
        cache.set(id, entry);
        changed.push(i);
      } else {
        entry.build = build;
        entry.index = i;
      }
      entries[i] = entry;
    }
    // Old member index -> new index, or -1 when its points leave the ring (removed, or a new count).
    const lastEntries = this.lastEntries;
    const remap = new Int32Array(lastEntries.length);
    let removed = 0;
    for (let j = 0; j < lastEntries.length; j++) {
      const old = lastEntries[j]!;
      if (old.build === build) {
        remap[j] = old.index;
      } else {
        remap[j] = -1;
        removed++;
      }
    }
    // The cache holds only current members, so its memory follows the member list.
    if (cache.size > n) {
      for (const [id, entry] of cache) if (entry.build !== build) cache.delete(id);
    }

    const last = this.last;
    let ring: KetamaRing;
    if (last && changed.length + removed <= Math.max(1, n >> 2)) {
      ring = this.merge(last, members.slice(), remap, lastEntries, changed, entries);
    } else {
      const all = sortPoints(
        entries.map((e) => e.points),
        entries.map((_, i) => i),
        members,
      );
      ring = new KetamaRing(members.slice(), all.points, all.owners);
    }
    this.last = ring;
    this.lastEntries = entries;
    return ring;
  }

  /**
   * The last ring without the points of departed members (owners renumbered), merged with the
   * sorted points of the changed members, in one pass over the last ring.
   */
  private merge(
    last: KetamaRing,
    snapshot: readonly RingMember[],
    remap: Int32Array,
    lastEntries: readonly CachedPoints[],
    changed: readonly number[],
    entries: readonly CachedPoints[],
  ): KetamaRing {
    const added = sortPoints(
      changed.map((i) => entries[i]!.points),
      changed,
      snapshot,
    );
    const addPoints = added.points;
    const addOwners = added.owners;
    const addCount = addPoints.length;
    const oldPoints = last.points;
    const oldOwners = last.owners;
    let kept = oldPoints.length;
    for (let j = 0; j < remap.length; j++) if (remap[j]! < 0) kept -= lastEntries[j]!.points.length;
    const total = kept + addCount;
    const points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    // One pass: the kept points in order (departed members' skipped), each added point written
    // before the first kept point that sorts after it (equal points: by id, kept first on a tie).
    let out = 0;
    let b = 0;
    for (let a = 0; a < oldOwners.length; a++) {
      const owner = remap[oldOwners[a]!]!;
      if (owner < 0) continue;
      const pa = oldPoints[a]!;
      while (b < addCount) {
        const pb = addPoints[b]!;
        if (pb > pa || (pb === pa && compareUtf8(snapshot[owner]!.id, snapshot[addOwners[b]!]!.id) <= 0))
          break;
        points[out] = pb;
        owners[out++] = addOwners[b++]!;
      }
      points[out] = pa;
      owners[out++] = owner;
    }
    for (; b < addCount; b++) {
      points[out] = addPoints[b]!;
      owners[out++] = addOwners[b]!;
    }
    return new KetamaRing(snapshot, points, owners);
  }
}
