import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildRing,
  createRingBuilder,
  type HashRing,
  type KetamaRing,
  type RingMember,
} from '../../src/rings';
import { ownerIds, positionValues } from '../support/ring-inspection';

// Pairs of ids whose 64 ketama points share one value (found by a birthday search): rings with
// both hold a tie, ordered by id.
const COLLIDING: readonly (readonly [string, string, number])[] = [
  ['10.0.3.143:8080', '10.0.4.108:8080', 836088100],
  ['10.0.2.218:8080', '10.0.5.65:8080', 1078076165],
  ['10.0.1.93:8080', '10.0.10.86:8080', 226838887],
  ['10.0.10.238:8080', '10.0.11.134:8080', 512656592],
];
const TIED = COLLIDING.flatMap((pair) => pair.slice(0, 2) as string[]);
const filler = (i: number) => `10.1.${(i >> 8) & 255}.${i & 255}:9000`;
const POOL = [...TIED, ...Array.from({ length: 120 }, (_, i) => filler(i))];

/** Deterministic uint32 probes, plus every tie value. */
const probes = [
  0,
  0xffffffff,
  ...COLLIDING.map(([, , p]) => p),
  ...Array.from({ length: 3000 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0),
];

/** First index with points[i] >= key, wrapping to 0: a plain binary search of the whole ring. */
function plainLocate(points: Uint32Array, key: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low === points.length ? 0 : low;
}

function assertSameRing(actual: HashRing, expected: HashRing, context: string): void {
  // Both rings' bucket indexes (edited, or from the sort) find what a plain search finds.
  for (const ring of [actual, expected] as KetamaRing[]) {
    for (const key of probes) assert.equal(ring.locate(0, key), plainLocate(ring.points, key), `key ${key}`);
    for (let p = 0; p < ring.size; p += 61) {
      const v = ring.points[p]!;
      for (const key of [v, (v + 1) >>> 0, (v - 1) >>> 0]) {
        assert.equal(ring.locate(0, key), plainLocate(ring.points, key), `key ${key}, ${context}`);
      }
    }
  }
  assert.deepEqual(positionValues(actual), positionValues(expected), `points, ${context}`);
  assert.deepEqual(ownerIds(actual), ownerIds(expected), `owners, ${context}`);
  const owner = (ring: HashRing, key: number) => ring.members[ring.memberAt(ring.locate(0, key))]!.id;
  for (const key of probes) assert.equal(owner(actual, key), owner(expected, key), `key ${key}, ${context}`);
  // The owners array (member indexes) agrees with memberAt.
  const owners = (actual as KetamaRing).owners;
  for (let p = 0; p < actual.size; p += 97) assert.equal(owners[p], actual.memberAt(p));
}

/** A ketama builder that counts the builds that edited the last ring (not fell back to a full build). */
function countingBuilder(): { build: (m: readonly RingMember[]) => HashRing; edits: () => number } {
  const builder = createRingBuilder('ketama');
  const inner = builder as unknown as { edit: (...args: unknown[]) => unknown };
  const edit = inner.edit.bind(builder);
  let edits = 0;
  inner.edit = (...args) => {
    const ring = edit(...args);
    if (ring !== undefined) edits++;
    return ring;
  };
  return { build: (m) => builder.build(m), edits: () => edits };
}

describe('ketama edited rings', () => {
  it('equal a fresh build through additions, removals, replacements, weight changes and reorders', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.constantFrom(...POOL) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), id: fc.constantFrom(...POOL) }),
      // Weights 1..3 at 64 vnodes: a new point count, so the member's points leave and re-enter.
      fc.record({
        kind: fc.constant('weight' as const),
        at: fc.nat(),
        weight: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('reorder' as const), seed: fc.nat() }),
    );
    let edits = 0;
    fc.assert(
      fc.property(
        fc.shuffledSubarray(POOL, { minLength: 40, maxLength: 60 }),
        fc.array(step, { minLength: 1, maxLength: 8 }),
        (ids, steps) => {
          const builder = countingBuilder();
          let members: RingMember[] = ids.map((id) => ({ id }));
          builder.build(members);
          for (const s of steps) {
            if (s.kind === 'add' && !members.some((m) => m.id === s.id)) members = [...members, { id: s.id }];
            else if (s.kind === 'remove' && members.length > 1) {
              members = members.filter((_, i) => i !== s.at % members.length);
            } else if (s.kind === 'replace' && !members.some((m) => m.id === s.id)) {
              members = members.map((m, i) => (i === s.at % members.length ? { id: s.id } : m));
            } else if (s.kind === 'weight') {
              members = members.map((m, i) =>
                i === s.at % members.length ? { id: m.id, weight: s.weight } : m,
              );
            } else if (s.kind === 'reorder') {
              // A rotation and a swap: ids no longer at their last index.
              const k = s.seed % members.length;
              members = [...members.slice(k), ...members.slice(0, k)];
              const j = (s.seed >> 3) % members.length;
              [members[0], members[j]] = [members[j]!, members[0]!];
            }
            assertSameRing(builder.build(members), buildRing('ketama', members), JSON.stringify(s));
          }
          edits += builder.edits();
        },
      ),
      { seed: 20261127, numRuns: 40 },
    );
    assert.ok(edits > 100, `the edit path ran ${edits} times`);
  });

  it('keeps ties between equal points ordered by id, whichever member arrives first', () => {
    const base = Array.from({ length: 40 }, (_, i) => ({ id: filler(i) }));
    for (const [a, b, point] of COLLIDING) {
      for (const [first, second] of [
        [a, b],
        [b, a],
      ] as const) {
        const builder = countingBuilder();
        builder.build([...base, { id: first }]);
        const members = [{ id: second }, ...base, { id: first }];
        const ring = builder.build(members);
        assert.equal(builder.edits(), 1);
        assertSameRing(ring, buildRing('ketama', members), `${second} after ${first}`);
        const at = (ring as KetamaRing).points.indexOf(point);
        assert.equal((ring as KetamaRing).points[at + 1], point, 'the tie is in the ring');
        const tied = [ring.members[ring.memberAt(at)]!.id, ring.members[ring.memberAt(at + 1)]!.id];
        assert.deepEqual(tied, [a, b].sort());
        // Removing either one of the pair leaves the other's point alone.
        const without = members.filter((m) => m.id !== first);
        assertSameRing(builder.build(without), buildRing('ketama', without), `${first} removed`);
        assert.equal(builder.edits(), 2);
      }
    }
  });

  it('rebuilds the bucket index when the ring crosses a power of two', () => {
    // 31 members: 1984 points; 33 members: 2112 points, one more bucket bit.
    const builder = countingBuilder();
    const small = Array.from({ length: 31 }, (_, i) => ({ id: filler(i) }));
    builder.build(small);
    const large = [...small, { id: filler(31) }, { id: filler(32) }];
    assertSameRing(builder.build(large), buildRing('ketama', large), 'grown');
    assertSameRing(builder.build(small), buildRing('ketama', small), 'shrunk');
    assert.equal(builder.edits(), 2);
  });

  it('at 1,100 members (65,536 buckets): one replaced, one reweighted, a reorder, slots reused', () => {
    const builder = countingBuilder();
    let members = Array.from({ length: 1100 }, (_, i) => ({ id: filler(i) }) as RingMember);
    builder.build(members);
    const steps: ((m: RingMember[]) => RingMember[])[] = [
      (m) => m.map((x, i) => (i === 500 ? { id: 'replacement-a' } : x)),
      (m) => m.map((x, i) => (i === 7 ? { id: x.id, weight: 2.5 } : x)),
      (m) => [...m.slice(300), ...m.slice(0, 300)],
      (m) => [...m.filter((_, i) => i % 100 !== 3), { id: 'replacement-b' }, { id: 'ü-non-ascii' }],
      (m) => m.map((x, i) => (i === 0 ? { id: 'replacement-c' } : x)),
    ];
    for (const [k, f] of steps.entries()) {
      members = f(members);
      assertSameRing(builder.build(members), buildRing('ketama', members), `step ${k}`);
    }
    assert.equal(builder.edits(), steps.length);
  });
});
