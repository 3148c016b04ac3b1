import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareUtf8, type RingMember } from '../../src/rings';
import { IdOrder } from '../../src/rings/id-order';
import { checkMembers } from '../../src/rings/ring-options';
import { applyListEdit } from '../support/ring-arbitraries';

// No shrinking: long lists shrink slowly; the seed reproduces a failure.
const RUNS = { seed: 20261127, numRuns: 40, endOnFailure: true } as const;

/** Ids that a native string sort orders as UTF-8 does, and ids where it does not (surrogates vs U+E000..). */
const plainId = fc.integer({ min: 0, max: 99999 }).map((i) => `10.${i % 256}.${i >> 8}.1:80`);
const highId = fc
  .tuple(fc.constantFrom('a', '\u{1F600}', '\uE000', '\uFFFD', 'b'), fc.nat(9999))
  .map(([c, i]) => `${c}${i}`);

/** One change to a member list. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), id: fc.oneof(plainId, highId), at: fc.nat() }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('replace' as const), id: fc.oneof(plainId, highId), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('rotate' as const), by: fc.nat() }),
  fc.record({ kind: fc.constant('shuffle' as const), seed: fc.nat() }),
  fc.record({
    kind: fc.constant('many' as const),
    ids: fc.uniqueArray(plainId, { minLength: 1, maxLength: 300 }),
  }),
);

function apply(ids: string[], s: StepValue): string[] {
  switch (s.kind) {
    case 'shuffle': {
      const out = ids.slice();
      let x = s.seed | 1;
      for (let i = out.length - 1; i > 0; i--) {
        x = Math.imul(x, 1103515245) + 12345;
        const j = (x >>> 8) % (i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    }
    case 'many': {
      // Many new ids at once: more than a quarter of the list, the full-sort path.
      const has = new Set(ids);
      return [...ids, ...s.ids.filter((id) => !has.has(id))];
    }
    default:
      return applyListEdit(
        ids,
        s,
        (id) => id,
        (id) => id,
      );
  }
}
type StepValue = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** The reference: indexes sorted by UTF-8 id order. */
function expectedOrder(ids: readonly string[]): number[] {
  return ids.map((_, i) => i).sort((a, b) => compareUtf8(ids[a]!, ids[b]!));
}

const members = (ids: readonly string[]): RingMember[] => ids.map((id) => ({ id }));

describe('IdOrder', () => {
  it('orders as a fresh sort after additions, removals, replacements, swaps, rotations and shuffles', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(plainId, plainId, highId), { minLength: 1, maxLength: 1500, size: 'max' }),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        (start, steps) => {
          const order = new IdOrder();
          let ids = start;
          assert.deepEqual([...order.order(members(ids))], expectedOrder(ids));
          for (const s of steps) {
            const before = order.sortedRecords.map((r) => r.id);
            const next = apply(ids, s);
            const added = next.filter((id) => !before.includes(id)).length;
            ids = next;
            assert.deepEqual([...order.order(members(ids))], expectedOrder(ids));
            // A previous rank names the same id; with few new ids every kept id has one.
            const ranks = order.previousRanks;
            order.sortedRecords.forEach((r, rank) => {
              const last = ranks[rank]!;
              if (last >= 0) assert.equal(before[last], r.id);
              else if (added <= ids.length >> 2)
                assert.ok(!before.includes(r.id), `${r.id} kept without its rank`);
            });
            assert.deepEqual(
              order.sortedRecords.map((r) => r.id),
              expectedOrder(ids).map((i) => ids[i]),
            );
            // One record per current id, each naming its index.
            assert.equal(order.cache.size, ids.length);
            for (const r of order.sortedRecords) assert.equal(ids[r.index], r.id);
          }
        },
      ),
      RUNS,
    );
  });

  it('keeps a record (and its data) for an id that stays, and drops it when the id leaves', () => {
    const order = new IdOrder<string>();
    const ids = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`);
    order.order(members(ids));
    for (const r of order.sortedRecords) r.data = `data of ${r.id}`;
    const next = [...ids.slice(1), 'new'];
    order.order(members(next));
    for (const r of order.sortedRecords) assert.equal(r.data, r.id === 'new' ? undefined : `data of ${r.id}`);
    assert.equal(order.cache.has(ids[0]!), false);
  });

  it('throws the duplicate-id RangeError of checkMembers and stays usable', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(plainId, { minLength: 2, maxLength: 800, size: 'max' }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (ids, a, b, warm) => {
          const order = new IdOrder();
          if (warm) order.order(members(ids));
          const i = a % ids.length;
          let j = b % ids.length;
          if (j === i) j = (j + 1) % ids.length;
          const bad = [...ids, 'fresh-one'];
          bad[Math.max(i, j)] = ids[Math.min(i, j)]!;
          const expected = errorOf(() => checkMembers(members(bad)));
          assert.ok(expected instanceof RangeError);
          assert.deepEqual(
            errorOf(() => order.order(members(bad))),
            expected,
          );
          // The failed list left no trace: the next order is a fresh sort's.
          const next = [...ids.slice(1), 'fresh-one'];
          assert.deepEqual([...order.order(members(next))], expectedOrder(next));
          assert.equal(order.cache.size, next.length);
        },
      ),
      RUNS,
    );
  });
});

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('checkMembers without its duplicate check', () => {
  it('with the id order, reports the same first error as with its own set', () => {
    const member = fc.oneof(
      fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
      fc.record({ id: fc.constantFrom('a', 'b', 'c'), weight: fc.constantFrom(1, 2, 0, -1, Number.NaN) }),
      fc.constant({ id: 7 } as unknown as RingMember),
      fc.constant(null as unknown as RingMember),
    );
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), (list) => {
        const expected = errorOf(() => checkMembers(list));
        const actual = errorOf(() => {
          checkMembers(list, false);
          new IdOrder().order(list);
        });
        assert.deepEqual(actual, expected);
        if (expected !== undefined) assert.ok(actual instanceof RangeError);
      }),
      { seed: 5, numRuns: 500 },
    );
  });
});
