import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedLoadLimit } from '../../src/rings/bounded-load';
import {
  assignRequests,
  balanceFigures,
  createPrng,
  generateKeys,
  hashKeys,
  memberLoads,
  movedFraction,
  offFirstChoice,
  removedSpread,
  seedFromText,
  simulateDistribution,
  syntheticMembers,
} from '../../src/rings/distribution';
import { buildRing, type RingAlgorithm } from '../../src/rings/index';
import { ringOwnership } from '../../src/rings/ownership';
import { ownershipShares } from '../support/ring-inspection';

const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev', 'rendezvous'];
const sum = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0);

describe('key generation', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = createPrng(7);
    const b = createPrng(7);
    const c = createPrng(8);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => c()),
    );
    for (const x of xs) assert.ok(x >= 0 && x < 1);
    assert.equal(seedFromText('123'), 123);
    assert.notEqual(seedFromText('abc'), seedFromText('abd'));
    const k1 = generateKeys({ count: 1000, zipf: 1.1, seed: 5 });
    const k2 = generateKeys({ count: 1000, zipf: 1.1, seed: 5 });
    assert.deepEqual(k1.keys, k2.keys);
    assert.deepEqual(k1.requests, k2.requests);
  });

  it('gives distinct keys, one request each, when uniform', () => {
    const sample = generateKeys({ count: 20000, seed: 1 });
    assert.equal(new Set(sample.keys).size, 20000);
    assert.deepEqual(Array.from(sample.requests.subarray(0, 3)), [0, 1, 2]);
    assert.equal(sample.zipf, null);
  });

  it('draws Zipf(s) ranks with the expected head frequency', () => {
    const count = 50000;
    const s = 1.1;
    const sample = generateKeys({ count, zipf: s, seed: 3 });
    let harmonic = 0;
    for (let r = 1; r <= count; r++) harmonic += r ** -s;
    const counts = new Map<number, number>();
    for (const r of sample.requests) counts.set(r, (counts.get(r) ?? 0) + 1);
    const top = (counts.get(0) ?? 0) / count;
    const expected = 1 / harmonic;
    assert.ok(Math.abs(top - expected) < 0.01, `rank 1 frequency ${top}, expected ${expected}`);
    assert.ok((counts.get(0) ?? 0) > (counts.get(9) ?? 0), 'rank 1 beats rank 10');
  });

  it('rejects bad counts and exponents, naming them', () => {
    assert.throws(() => generateKeys({ count: 0, seed: 1 }), /count must be an integer/);
    assert.throws(
      () => generateKeys({ count: 10, zipf: 0, seed: 1 }),
      /zipf must be a number in \(0, 10\], got 0/,
    );
  });
});

describe('ring ownership', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: exact shares sum to 1, agree with arc arithmetic and with sampled keys`, () => {
      const members = syntheticMembers(7);
      const ring = buildRing(algorithm, members);
      const shares = ringOwnership(ring);
      assert.ok(Math.abs(sum(shares) - 1) < 1e-9);
      const reference = ownershipShares(ring);
      for (const [i, m] of members.entries()) assert.ok(Math.abs(shares[i]! - reference.get(m.id)!) < 1e-9);
      const sample = generateKeys({ count: 60000, seed: 9 });
      const loads = memberLoads(assignRequests(ring, hashKeys(algorithm, sample.keys), sample.requests), 7);
      for (let i = 0; i < members.length; i++) {
        assert.ok(Math.abs(loads[i]! / 60000 - shares[i]!) < 0.01, `member ${i}`);
      }
    });
  }

  it('maglev with equal weights owns equal slot counts (within one slot)', () => {
    const ring = buildRing('maglev', syntheticMembers(10), { tableSize: 65537 });
    const shares = ringOwnership(ring);
    const slots = Array.from(shares, (s) => Math.round(s * 65537));
    assert.ok(Math.max(...slots) - Math.min(...slots) <= 1, `slots ${slots}`);
  });
});

describe('balance figures', () => {
  it('computes shares, max/mean and CV against equal weights', () => {
    const f = balanceFigures([1, 1, 2], [1, 1, 1]);
    assert.deepEqual(Array.from(f.shares), [0.25, 0.25, 0.5]);
    assert.ok(Math.abs(f.maxOverMean - 1.5) < 1e-12);
    // ratios 0.75, 0.75, 1.5: mean 1, population variance (0.0625 + 0.0625 + 0.25) / 3
    assert.ok(Math.abs(f.cv - Math.sqrt(0.125)) < 1e-12);
  });

  it('measures loads against weights: a perfectly weighted load is balanced', () => {
    const f = balanceFigures([10, 20, 30], [1, 2, 3]);
    assert.ok(Math.abs(f.maxOverMean - 1) < 1e-12);
    assert.ok(f.cv < 1e-12);
    assert.deepEqual(Array.from(f.ideal), [1 / 6, 2 / 6, 3 / 6]);
  });

  it('counts moved requests by member id', () => {
    const a = [{ id: 'x' }, { id: 'y' }];
    const b = [{ id: 'y' }, { id: 'x' }, { id: 'z' }];
    // before: x y x y; after (indexes into b): x x z y -> only the 2nd and 3rd changed.
    assert.equal(movedFraction(Uint32Array.of(0, 1, 0, 1), a, Uint32Array.of(1, 1, 2, 0), b), 0.5);
  });
});

describe('bounded-load assignment', () => {
  it('never lets a member exceed the bound while skewed keys arrive', () => {
    const ring = buildRing('ketama', syntheticMembers(10));
    const sample = generateKeys({ count: 20000, zipf: 1.1, seed: 2 });
    const hashes = hashKeys('ketama', sample.keys);
    const c = 1.25;
    const plain = balanceFigures(
      memberLoads(assignRequests(ring, hashes, sample.requests), 10),
      new Array(10).fill(1),
    );
    assert.ok(plain.maxOverMean > 2, `unbounded Zipf max/mean ${plain.maxOverMean}`);
    const assigned = assignRequests(ring, hashes, sample.requests, c);
    // Replay: each request found its member strictly below the limit at its arrival.
    const loads = new Float64Array(10);
    for (let r = 0; r < assigned.length; r++) {
      const m = assigned[r]!;
      assert.ok(loads[m]! < boundedLoadLimit(c, r, 1, 10), `request ${r}`);
      loads[m]!++;
    }
    const bounded = balanceFigures(loads, new Array(10).fill(1));
    assert.ok(bounded.maxOverMean <= c + 10 / 20000 + 1e-9, `bounded max/mean ${bounded.maxOverMean}`);
  });

  it('changes nothing when the bound is never reached', () => {
    const ring = buildRing('maglev', syntheticMembers(5));
    const sample = generateKeys({ count: 2000, seed: 4 });
    const hashes = hashKeys('maglev', sample.keys);
    assert.deepEqual(
      assignRequests(ring, hashes, sample.requests, 1e9),
      assignRequests(ring, hashes, sample.requests),
    );
  });

  for (const algorithm of ['ketama', 'ring_hash', 'maglev', 'rendezvous'] as const) {
    for (const spillOrder of ['walk', 'seeded'] as const) {
      it(`${algorithm}, ${spillOrder} spill, calls ending: each request below its limit, and spilled only when its owner was full`, () => {
        const ring = buildRing(algorithm, syntheticMembers(8));
        const sample = generateKeys({ count: 6000, zipf: 1.1, seed: 3 });
        const hashes = hashKeys(algorithm, sample.keys);
        const c = 1.25;
        const inFlight = 80;
        const assigned = assignRequests(ring, hashes, sample.requests, c, spillOrder, inFlight);
        // Replay with the same model: request r - inFlight ends when request r arrives.
        const loads = new Float64Array(8);
        let total = 0;
        let spilled = 0;
        for (let r = 0; r < assigned.length; r++) {
          if (r >= inFlight) {
            loads[assigned[r - inFlight]!]!--;
            total--;
          }
          const key = sample.requests[r]!;
          const owner = ring.memberAt(ring.locate(hashes.hi[key]!, hashes.lo[key]!));
          const m = assigned[r]!;
          assert.ok(loads[m]! < boundedLoadLimit(c, total, 1, 8), `request ${r}`);
          if (m !== owner) {
            spilled++;
            assert.ok(!(loads[owner]! < boundedLoadLimit(c, total, 1, 8)), `request ${r} left a free owner`);
          }
          loads[m]!++;
          total++;
        }
        assert.ok(spilled > 0, 'Zipf keys spill');
        assert.equal(offFirstChoice(ring, hashes, sample.requests, assigned), spilled / assigned.length);
      });
    }
  }

  it('the seeded spill order differs from the walk on a ring, and is the same for rendezvous (score order)', () => {
    const sample = generateKeys({ count: 5000, zipf: 1.1, seed: 5 });
    const ring = buildRing('ketama', syntheticMembers(10));
    const hashes = hashKeys('ketama', sample.keys);
    assert.notDeepEqual(
      assignRequests(ring, hashes, sample.requests, 1.25, 'walk'),
      assignRequests(ring, hashes, sample.requests, 1.25, 'seeded'),
    );
    const rv = buildRing('rendezvous', syntheticMembers(10));
    const rvHashes = hashKeys('rendezvous', sample.keys);
    assert.deepEqual(
      assignRequests(rv, rvHashes, sample.requests, 1.25, 'walk'),
      assignRequests(rv, rvHashes, sample.requests, 1.25, 'seeded'),
    );
  });

  it('rejects a factor below 1', () => {
    const ring = buildRing('ketama', syntheticMembers(2));
    const sample = generateKeys({ count: 10, seed: 4 });
    assert.throws(
      () => assignRequests(ring, hashKeys('ketama', sample.keys), sample.requests, 0.9),
      /boundedLoad must be a finite number >= 1, got 0.9/,
    );
  });
});

describe('removedSpread', () => {
  it('is the largest survivor part of the removed member requests over its fair part', () => {
    // Member 1 of 4 (weights 1, 1, 2, 1) had 4 requests; afterwards (indexes without member 1)
    // 2 went to member 0, 1 to member 2 (index 1 after), 1 to member 3 (index 2 after).
    const before = Uint32Array.of(1, 1, 1, 1, 0, 2);
    const after = Uint32Array.of(0, 0, 1, 2, 0, 1);
    const weights = Float64Array.of(1, 1, 2, 1);
    // Survivors' weight 4: member 0's fair part 1/4, it got 2/4 -> 2.
    assert.equal(removedSpread(before, 1, after, weights), 2);
    assert.equal(removedSpread(Uint32Array.of(0, 2), 1, Uint32Array.of(0, 1), weights), 0);
  });
});

describe('simulateDistribution', () => {
  it('rendezvous: leaving members move exactly their keys, which spread evenly; joins move only to the newcomer', () => {
    const report = simulateDistribution({
      algorithm: 'rendezvous',
      members: syntheticMembers(10),
      keys: generateKeys({ count: 50_000, seed: 8 }),
    });
    assert.ok(Math.abs(report.leave.ratio - 1) < 1e-9, `leave ratio ${report.leave.ratio}`);
    assert.ok(report.leave.worstSpread < 1.15, `spread ${report.leave.worstSpread}`);
    assert.ok(Math.abs(report.join.ratio - 1) < 0.05, `join ratio ${report.join.ratio}`);
    assert.ok(report.maxOverMean < 1.05);
    assert.ok(Math.abs(report.ownedMaxOverMean - 1) < 1e-12);
    assert.equal(report.spillOrder, 'score');
    assert.equal(report.offFirstChoice, 0);
  });

  it('ketama: a removed member spreads its keys onto a few successors (spread well above rendezvous)', () => {
    const keys = generateKeys({ count: 50_000, seed: 8 });
    const ketama = simulateDistribution({ algorithm: 'ketama', members: syntheticMembers(10), keys });
    assert.ok(ketama.leave.spread > 1.3, `ketama spread ${ketama.leave.spread}`);
  });

  it('ketama: a leaving member moves exactly its own keys; on average 1/N', () => {
    const report = simulateDistribution({
      algorithm: 'ketama',
      members: syntheticMembers(8),
      keys: generateKeys({ count: 20000, seed: 11 }),
    });
    assert.equal(report.members.length, 8);
    assert.ok(Math.abs(sum(report.members.map((m) => m.share)) - 1) < 1e-9);
    for (const m of report.members) {
      assert.equal(m.idealShare, 1 / 8);
      assert.ok(Math.abs(m.movedOnLeave! - m.share) < 1e-12, m.id);
    }
    assert.equal(report.leave.measured, 8);
    assert.ok(Math.abs(report.leave.ratio - 1) < 1e-9, `leave ratio ${report.leave.ratio}`);
    assert.ok(Math.abs(report.join.ideal - 1 / 9) < 1e-12);
    assert.ok(report.join.moved > 0 && report.join.ratio < 2);
  });

  it('maglev: balanced to about 1, moves near the ideal', () => {
    const report = simulateDistribution({
      algorithm: 'maglev',
      members: syntheticMembers(10),
      keys: generateKeys({ count: 50000, seed: 12 }),
    });
    assert.ok(report.ownedMaxOverMean < 1.001);
    assert.ok(report.ownedCv < 0.001);
    assert.ok(report.maxOverMean < 1.06, `max/mean ${report.maxOverMean}`);
    assert.ok(report.leave.ratio >= 1 && report.leave.ratio < 1.5, `leave ratio ${report.leave.ratio}`);
  });

  it('samples leaving members evenly and reports progress', () => {
    const steps: [number, number][] = [];
    const report = simulateDistribution({
      algorithm: 'ring_hash',
      members: syntheticMembers(12),
      keys: generateKeys({ count: 2000, seed: 13 }),
      leaving: 3,
      onProgress: (done, total) => steps.push([done, total]),
    });
    assert.equal(report.leave.measured, 3);
    assert.equal(report.members.filter((m) => m.movedOnLeave !== null).length, 3);
    assert.deepEqual(steps.at(-1), [5, 5]);
    assert.equal(steps.length, 5);
  });

  it('caps load near c with bounded load', () => {
    const report = simulateDistribution({
      algorithm: 'ring_hash',
      members: syntheticMembers(10),
      keys: generateKeys({ count: 20000, zipf: 1.1, seed: 14 }),
      boundedLoad: 1.25,
      leaving: 2,
    });
    assert.equal(report.boundedLoad, 1.25);
    assert.ok(report.maxOverMean <= 1.25 + 10 / 20000 + 1e-9, `max/mean ${report.maxOverMean}`);
  });
});
