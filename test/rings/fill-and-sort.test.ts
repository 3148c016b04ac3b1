import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fillMaglevTable, maglevPermutation } from '../../src/rings/maglev-table';
import { sortEntries } from '../../src/rings/ring-hash-ring';

/** Envoy's weighted fill as a plain scan of every member in every iteration: the reference. */
function scanFill(
  permutations: { offset: number; skip: number }[],
  weights: Float64Array,
  m: number,
): Uint32Array {
  const n = permutations.length;
  let sum = 0;
  for (const w of weights) sum += w;
  const normalized = weights.map((w) => w / sum);
  const maxWeight = Math.max(...normalized);
  const table = new Uint32Array(m);
  const taken = new Uint8Array(m);
  const next = new Float64Array(n);
  const target = new Float64Array(n);
  let filled = 0;
  for (let iteration = 1; filled < m; iteration++) {
    for (let i = 0; i < n && filled < m; i++) {
      if (iteration * normalized[i]! < target[i]!) continue;
      target[i]! += maxWeight;
      const { offset, skip } = permutations[i]!;
      let c = (offset + ((skip * next[i]!) % m)) % m;
      while (taken[c] === 1) {
        next[i]!++;
        c = (c + skip) % m;
      }
      taken[c] = 1;
      table[c] = i;
      next[i]!++;
      filled++;
    }
  }
  return table;
}

/** fillMaglevTable on offset and skip arrays. */
function fill(
  permutations: { offset: number; skip: number }[],
  weights: Float64Array,
  m: number,
): Uint32Array {
  const offsets = Int32Array.from(permutations, (p) => p.offset);
  const skips = Int32Array.from(permutations, (p) => p.skip);
  return fillMaglevTable(offsets, skips, weights, m);
}

/**
 * Asserts that sortEntries orders the entries as a (hash, rank) comparator sort does, and returns
 * its order. Equal (hash, rank) entries may come in either order, so what they carry is compared.
 */
function assertOrderedAsComparator(hi: Uint32Array, lo: Uint32Array, rank: Uint32Array): number[] {
  const expected = Array.from(hi, (_, i) => i).sort(
    (a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || rank[a]! - rank[b]!,
  );
  const sorted = [...sortEntries(hi, lo, rank)];
  assert.deepEqual(
    sorted.map((i) => [hi[i], lo[i], rank[i]]),
    expected.map((i) => [hi[i], lo[i], rank[i]]),
  );
  return sorted;
}

describe('maglev fill', () => {
  it('fills exactly as the scan does, for near-equal and for skewed weights', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant(1),
            fc.double({ min: 0.001, max: 1000, noNaN: true }),
            fc.constant(Number.MIN_VALUE),
            fc.constant(1e-300),
          ),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        fc.constantFrom(2, 3, 101, 1009, 4099),
        (raw, m) => {
          const weights = Float64Array.from(raw);
          const permutations = raw.map((_, i) => maglevPermutation(`10.0.${i}.1:80`, m));
          assert.deepEqual(fill(permutations, weights, m), scanFill(permutations, weights, m));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fills the default table exactly as the scan does with thousands of members (its last free slots picked from a list)', () => {
    const m = 65537;
    const n = 2000;
    const permutations = Array.from({ length: n }, (_, i) =>
      maglevPermutation(`10.${i >> 8}.${i & 255}.1:80`, m),
    );
    // Equal weights, near-equal ones (the scan), and one heavy member (the queue).
    const equal = new Float64Array(n).fill(1);
    const near = Float64Array.from({ length: n }, (_, i) => 1 + (i % 4));
    const skewed = new Float64Array(300).fill(1);
    skewed[7] = 50;
    assert.deepEqual(fill(permutations, equal, m), scanFill(permutations, equal, m));
    assert.deepEqual(fill(permutations, near, m), scanFill(permutations, near, m));
    const few = permutations.slice(0, 300);
    assert.deepEqual(fill(few, skewed, m), scanFill(few, skewed, m));
  });

  it('one heavy member among 5,000 light ones fills the default table with the queue (the scan made 3 × 10^8 visits)', () => {
    const n = 5000;
    const weights = new Float64Array(n).fill(0.001);
    weights[0] = 1000;
    const permutations = Array.from({ length: n }, (_, i) =>
      maglevPermutation(`10.${i >> 8}.${i & 255}.1:80`, 65537),
    );
    const table = fill(permutations, weights, 65537);
    let heavy = 0;
    for (const owner of table) if (owner === 0) heavy++;
    // Envoy's rule gives the heavy member all but the light members' first slots.
    assert.equal(heavy, 65537 - (n - 1));
  });
});

describe('ring_hash entry sort', () => {
  it('orders uniform hashes (one bucket each, by insertion) and clustered ones (a crowded bucket) as a comparator sort does', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 1, 0x12345678, 0xffffffff), fc.nat(0xfff)),
            fc.oneof(fc.nat(0xffffffff), fc.constantFrom(0, 5)),
            fc.nat(3),
          ),
          { maxLength: 3000, size: 'max' },
        ),
        (entries) => {
          const sorted = assertOrderedAsComparator(
            Uint32Array.from(entries.map((e) => e[0])),
            Uint32Array.from(entries.map((e) => e[1])),
            Uint32Array.from(entries.map((e) => e[2])),
          );
          assert.deepEqual(
            [...sorted].sort((a, b) => a - b),
            entries.map((_, i) => i),
          );
        },
      ),
      { seed: 11, numRuns: 100, endOnFailure: true },
    );
  });

  it('orders by (high half, low half, rank) as a comparator sort does, ties on the high half included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat(0xffffffff), fc.nat(50)), {
          maxLength: 200,
        }),
        (entries) => {
          assertOrderedAsComparator(
            Uint32Array.from(entries.map((e) => e[0] * 0x2000_0000)),
            Uint32Array.from(entries.map((e) => e[1])),
            Uint32Array.from(entries.map((e) => e[2])),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
