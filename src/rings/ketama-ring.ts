import { type BucketIndex, bucketBits, buildBucketIndex } from './bucket-index';
import { type RingBuildSteps, runToEnd } from './build-steps';
import { compareUtf8 } from './compare-ids';
import { crc32String } from './crc32';
import { md5Numbered } from './md5';
import { checkMembers, duplicateIdError, KETAMA_POINT_BUDGET } from './ring-options';
import type { HashRing, RingBuilder, RingMember } from './types';

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
  const points = new Uint32Array(pointsOf(count));
  md5Numbered(`${id}+`, points.length >> 2, points);
  return points;
}

/** Writes a member's points in digest order to `out` from `offset`; returns how many. */
function writeMemberPoints(id: string, count: number, out: Uint32Array, offset: number): number {
  const n = pointsOf(count);
  md5Numbered(`${id}+`, n >> 2, out, offset);
  return n;
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

/**
 * A built ketama ring: sorted uint32 points and the member owning each.
 *
 * A builder numbers members by stable owner slots, so that a rebuild keeps the unchanged
 * points' owners as they are; `slotMembers` maps a slot to its index in `members`.
 */
export class KetamaRing implements HashRing {
  readonly algorithm = 'ketama' as const;
  readonly size: number;
  private readonly index: BucketIndex;
  /** Owner slot of each point. */
  private readonly slots: Uint32Array;
  /** Member index of each slot. */
  private readonly slotMembers: Uint32Array;
  private memberIndexes: Uint32Array | undefined;

  /**
   * @param members the members, in build order
   * @param points sorted points; ties ordered by member id (UTF-8 byte order)
   * @param owners the owner of each point: a member index, or a slot when `slotMembers` is given
   * @param slotMembers member index of each owner slot (default: owners are member indexes)
   * @param index a bucket index of `points`, when the caller has one (default: built here)
   */
  constructor(
    readonly members: readonly RingMember[],
    readonly points: Uint32Array,
    owners: Uint32Array,
    slotMembers?: Uint32Array,
    index?: BucketIndex,
  ) {
    this.size = points.length;
    this.slots = owners;
    if (slotMembers === undefined) {
      this.slotMembers = new Uint32Array(members.length);
      for (let i = 0; i < members.length; i++) this.slotMembers[i] = i;
      this.memberIndexes = owners;
    } else {
      this.slotMembers = slotMembers;
    }
    this.index = index ?? buildBucketIndex(points);
  }

  /** The member index owning each point (computed on first use: inspection, not routing). */
  get owners(): Uint32Array {
    if (this.memberIndexes === undefined) {
      const owners = new Uint32Array(this.size);
      for (let p = 0; p < this.size; p++) owners[p] = this.slotMembers[this.slots[p]!]!;
      this.memberIndexes = owners;
    }
    return this.memberIndexes;
  }

  /** @internal Owner slots and their bucket index, for the next incremental build. */
  get internals(): { readonly slots: Uint32Array; readonly index: BucketIndex } {
    return { slots: this.slots, index: this.index };
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
    return this.slotMembers[this.slots[position]!]!;
  }
}

const RADIX_THRESHOLD = 8192;
/** Points per step of a radix pass: about a millisecond. */
const RADIX_STEP = 1 << 17;

/** Sorted (point, slot) pairs, and for a radix sort the start of each top-16-bit bucket. */
interface SortedPoints {
  readonly points: Uint32Array;
  readonly slots: Uint32Array;
  readonly starts?: Uint32Array;
}

/**
 * Sorts (point, slot) pairs by point, then by the slot's id for equal points. Large inputs: two
 * stable 16-bit counting passes, O(n), several times faster than a comparison sort; the second
 * pass's bucket starts are the ring's bucket index. Small ones sort in place: a float64 sort of
 * point × 8192 + input index (exact: 2^45 < 2^53).
 */
function sortPoints(points: Uint32Array, slots: Uint32Array, slotIds: readonly string[]): SortedPoints {
  return runToEnd(sortPointsSteps(points, slots, slotIds));
}

/** {@link sortPoints} in steps: a large sort yields every {@link RADIX_STEP} points of each pass. */
function* sortPointsSteps(
  points: Uint32Array,
  slots: Uint32Array,
  slotIds: readonly string[],
): RingBuildSteps<SortedPoints> {
  const total = points.length;
  if (total >= RADIX_THRESHOLD) {
    const tmpPoints = uninitialized(total);
    const tmpSlots = uninitialized(total);
    yield* radixPass(points, slots, tmpPoints, tmpSlots, 0);
    const counts = yield* radixPass(tmpPoints, tmpSlots, points, slots, 16);
    const starts = new Uint32Array(65537);
    // After the pass each count is its bucket's end: the next bucket's start.
    starts.set(counts.subarray(0, 65536), 1);
    breakTiesById(points, slots, slotIds);
    return { points, slots, starts };
  }
  const packed = new Float64Array(total);
  for (let i = 0; i < total; i++) packed[i] = points[i]! * RADIX_THRESHOLD + i;
  packed.sort();
  const from = slots.slice();
  for (let i = 0; i < total; i++) {
    const v = packed[i]!;
    const j = v % RADIX_THRESHOLD;
    points[i] = (v - j) / RADIX_THRESHOLD;
    slots[i] = from[j]!;
  }
  breakTiesById(points, slots, slotIds);
  return { points, slots };
}

/**
 * One stable counting-sort pass on 16 bits of the points, from (src*) into (dst*), yielding every
 * {@link RADIX_STEP} points. Returns the counts, each now its bucket's end. Its own counts: a
 * build in steps may interleave with another builder's.
 */
function* radixPass(
  srcPoints: Uint32Array,
  srcSlots: Uint32Array,
  dstPoints: Uint32Array,
  dstSlots: Uint32Array,
  shift: number,
): RingBuildSteps<Uint32Array> {
  const counts = new Uint32Array(65537);
  const n = srcPoints.length;
  for (let from = 0; from < n; from += RADIX_STEP) {
    const to = Math.min(n, from + RADIX_STEP);
    for (let i = from; i < to; i++) counts[((srcPoints[i]! >>> shift) & 0xffff) + 1]!++;
    yield;
  }
  for (let b = 1; b <= 65536; b++) counts[b]! += counts[b - 1]!;
  for (let from = 0; from < n; from += RADIX_STEP) {
    const to = Math.min(n, from + RADIX_STEP);
    for (let i = from; i < to; i++) {
      const p = srcPoints[i]!;
      const at = counts[(p >>> shift) & 0xffff]!++;
      dstPoints[at] = p;
      dstSlots[at] = srcSlots[i]!;
    }
    yield;
  }
  return counts;
}

/** The bucket index of `points` from its top-16-bit bucket starts: every 2^(16-bits)-th start. */
function indexFromStarts(starts: Uint32Array, n: number): BucketIndex {
  const bits = bucketBits(n);
  if (bits === 16) return { starts, shift: 16 };
  const step = 1 << (16 - bits);
  const coarse = new Uint32Array((1 << bits) + 1);
  for (let b = 0; b <= 1 << bits; b++) coarse[b] = starts[b * step]!;
  return { starts: coarse, shift: 32 - bits };
}

/** Reorders each run of equal points by owner id, so placement never depends on member order. */
function breakTiesById(points: Uint32Array, slots: Uint32Array, slotIds: readonly string[]): void {
  const n = points.length;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && points[j] === points[i]) j++;
    if (j - i > 1) {
      const run = Array.from(slots.subarray(i, j)).sort((a, b) => compareUtf8(slotIds[a]!, slotIds[b]!));
      slots.set(run, i);
    }
    i = j;
  }
}

/** First position in `points` (sorted) whose point is >= p, starting from its bucket. */
function lowerBound(points: Uint32Array, index: BucketIndex, p: number): number {
  const b = p >>> index.shift;
  let low = index.starts[b]!;
  let high = index.starts[b + 1]!;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid]! < p) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Copies `src[from, to)` to `dst` at `at`: short runs element by element, long ones by memcpy. */
function copyRun(src: Uint32Array, from: number, to: number, dst: Uint32Array, at: number): void {
  if (to - from < 64) {
    for (let k = from; k < to; k++) dst[at++] = src[k]!;
  } else {
    dst.set(src.subarray(from, to), at);
  }
}

/**
 * A Uint32Array without zero-filling, for arrays the caller writes in full. Measured (10,000
 * members, one replaced): the zeroed pair of 2.5 MB arrays cost about 1 ms more, mostly fresh pages.
 */
function uninitialized(length: number): Uint32Array {
  if (length < 1024) return new Uint32Array(length);
  const bytes = Buffer.allocUnsafe(length * 4);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length);
}

/** A member in the builder's cache. */
interface CachedMember {
  readonly id: string;
  /** Points requested (its points are recomputed when it leaves: 16 digests, about 2 µs). */
  count: number;
  /** Owner slot: stable while the member stays, so its points keep their owner value. */
  slot: number;
  /** The build that last listed this member. */
  build: number;
}

/** A member whose points leave the ring: its id, slot and old point count. */
interface Departure {
  readonly id: string;
  readonly slot: number;
  readonly count: number;
}

/** Members whose points one step of a full build computes: 4,096 digests at 64 vnodes, about 0.5 ms. */
const MEMBERS_PER_STEP = 256;

/**
 * Builds ketama rings, keeping each member's point count and owner slot, and the last ring.
 * A build that changes few members edits the last ring: the leaving points are found through
 * its bucket index, the new ones sorted and inserted, and the runs between copied (memcpy).
 * Kept points keep their owner slot, so they need no per-point work.
 */
export class KetamaRingBuilder implements RingBuilder {
  readonly algorithm = 'ketama' as const;
  private cache = new Map<string, CachedMember>();
  private builds = 0;
  private last: KetamaRing | undefined;
  /** The cache entries of the last ring's members, by member index. */
  private lastEntries: CachedMember[] = [];
  /** Member id of each owner slot (a freed slot keeps its last id until reused). */
  private slotIds: string[] = [];
  /** Slots freed by earlier builds (never the current one's: the last ring still uses those). */
  private freeSlots: number[] = [];

  constructor(
    private readonly vnodes: number,
    /** Most points in a ring ({@link ketamaPointCounts}). */
    private readonly budget: number = KETAMA_POINT_BUDGET,
  ) {}

  build(members: readonly RingMember[]): KetamaRing {
    return runToEnd(this.buildSteps(members));
  }

  /**
   * {@link build} in slices: a full build yields after every {@link MEMBERS_PER_STEP} members'
   * points (about a millisecond of MD5) and before sorting; an edit of the last ring is one step.
   */
  *buildSteps(members: readonly RingMember[]): RingBuildSteps<KetamaRing> {
    // Duplicates are found below, by their cache entry's build stamp: no N-entry set per build.
    const weights = checkMembers(members, false);
    const n = members.length;
    // A huge weight (or vnodes × weight) is scaled into the budget, never millions of MD5 digests.
    const pointCounts = ketamaPointCounts(weights, this.vnodes, this.budget);
    const build = ++this.builds;
    const cache = this.cache;
    const entries: CachedMember[] = new Array(n);
    const lastEntries = this.lastEntries;
    // Members whose points enter the ring (new, or a new count), and those whose points leave it.
    const arrivals: number[] = [];
    const departures: Departure[] = [];
    for (let i = 0; i < n; i++) {
      const id = members[i]!.id;
      const count = pointCounts[i]!;
      // Lists mostly keep their order: comparing with the last member at i is cheaper than
      // hashing a fresh id string for the map.
      const atI = lastEntries[i];
      let entry = atI !== undefined && atI.id === id ? atI : cache.get(id);
      if (entry === undefined) {
        entry = { id, count, slot: -1, build };
        cache.set(id, entry);
        arrivals.push(i);
      } else {
        if (entry.build === build) {
          // Half of this build is already in the cache: the next build starts afresh.
          this.forget();
          throw duplicateIdError(i, id);
        }
        if (entry.count !== count) {
          departures.push({ id, slot: entry.slot, count: entry.count });
          entry.count = count;
          arrivals.push(i);
        }
        entry.build = build;
      }
      entries[i] = entry;
      if ((i & 4095) === 4095) yield;
    }
    const freed: number[] = [];
    for (let j = 0; j < lastEntries.length; j++) {
      const old = lastEntries[j]!;
      if (old.build !== build) {
        departures.push(old);
        freed.push(old.slot);
        // The cache holds only current members, so its memory follows the member list.
        cache.delete(old.id);
      }
    }
    const last = this.last;
    const slotIds = this.slotIds;
    let ring: KetamaRing | undefined;
    // Few changes, and slots not much sparser than the members: edit the last ring.
    if (
      last &&
      arrivals.length + departures.length <= Math.max(1, n >> 2) &&
      slotIds.length <= 2 * n + 1024
    ) {
      for (const i of arrivals) {
        const entry = entries[i]!;
        if (entry.slot < 0) {
          entry.slot = this.freeSlots.pop() ?? slotIds.length;
          slotIds[entry.slot] = entry.id;
        }
      }
      const slotMembers = new Uint32Array(slotIds.length);
      for (let i = 0; i < n; i++) slotMembers[entries[i]!.slot] = i;
      ring = this.edit(last, members.slice(), slotMembers, departures, arrivals, entries);
      for (const slot of freed) this.freeSlots.push(slot);
    }
    if (ring === undefined) {
      // Full build: slots renumbered as member indexes.
      this.slotIds = new Array(n);
      this.freeSlots = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const entry = entries[i]!;
        entry.slot = i;
        this.slotIds[i] = entry.id;
        total += pointsOf(entry.count);
      }
      const points = uninitialized(total);
      const slots = uninitialized(total);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const entry = entries[i]!;
        const written = writeMemberPoints(entry.id, entry.count, points, k);
        slots.fill(i, k, k + written);
        k += written;
        if (i % MEMBERS_PER_STEP === MEMBERS_PER_STEP - 1) yield;
      }
      yield;
      const sorted = yield* sortPointsSteps(points, slots, this.slotIds);
      const index = sorted.starts && indexFromStarts(sorted.starts, total);
      ring = new KetamaRing(members.slice(), sorted.points, sorted.slots, undefined, index);
    }
    this.last = ring;
    this.lastEntries = entries;
    return ring;
  }

  /** Drops every member and the last ring: the next build is a full one. */
  private forget(): void {
    this.cache = new Map();
    this.last = undefined;
    this.lastEntries = [];
    this.slotIds = [];
    this.freeSlots = [];
  }

  /**
   * The last ring without the departures' points and with the arrivals' points: each leaving
   * point found by its bucket, each arriving one inserted before the first old point that sorts
   * after it (by point, then id), the runs between copied.
   */
  private edit(
    last: KetamaRing,
    snapshot: readonly RingMember[],
    slotMembers: Uint32Array,
    departures: readonly Departure[],
    arrivals: readonly number[],
    entries: readonly CachedMember[],
  ): KetamaRing | undefined {
    const slotIds = this.slotIds;
    const oldPoints = last.points;
    const { slots: oldSlots, index: oldIndex } = last.internals;
    const oldCount = oldPoints.length;

    // Positions of the leaving points, ascending.
    let leaving = 0;
    for (const d of departures) leaving += pointsOf(d.count);
    const removed = new Int32Array(leaving);
    let r = 0;
    for (const d of departures) {
      const points = ketamaMemberPoints(d.id, d.count);
      for (let k = 0; k < points.length; k++) {
        const p = points[k]!;
        // A member may own equal points: the first of them takes every position of its slot.
        if (k > 0 && points[k - 1] === p) continue;
        for (let at = lowerBound(oldPoints, oldIndex, p); at < oldCount && oldPoints[at] === p; at++) {
          if (oldSlots[at] === d.slot) removed[r++] = at;
        }
      }
    }
    // Every leaving point is in the last ring; if not, the ring is rebuilt rather than trusted.
    if (r !== leaving) return undefined;
    removed.sort();

    // The arriving points, sorted, and where each goes in the old ring.
    let arriving = 0;
    for (const i of arrivals) arriving += pointsOf(entries[i]!.count);
    let addPoints: Uint32Array = new Uint32Array(arriving);
    let addSlots: Uint32Array = new Uint32Array(arriving);
    let a = 0;
    for (const i of arrivals) {
      const entry = entries[i]!;
      const written = writeMemberPoints(entry.id, entry.count, addPoints, a);
      addSlots.fill(entry.slot, a, a + written);
      a += written;
    }
    const sorted = sortPoints(addPoints, addSlots, slotIds);
    addPoints = sorted.points;
    addSlots = sorted.slots;
    const insertAt = new Int32Array(arriving);
    for (let k = 0; k < arriving; k++) {
      const p = addPoints[k]!;
      const id = slotIds[addSlots[k]!]!;
      let at = lowerBound(oldPoints, oldIndex, p);
      // Old points are ordered by id within a run of equal points; leaving ones have their true id.
      while (at < oldCount && oldPoints[at] === p && compareUtf8(slotIds[oldSlots[at]!]!, id) <= 0) at++;
      insertAt[k] = at;
    }

    const total = oldCount - leaving + arriving;
    const points = uninitialized(total);
    const slots = uninitialized(total);
    let from = 0;
    let out = 0;
    let next = 0;
    r = 0;
    for (;;) {
      const q = next < arriving ? insertAt[next]! : oldCount;
      const d = r < leaving ? removed[r]! : oldCount;
      const to = Math.min(q, d);
      copyRun(oldPoints, from, to, points, out);
      copyRun(oldSlots, from, to, slots, out);
      out += to - from;
      from = to;
      if (next < arriving && q <= d) {
        points[out] = addPoints[next]!;
        slots[out++] = addSlots[next++]!;
      } else if (r < leaving) {
        from = d + 1;
        r++;
      } else {
        break;
      }
    }
    const index = this.editIndex(oldIndex, total, removed, oldPoints, addPoints);
    return new KetamaRing(snapshot, points, slots, slotMembers, index);
  }

  /**
   * The bucket index of the edited ring from the old one: each start moves by the points added
   * minus the points removed in earlier buckets. Undefined (build it) when the bucket count changes.
   */
  private editIndex(
    old: BucketIndex,
    total: number,
    removed: Int32Array,
    oldPoints: Uint32Array,
    added: Uint32Array,
  ): BucketIndex | undefined {
    const fresh = bucketBits(total);
    if (32 - old.shift !== fresh) return undefined;
    const shift = old.shift;
    const oldStarts = old.starts;
    const buckets = oldStarts.length - 1;
    const starts = uninitialized(buckets + 1);
    // Walk the added and removed points in value order; the buckets between two of them move by
    // the same delta.
    let delta = 0;
    let b = 0;
    let r = 0;
    let a = 0;
    for (;;) {
      const pa = a < added.length ? added[a]! : -1;
      const pr = r < removed.length ? oldPoints[removed[r]!]! : -1;
      if (pa < 0 && pr < 0) break;
      const takeAdded = pr < 0 || (pa >= 0 && pa <= pr);
      // Buckets up to this point's own keep the current delta; later ones see it.
      const end = ((takeAdded ? pa : pr) >>> shift) + 1;
      for (; b < end; b++) starts[b] = oldStarts[b]! + delta;
      if (takeAdded) {
        delta++;
        a++;
      } else {
        delta--;
        r++;
      }
    }
    for (; b < buckets; b++) starts[b] = oldStarts[b]! + delta;
    starts[buckets] = total;
    return { starts, shift };
  }
}
