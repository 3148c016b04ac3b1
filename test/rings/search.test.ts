import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildRing, KetamaRing, MaglevTable, RingHashRing } from '../../src/rings';
import { buildBucketIndex } from '../../src/rings/bucket-index';
import { uint64Mod } from '../../src/rings/uint64';

const RUNS = { seed: 20261124, numRuns: 200 } as const;

/** Reference: first index with sorted[i] >= key (or length), by a plain binary search. */
function lowerBound32(sorted: Uint32Array, key: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Reference for ring_hash: first entry with (hi, lo) >= (h, l), wrapping to 0. */
function referenceRingHash(ring: RingHashRing, h: number, l: number): number {
  for (let i = 0; i < ring.size; i++) {
    const mh = ring.hashHi[i]!;
    if (mh > h || (mh === h && ring.hashLo[i]! >= l)) return i;
  }
  return 0;
}

const members = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `10.${(i >> 8) & 255}.${i & 255}.1:${50051 + (i % 7)}` }));

/** Probes at and around every position value, plus the extremes and a pseudo-random spread. */
function probes32(values: Uint32Array): number[] {
  const out = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
  for (let i = 0; i < values.length; i += Math.max(1, values.length >> 9)) {
    const v = values[i]!;
    out.push(v, (v + 1) >>> 0, (v - 1) >>> 0);
  }
  for (let i = 0; i < 2000; i++) out.push(Math.imul(i + 1, 2654435761) >>> 0);
  return out;
}

describe('bucket index', () => {
  it('starts each bucket at the first value whose top bits reach it, for any sorted array', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 3000 }),
        (raw) => {
          const sorted = Uint32Array.from(raw).sort();
          const { starts, shift } = buildBucketIndex(sorted);
          assert.equal(starts[starts.length - 1], sorted.length);
          assert.ok(starts.length - 1 <= Math.max(2, sorted.length), 'at most about one bucket per value');
          for (let b = 0; b < starts.length - 1; b++) {
            assert.equal(starts[b], lowerBound32(sorted, (b * 2 ** shift) >>> 0), `bucket ${b}`);
          }
        },
      ),
      RUNS,
    );
  });

  it('keeps the index at most 2^16 + 1 entries however large the ring', () => {
    const { starts } = buildBucketIndex(new Uint32Array(1_000_000));
    assert.equal(starts.length, 65537);
    assert.equal(starts[0], 0);
    assert.equal(starts[1], 1_000_000);
  });
});

describe('ring search equals a plain search of the whole ring', () => {
  for (const n of [1, 3, 100, 1000]) {
    it(`ketama, ${n} members`, () => {
      const ring = buildRing('ketama', members(n)) as KetamaRing;
      assert.ok(ring instanceof KetamaRing);
      for (const key of probes32(ring.points)) {
        const expected = lowerBound32(ring.points, key);
        assert.equal(ring.locate(0, key), expected === ring.size ? 0 : expected, `key ${key}`);
      }
    });

    it(`ring_hash, ${n} members`, () => {
      const ring = buildRing('ring_hash', members(n), { minRingSize: 64, maxRingSize: 4096 }) as RingHashRing;
      assert.ok(ring instanceof RingHashRing);
      const his = probes32(ring.hashHi);
      for (let i = 0; i < his.length; i++) {
        const h = his[i]!;
        // Low halves at, around and away from the entries' own.
        const j = lowerBound32(ring.hashHi, h);
        const near = j < ring.size ? ring.hashLo[j]! : 0;
        for (const l of [0, 0xffffffff, near, (near + 1) >>> 0, (near - 1) >>> 0]) {
          assert.equal(ring.locate(h, l), referenceRingHash(ring, h, l), `(${h}, ${l})`);
        }
      }
    });
  }

  it('ketama: ties (equal points) resolve to the first of the run, as before', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 200 }), (raw) => {
        // Few distinct values: long runs of equal points, many in one bucket.
        const points = Uint32Array.from(raw, (v) => v * 0x0800_0000 + (v % 3)).sort();
        const ring = new KetamaRing([{ id: 'a' }], points, new Uint32Array(points.length));
        for (const key of probes32(points)) {
          const expected = lowerBound32(points, key);
          assert.equal(ring.locate(0, key), expected === points.length ? 0 : expected);
        }
      }),
      RUNS,
    );
  });
});

describe('maglev slot', () => {
  it('equals (hi:lo) mod M exactly, for every allowed table size class', () => {
    for (const m of [2, 3, 65537, 131071, 5000011]) {
      const table = new MaglevTable([{ id: 'a' }], new Uint32Array(m));
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          (hi, lo) => {
            const slot = table.locate(hi, lo);
            assert.equal(slot, uint64Mod(hi, lo, m));
            assert.equal(slot, Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(m)));
          },
        ),
        { seed: 20261124, numRuns: 500 },
      );
      for (const [hi, lo] of [
        [0, 0],
        [0xffffffff, 0xffffffff],
        [0, m - 1],
        [0, m],
        [m, 0],
      ] as const) {
        assert.equal(table.locate(hi, lo), uint64Mod(hi, lo, m), `${hi}:${lo} mod ${m}`);
      }
    }
  });
});
