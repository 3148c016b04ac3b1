import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRing, createRingBuilder, type RingAlgorithm, ringHashEntryCounts } from '../../src/rings';

const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev'];

describe('createRingBuilder option validation', () => {
  const bad: [object, RegExp][] = [
    [{ vnodes: 0 }, /^vnodes must be an integer in \[1, 65536\], got 0$/],
    [{ vnodes: 1.5 }, /vnodes .* got 1\.5/],
    [{ vnodes: Number.NaN }, /vnodes .* got NaN/],
    [{ minRingSize: 0 }, /minRingSize .*\[1, 8388608\].* got 0/],
    [{ maxRingSize: 8388609 }, /maxRingSize .*\[1, 8388608\].* got 8388609/],
    [{ minRingSize: 4097 }, /minRingSize \(4097\) must not exceed maxRingSize \(4096\)/],
    [{ minRingSize: 10, maxRingSize: 5 }, /minRingSize \(10\) must not exceed maxRingSize \(5\)/],
    [{ tableSize: 65536 }, /tableSize must be a prime, got 65536/],
    [{ tableSize: 1 }, /tableSize .* got 1/],
    // Envoy's largest table fills in about 0.8 s: above the ~100 ms bound on one update.
    [{ tableSize: 5000011 }, /^tableSize must be an integer in \[2, 655373\], got 5000011$/],
    [{ tableSize: '65537' }, /tableSize .* got 65537/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)} at once, for every algorithm`, () => {
      for (const algorithm of ALGORITHMS) {
        assert.throws(() => createRingBuilder(algorithm, options), { name: 'RangeError', message });
      }
    });
  }

  it('rejects an unknown algorithm by name', () => {
    assert.throws(() => createRingBuilder('jump_hash' as RingAlgorithm), {
      name: 'RangeError',
      message: /algorithm must be one of ketama, ring_hash, maglev, rendezvous, got jump_hash/,
    });
  });

  it('accepts the bounds', () => {
    assert.equal(
      createRingBuilder('ring_hash', { minRingSize: 8388608, maxRingSize: 8388608 }).algorithm,
      'ring_hash',
    );
    assert.equal(createRingBuilder('maglev', { tableSize: 655373 }).algorithm, 'maglev');
    assert.equal(buildRing('maglev', [{ id: 'a' }, { id: 'b' }], { tableSize: 7 }).size, 7);
  });
});

describe('build() member validation', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: rejects empty lists, duplicate ids and bad weights with a RangeError`, () => {
      const builder = createRingBuilder(algorithm, { tableSize: 101 });
      assert.throws(() => builder.build([]), {
        name: 'RangeError',
        message: /members must be a non-empty list/,
      });
      assert.throws(() => builder.build([{ id: 'a' }, { id: 'a' }]), {
        name: 'RangeError',
        message: /members\[1\]\.id is a duplicate: "a"/,
      });
      for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        assert.throws(() => builder.build([{ id: 'a', weight }]), {
          name: 'RangeError',
          message: new RegExp(`members\\[0\\]\\.weight must be a finite number > 0, got ${weight}`),
        });
      }
      // A failed build leaves the builder usable.
      assert.equal(builder.build([{ id: 'a' }]).members.length, 1);
    });
  }
});

describe('weight rules', () => {
  it('ketama: round(w × vnodes) points, rounded up to whole digests of 4', () => {
    const ring = buildRing('ketama', [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 2 },
      { id: 'c', weight: 0.001 },
    ]);
    const count = (id: string) =>
      Array.from({ length: ring.size }, (_, p) => ring.members[ring.memberAt(p)]!.id).filter((x) => x === id)
        .length;
    assert.equal(count('a'), 64);
    assert.equal(count('b'), 128);
    assert.equal(count('c'), 4);
    assert.equal(buildRing('ketama', [{ id: 'a' }], { vnodes: 10 }).size, 12);
  });

  it('ring_hash: the grpc-go scale rule', () => {
    assert.deepEqual(
      Array.from(ringHashEntryCounts(new Float64Array([1, 1, 1]), 1024, 4096)),
      [342, 342, 342],
    );
    assert.deepEqual(Array.from(ringHashEntryCounts(new Float64Array([1, 2]), 1024, 4096)), [342, 684]);
    // minWeight 1/1001: ceil(1024/1001)*1001 = 2002 entries.
    const skewed = ringHashEntryCounts(new Float64Array([1, 1000]), 1024, 4096);
    assert.equal(skewed[0]! + skewed[1]!, 2002);
    // The max ring size caps the scale.
    const capped = ringHashEntryCounts(new Float64Array([1, 10000]), 1024, 4096);
    assert.equal(capped[0]! + capped[1]!, 4096);
    assert.equal(capped[0], 1);
  });

  it('ring_hash: weights whose sum overflows count as their ratios, however many members', () => {
    const huge = ringHashEntryCounts(new Float64Array(200_000).fill(1e304), 1024, 4096);
    assert.deepEqual(huge, ringHashEntryCounts(new Float64Array(200_000).fill(1), 1024, 4096));
  });
});
