import { compareUtf8 } from './compare-ids';
import type { RingMember } from './types';

/**
 * Member indexes in id order (UTF-8 byte order), kept between builds. When few members changed,
 * the last order is filtered and the new ids are merged in: O(N) map lookups plus a sort of the
 * new ids, instead of an O(N log N) sort of every id on every build.
 */
export class IdOrder {
  private sorted: string[] = [];

  /** The indexes of `members` ordered by id. Ids must be unique (as `checkMembers` ensures). */
  order(members: readonly RingMember[]): Uint32Array {
    const n = members.length;
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) index.set(members[i]!.id, i);
    const out = new Uint32Array(n);
    const listed = new Uint8Array(n);
    const keptIds: string[] = [];
    const keptIndexes: number[] = [];
    for (const id of this.sorted) {
      const i = index.get(id);
      if (i === undefined) continue;
      listed[i] = 1;
      keptIds.push(id);
      keptIndexes.push(i);
    }
    const fresh: number[] = [];
    for (let i = 0; i < n; i++) if (listed[i] === 0) fresh.push(i);
    const sorted: string[] = new Array(n);
    if (fresh.length > n >> 2) {
      const all = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
        compareUtf8(members[a]!.id, members[b]!.id),
      );
      for (let r = 0; r < n; r++) {
        out[r] = all[r]!;
        sorted[r] = members[all[r]!]!.id;
      }
    } else {
      fresh.sort((a, b) => compareUtf8(members[a]!.id, members[b]!.id));
      let k = 0;
      let f = 0;
      for (let r = 0; r < n; r++) {
        const takeKept =
          f >= fresh.length || (k < keptIds.length && compareUtf8(keptIds[k]!, members[fresh[f]!]!.id) < 0);
        if (takeKept) {
          out[r] = keptIndexes[k]!;
          sorted[r] = keptIds[k++]!;
        } else {
          out[r] = fresh[f]!;
          sorted[r] = members[fresh[f++]!]!.id;
        }
      }
    }
    this.sorted = sorted;
    return out;
  }
}
