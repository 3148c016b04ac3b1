import { type BucketIndex, buildBucketIndex } from './bucket-index';
import { compareUtf8 } from './compare-ids';
import { crc32String } from './crc32';
import { md5Words } from './md5';
import { checkMembers, RING_SIZE_UPPER_BOUND } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';

// A member index fits in 21 bits, so (point * 2^21 + index) is exact in a float64 and one
// numeric typed-array sort orders the points.
const INDEX_SPAN = 0x200000;

/** The points of one member: `count` requested, 4 per MD5 digest, sorted ascending. */
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
  const digests = Math.ceil(count / 4);
  const points = new Uint32Array(digests * 4);
  for (let i = 0; i < digests; i++) md5Words(`${id}+${i}`, points.subarray(i * 4, i * 4 + 4));
  return points.sort();
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

/**
 * Builds ketama rings, keeping each member's points (keyed by id and point count) and the last
 * ring. A build that changes few members filters the last ring and merges in the changed
 * members' points: O(ring size) plus the changed members' digests, no full sort.
 */
export class KetamaRingBuilder implements RingBuilder {
  readonly algorithm = 'ketama' as const;
  private cache = new Map<string, MemberPoints>();
  private last: KetamaRing | undefined;
  private lastCounts = new Map<string, number>();

  constructor(private readonly vnodes: number) {}

  build(members: readonly RingMember[]): KetamaRing {
    const weights = checkMembers(members);
    const n = members.length;
    // A huge weight (or vnodes × weight) must fail clearly, not hang on millions of MD5 digests.
    let total = 0;
    for (let i = 0; i < n; i++) total += ketamaPointCount(weights[i]!, this.vnodes);
    if (!(total <= RING_SIZE_UPPER_BOUND)) {
      throw new RangeError(
        `ketama: members × vnodes × weight ask for ${total} points, above ${RING_SIZE_UPPER_BOUND}; lower vnodes or the weights`,
      );
    }
    const counts = new Map<string, number>();
    const nextCache = new Map<string, MemberPoints>();
    const memberPoints: Uint32Array[] = new Array(n);
    const changed: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = members[i]!.id;
      const count = ketamaPointCount(weights[i]!, this.vnodes);
      counts.set(id, count);
      let entry = this.cache.get(id);
      if (entry === undefined || entry.count !== count) {
        entry = { count, points: ketamaMemberPoints(id, count) };
      }
      nextCache.set(id, entry);
      memberPoints[i] = entry.points;
      if (this.lastCounts.get(id) !== count) changed.push(i);
    }
    // The cache holds only current members, so its memory follows the member list.
    this.cache = nextCache;

    const last = this.last;
    let removed = 0;
    if (last) for (const m of last.members) if (counts.get(m.id) !== this.lastCounts.get(m.id)) removed++;
    let ring: KetamaRing;
    if (last && changed.length + removed <= Math.max(1, n >> 2)) {
      ring = this.merge(last, members, counts, changed, memberPoints);
    } else {
      const all = sortPoints(
        memberPoints,
        memberPoints.map((_, i) => i),
        members,
      );
      ring = new KetamaRing(members.slice(), all.points, all.owners);
    }
    this.last = ring;
    this.lastCounts = counts;
    return ring;
  }

  private merge(
    last: KetamaRing,
    members: readonly RingMember[],
    counts: Map<string, number>,
    changed: readonly number[],
    memberPoints: readonly Uint32Array[],
  ): KetamaRing {
    const snapshot = members.slice();
    const newIndex = new Map<string, number>();
    for (let i = 0; i < snapshot.length; i++) newIndex.set(snapshot[i]!.id, i);
    // Old member index -> new index, or -1 when its points leave the ring.
    const remap = new Int32Array(last.members.length);
    for (let j = 0; j < last.members.length; j++) {
      const id = last.members[j]!.id;
      const idx = newIndex.get(id);
      remap[j] = idx !== undefined && counts.get(id) === this.lastCounts.get(id) ? idx : -1;
    }
    const added = sortPoints(
      changed.map((i) => memberPoints[i]!),
      changed,
      snapshot,
    );
    const isChanged = new Uint8Array(snapshot.length);
    for (const i of changed) isChanged[i] = 1;
    let total = added.points.length;
    for (let i = 0; i < snapshot.length; i++) if (isChanged[i] === 0) total += memberPoints[i]!.length;
    const points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    const oldPoints = last.points;
    const oldOwners = last.owners;
    const addPoints = added.points;
    const addOwners = added.owners;
    let a = 0;
    let b = 0;
    let k = 0;
    while (a < oldPoints.length || b < addPoints.length) {
      if (a < oldPoints.length) {
        const owner = remap[oldOwners[a]!]!;
        if (owner < 0) {
          a++;
          continue;
        }
        if (b < addPoints.length) {
          const pa = oldPoints[a]!;
          const pb = addPoints[b]!;
          const takeOld =
            pa < pb || (pa === pb && compareUtf8(snapshot[owner]!.id, snapshot[addOwners[b]!]!.id) <= 0);
          if (!takeOld) {
            points[k] = pb;
            owners[k++] = addOwners[b++]!;
            continue;
          }
        }
        points[k] = oldPoints[a++]!;
        owners[k++] = owner;
      } else {
        points[k] = addPoints[b]!;
        owners[k++] = addOwners[b++]!;
      }
    }
    return new KetamaRing(snapshot, points, owners);
  }
}
