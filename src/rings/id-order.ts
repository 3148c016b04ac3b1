import { compareUtf8 } from './compare-ids';
import { duplicateIdError } from './ring-options';
import type { RingMember } from './types';

/** One member id known to an {@link IdOrder}, with a builder's cached work for it. */
export class IdRecord<T> {
  /** The build that last listed this id. */
  stamp = 0;
  /** Its index in that build's member list. */
  index = 0;
  /** The builder's per-id work (set and read by the builder only). */
  data: T | undefined = undefined;
  constructor(readonly id: string) {}
}

// A code unit here can order differently in UTF-16 and UTF-8 (see compareUtf8).
const HIGH_CODE_UNIT = /[\ud800-\uffff]/;

/**
 * Member indexes in id order (UTF-8 byte order), with one record per id kept between builds.
 * Records are updated in place with a build stamp, so a build allocates no N-entry map: a member
 * at the same place as in the last list (or shifted by the same amount as its predecessor) is
 * found by one string comparison, the rest by one map lookup. When few ids are new, the last order
 * is filtered and the new ids (sorted) are merged in by binary search: no sort of every id.
 */
export class IdOrder<T = undefined> {
  private readonly records = new Map<string, IdRecord<T>>();
  private stamp = 0;
  /** The last build's records in id order. */
  private sorted: IdRecord<T>[] = [];
  /** The last build's records by member index. */
  private listed: IdRecord<T>[] = [];
  private ranks = new Int32Array(0);

  /** The current members' records by id; its size is the member count. */
  get cache(): ReadonlyMap<string, IdRecord<T>> {
    return this.records;
  }

  /** The records of the last {@link order}'s members, in id order. */
  get sortedRecords(): readonly IdRecord<T>[] {
    return this.sorted;
  }

  /**
   * The indexes of `members` ordered by id. Throws `checkMembers`' RangeError on a duplicate id
   * (and then keeps the last order). Every id must be a string.
   */
  order(members: readonly RingMember[]): Uint32Array {
    const stamp = ++this.stamp;
    const n = members.length;
    const records = this.records;
    const last = this.listed;
    const listed: IdRecord<T>[] = new Array(n);
    const fresh: IdRecord<T>[] = [];
    // Where the member at index i stood in the last list is guessed as i + shift.
    let shift = 0;
    // A first order has no record to find: each id is only added, and a duplicate leaves the size.
    const first = records.size === 0;
    for (let i = 0; i < n; i++) {
      const id = members[i]!.id;
      if (first) {
        const record = new IdRecord<T>(id);
        records.set(id, record);
        if (records.size === i) {
          records.clear();
          throw duplicateIdError(i, id);
        }
        record.stamp = stamp;
        record.index = i;
        listed[i] = record;
        fresh.push(record);
        continue;
      }
      const guess = i + shift;
      let record = guess < last.length ? last[guess]! : undefined;
      if (record === undefined || record.id !== id) {
        record = records.get(id);
        if (record === undefined) {
          record = new IdRecord<T>(id);
          records.set(id, record);
          fresh.push(record);
        } else if (record.stamp !== stamp) {
          shift = record.index - i;
        }
      }
      if (record.stamp === stamp) {
        // Forget the ids this build added: they are not in the last order.
        for (const r of fresh) records.delete(r.id);
        throw duplicateIdError(i, id);
      }
      record.stamp = stamp;
      record.index = i;
      listed[i] = record;
    }
    const previous = this.sorted;
    const out = new Uint32Array(n);
    const previousRanks = new Int32Array(n).fill(-1);
    let sorted: IdRecord<T>[];
    if (fresh.length > n >> 2) {
      for (const r of previous) if (r.stamp !== stamp) records.delete(r.id);
      sorted = sortById(listed, records);
      for (let r = 0; r < n; r++) out[r] = sorted[r]!.index;
    } else {
      sorted = mergeFresh(previous, fresh, stamp, records, out, previousRanks);
    }
    this.sorted = sorted;
    this.listed = listed;
    this.ranks = previousRanks;
    return out;
  }

  /**
   * For each rank of the last {@link order}, the member's rank in the order before it, or -1 for
   * a new id (and for every id after an order with many new ids): builders carry per-rank data.
   */
  get previousRanks(): Int32Array {
    return this.ranks;
  }
}

/** All records sorted by id: a native string sort when it agrees with UTF-8 order (several times faster). */
function sortById<T>(listed: IdRecord<T>[], records: Map<string, IdRecord<T>>): IdRecord<T>[] {
  const n = listed.length;
  const ids: string[] = new Array(n);
  let native = true;
  for (let i = 0; i < n; i++) {
    const id = listed[i]!.id;
    ids[i] = id;
    if (native && HIGH_CODE_UNIT.test(id)) native = false;
  }
  if (!native) return listed.slice().sort((a, b) => compareUtf8(a.id, b.id));
  ids.sort();
  const sorted: IdRecord<T>[] = new Array(n);
  for (let r = 0; r < n; r++) sorted[r] = records.get(ids[r]!)!;
  return sorted;
}

/**
 * The last order without departed records (deleted from `records`), with the fresh records merged
 * in: each fresh id's place among the last ids is found by binary search. Writes each rank's
 * member index to `out` and its last rank (kept records) to `previousRanks`.
 */
function mergeFresh<T>(
  previous: readonly IdRecord<T>[],
  fresh: IdRecord<T>[],
  stamp: number,
  records: Map<string, IdRecord<T>>,
  out: Uint32Array,
  previousRanks: Int32Array,
): IdRecord<T>[] {
  fresh.sort((a, b) => compareUtf8(a.id, b.id));
  const at = new Uint32Array(fresh.length);
  for (let f = 0; f < fresh.length; f++) {
    const id = fresh[f]!.id;
    let low = f > 0 ? at[f - 1]! : 0;
    let high = previous.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareUtf8(previous[mid]!.id, id) < 0) low = mid + 1;
      else high = mid;
    }
    at[f] = low;
  }
  const sorted: IdRecord<T>[] = new Array(out.length);
  let r = 0;
  let f = 0;
  for (let j = 0; j < previous.length; j++) {
    while (f < fresh.length && at[f] === j) {
      out[r] = fresh[f]!.index;
      sorted[r++] = fresh[f++]!;
    }
    const record = previous[j]!;
    if (record.stamp === stamp) {
      out[r] = record.index;
      previousRanks[r] = j;
      sorted[r++] = record;
    } else {
      records.delete(record.id);
    }
  }
  for (; f < fresh.length; f++) {
    out[r] = fresh[f]!.index;
    sorted[r++] = fresh[f]!;
  }
  return sorted;
}
