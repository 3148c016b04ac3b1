import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildRing, crc32String, type RingMember } from '../../src/rings';
import { CandidateOrder } from '../../src/rings/candidate-order';
import { generateKeys } from '../../src/rings/distribution';
import { RendezvousRing, RendezvousRingBuilder, rendezvousScore } from '../../src/rings/rendezvous';
import {
  createRendezvousKernel,
  JsRendezvousKernel,
  rendezvousDraw,
  WasmRendezvousKernel,
} from '../../src/rings/rendezvous-kernel';
import {
  referenceDraw,
  referenceOrder,
  referenceOwner,
  referenceSeed,
} from '../support/rendezvous-reference';
import { addressId } from '../support/ring-arbitraries';
import { readVectors } from '../support/ring-vectors';

interface Vectors {
  readonly sets: {
    readonly name: string;
    readonly members: RingMember[];
    readonly seeds: { id: string; xxh64: string }[];
    readonly cases: { key: string; crc32: number; owner: string; order: string[] }[];
  }[];
  readonly draws: { id: string; key: string; draw: string }[];
}

const vectors = readVectors<Vectors>('rendezvous-v1.json');

/** Both kernels: WebAssembly (the default here) and the JavaScript fallback. */
const builders = [
  { kernel: 'WebAssembly', builder: () => new RendezvousRingBuilder(false) },
  { kernel: 'JavaScript', builder: () => new RendezvousRingBuilder(true) },
] as const;

function ownerOf(ring: RendezvousRing, key: string): string {
  return ring.members[ring.memberAt(ring.locateKey(key))]!.id;
}

/** The whole candidate order of a key, as the picker walks it. */
function candidateIds(ring: RendezvousRing, key: string): string[] {
  const order = new CandidateOrder(ring);
  order.start(ring.locateKey(key), key, 0, 0);
  const ids: string[] = [];
  for (let m = order.next(); m >= 0; m = order.next()) ids.push(ring.members[m]!.id);
  return ids;
}

const RUNS = { seed: 20261127, numRuns: 30 } as const;

describe('rendezvous: the kernel', () => {
  it('uses WebAssembly here, and the JavaScript loop when asked', () => {
    const hi = Int32Array.of(1, 2);
    const lo = Int32Array.of(3, 4);
    assert.ok(createRendezvousKernel(hi, lo) instanceof WasmRendezvousKernel);
    assert.ok(createRendezvousKernel(hi, lo, true) instanceof JsRendezvousKernel);
  });

  it('both kernels compute the reference draws (BigInt fmix64) and keep the first of equal maxima', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer(), fc.integer()), { minLength: 1, maxLength: 70 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (seeds, k) => {
          const hi = Int32Array.from(seeds, (s) => s[0]);
          const lo = Int32Array.from(seeds, (s) => s[1]);
          const expected = seeds.map(([h, l]) => {
            const seed = (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
            return Number(referenceDrawOfSeed(seed, k));
          });
          let best = 0;
          for (let i = 1; i < expected.length; i++) if (expected[i]! > expected[best]!) best = i;
          for (const kernel of [createRendezvousKernel(hi, lo), createRendezvousKernel(hi, lo, true)]) {
            kernel.fill(k);
            assert.deepEqual(Array.from(kernel.draws), expected);
            assert.equal(kernel.best(k), best);
          }
          for (let i = 0; i < seeds.length; i++) assert.equal(rendezvousDraw(hi[i]!, lo[i]!, k), expected[i]);
        },
      ),
      { seed: 20261127, numRuns: 200 },
    );
  });

  it('grows its memory for large member counts (10,000 seeds)', () => {
    const n = 10_000;
    const hi = Int32Array.from({ length: n }, (_, i) => Math.imul(i + 1, 0x9e3779b1));
    const lo = Int32Array.from({ length: n }, (_, i) => Math.imul(i + 7, 0x85ebca6b));
    const wasm = createRendezvousKernel(hi, lo);
    const js = createRendezvousKernel(hi, lo, true);
    for (const k of [0, 1, 0xffffffff, 123456789]) assert.equal(wasm.best(k), js.best(k));
  });

  it('equal draws: the lower index (hash key first) wins, in both kernels and in the weighted order', () => {
    // Two members with the same seed draw the same for every key.
    for (const useJs of [false, true]) {
      const ring = new RendezvousRing(
        [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
        Uint32Array.of(0, 1, 2),
        Float64Array.of(1, 1, 1),
        Int32Array.of(5, 5, 9),
        Int32Array.of(7, 7, 11),
        useJs,
      );
      const weighted = new RendezvousRing(
        [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
        Uint32Array.of(0, 1, 2),
        Float64Array.of(2, 2, 1),
        Int32Array.of(5, 5, 9),
        Int32Array.of(7, 7, 11),
        useJs,
      );
      for (let k = 0; k < 200; k++) {
        assert.notEqual(ring.locate(0, k), 1, 'b never beats a');
        assert.notEqual(weighted.locate(0, k), 1, 'b never beats a (weighted)');
      }
    }
  });
});

function referenceDrawOfSeed(seed: bigint, k: number): bigint {
  const MASK = (1n << 64n) - 1n;
  let h = seed ^ BigInt(k >>> 0);
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & MASK;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & MASK;
  h ^= h >> 33n;
  return h >> 12n;
}

describe('rendezvous: the checked-in vectors (from the BigInt reference)', () => {
  it('match the reference they were made with (seeds and draws)', () => {
    for (const set of vectors.sets) {
      for (const s of set.seeds) assert.equal(referenceSeed(s.id).toString(), s.xxh64, s.id);
    }
    for (const d of vectors.draws) {
      assert.equal(referenceDraw(d.id, crc32String(d.key)).toString(), d.draw, `${d.id} ${d.key}`);
    }
    assert.ok(vectors.draws.length >= 20);
  });

  for (const { kernel, builder } of builders) {
    for (const set of vectors.sets) {
      it(`${kernel} kernel: ${set.name}: every owner and the whole candidate order`, () => {
        const ring = builder().build(set.members);
        assert.ok(set.cases.length >= 100);
        for (const c of set.cases) {
          assert.equal(crc32String(c.key), c.crc32, `crc32 of ${JSON.stringify(c.key)}`);
          assert.equal(ownerOf(ring, c.key), c.owner, `owner of ${JSON.stringify(c.key)}`);
          assert.deepEqual(candidateIds(ring, c.key), c.order, `order of ${JSON.stringify(c.key)}`);
        }
      });
    }
  }

  it('the vector sets exercise every member as an owner', () => {
    for (const set of vectors.sets) {
      assert.equal(new Set(set.cases.map((c) => c.owner)).size, set.members.length, set.name);
    }
  });
});

describe('rendezvous: against the reference on arbitrary members and keys', () => {
  for (const { kernel, builder } of builders) {
    it(`${kernel} kernel: owners and candidate orders, equal and unequal weights`, () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(addressId, { minLength: 1, maxLength: 40 }),
          fc.array(fc.constantFrom(1, 1, 2, 3, 0.25, 10), { minLength: 40, maxLength: 40 }),
          fc.boolean(),
          fc.array(fc.string({ maxLength: 24 }), { minLength: 1, maxLength: 20 }),
          (ids, weightPool, weighted, keys) => {
            const members = ids.map((id, i) => ({ id, weight: weighted ? weightPool[i]! : 1 }));
            const ring = builder().build(members);
            for (const key of keys) {
              assert.equal(ownerOf(ring, key), referenceOwner(members, key));
              assert.deepEqual(
                candidateIds(ring, key),
                referenceOrder(members, crc32String(key)).map((s) => s.id),
              );
            }
          },
        ),
        RUNS,
      );
    });
  }

  it('equal weights: the log-free fast path places every key as the log formula does', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(addressId, { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 1000 }),
        (ids, w) => {
          // Weight w on every member: the fast path; the reference ranks by −w / ln(u).
          const members = ids.map((id) => ({ id, weight: w }));
          const ring = buildRing('rendezvous', members) as RendezvousRing;
          assert.ok(ring.equalWeights);
          for (let k = 0; k < 300; k++) {
            const hash = Math.imul(k + 1, 0x9e3779b1) >>> 0;
            const owner = ring.members[ring.memberAt(ring.locate(0, hash))]!.id;
            assert.equal(owner, referenceOrder(members, hash)[0]!.id);
          }
        },
      ),
      RUNS,
    );
  });

  it('unequal weights: the pruned lookup (logarithms only for possible winners) picks the full formula’s winner', () => {
    const configs = [
      (i: number) => 1 + (i % 3),
      (i: number) => 10 ** ((i % 7) - 3), // 0.001 … 1000
      (i: number) => (i % 2 === 0 ? 1 : 1 + 1e-12), // nearly equal: scores nearly tie
      (i: number) => (i === 0 ? 1e6 : 1),
    ];
    for (const weightOf of configs) {
      for (const n of [2, 13, 120]) {
        const members = Array.from({ length: n }, (_, i) => ({
          id: `10.1.${i >> 8}.${i & 255}:7`,
          weight: weightOf(i),
        }));
        for (const { builder } of builders) {
          const ring = builder().build(members);
          assert.ok(!ring.equalWeights);
          const seedHi = ring.seedHi;
          const seedLo = ring.seedLo;
          for (let t = 0; t < 3000; t++) {
            const k = Math.imul(t + 17, 0x9e3779b1) >>> 0;
            let best = 0;
            let bestScore = -1;
            let bestDraw = -1;
            for (let r = 0; r < n; r++) {
              const draw = rendezvousDraw(seedHi[r]!, seedLo[r]!, k);
              const score = rendezvousScore(ring.weights[r]!, draw);
              if (score > bestScore || (score === bestScore && draw > bestDraw)) {
                best = r;
                bestScore = score;
                bestDraw = draw;
              }
            }
            assert.equal(ring.locate(0, k), best, `n ${n}, key hash ${k}`);
          }
        }
      }
    }
  });

  it('the premise of that equivalence: the score never decreases as the draw grows (adjacent draws)', () => {
    // Ranking by (score, draw, id) equals ranking by (draw, id) when the score is a
    // non-decreasing function of the draw. Check neighbours across the whole 52-bit range.
    let checked = 0;
    for (let e = 0; e <= 51; e++) {
      for (let j = 0; j < 2000; j++) {
        const v = Math.min(2 ** 52 - 2, Math.floor(2 ** e * (1 + j / 2000)));
        assert.ok(rendezvousScore(1, v + 1) >= rendezvousScore(1, v), `draw ${v}`);
        assert.ok(rendezvousScore(7, v + 1) >= rendezvousScore(7, v), `draw ${v}, weight 7`);
        checked++;
      }
    }
    assert.ok(checked > 100_000);
    assert.ok(Number.isFinite(rendezvousScore(1, 0)) && rendezvousScore(1, 0) > 0);
    assert.ok(Number.isFinite(rendezvousScore(1, 2 ** 52 - 1)));
  });
});

describe('rendezvous: balance and key movement', () => {
  const members = (n: number, prefix = '10.0') =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}.${i >> 8}.${i & 255}:50051` }));
  // 1M keys as in the acceptance check; the CRC-32s are computed once.
  const keys = generateKeys({ count: 1_000_000, seed: 15 }).keys;
  const hashes = Uint32Array.from(keys, (k) => crc32String(k));

  function owners(ring: RendezvousRing): string[] {
    const ids = ring.members.map((m) => m.id);
    const out: string[] = new Array(hashes.length);
    for (let i = 0; i < hashes.length; i++) out[i] = ids[ring.memberAt(ring.locate(0, hashes[i]!))]!;
    return out;
  }

  function maxOverMean(counts: Map<string, number>, n: number): number {
    let total = 0;
    let max = 0;
    for (const c of counts.values()) {
      total += c;
      max = Math.max(max, c);
    }
    return max / (total / n);
  }

  function countBy(ids: readonly string[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }

  it('N = 50, 1M uniform keys: max/mean ≤ 1.02; a removal moves only the removed keys, which spread with max/mean ≤ 1.3; an addition moves keys only to the newcomer', () => {
    const all = members(50);
    const base = owners(buildRing('rendezvous', all) as RendezvousRing);
    const counts = countBy(base);
    assert.equal(counts.size, 50);
    const balance = maxOverMean(counts, 50);
    assert.ok(balance <= 1.02, `max/mean ${balance.toFixed(4)}`);

    const removed = all[17]!.id;
    const after = owners(
      buildRing(
        'rendezvous',
        all.filter((m) => m.id !== removed),
      ) as RendezvousRing,
    );
    const spreadTo: string[] = [];
    for (let i = 0; i < base.length; i++) {
      if (base[i] === removed) spreadTo.push(after[i]!);
      else assert.equal(after[i], base[i], `key ${keys[i]} moved though ${removed} did not own it`);
    }
    const spread = countBy(spreadTo);
    assert.equal(spread.size, 49, 'the removed keys reach every survivor');
    const spreadRatio = maxOverMean(spread, 49);
    assert.ok(spreadRatio <= 1.3, `spread max/mean ${spreadRatio.toFixed(3)}`);

    const joined = [...all, { id: '10.9.9.9:50051' }];
    const added = owners(buildRing('rendezvous', joined) as RendezvousRing);
    let gained = 0;
    for (let i = 0; i < base.length; i++) {
      if (added[i] === base[i]) continue;
      assert.equal(added[i], '10.9.9.9:50051', `key ${keys[i]} moved elsewhere than the newcomer`);
      gained++;
    }
    const share = gained / base.length;
    assert.ok(Math.abs(share - 1 / 51) < 0.002, `newcomer share ${share}`);
  });

  it('weights 1:3 give shares within 3% of the ideal (2 members, and 10 alternating)', () => {
    const subset = hashes.subarray(0, 200_000);
    for (const list of [
      [
        { id: 'a:1', weight: 1 },
        { id: 'b:1', weight: 3 },
      ],
      members(10).map((m, i) => ({ ...m, weight: i % 2 === 0 ? 1 : 3 })),
    ]) {
      for (const { builder } of builders) {
        const ring = builder().build(list);
        const counts = new Float64Array(list.length);
        for (const h of subset) counts[ring.memberAt(ring.locate(0, h))]!++;
        const totalWeight = list.reduce((s, m) => s + m.weight, 0);
        list.forEach((m, i) => {
          const ideal = m.weight / totalWeight;
          const share = counts[i]! / subset.length;
          assert.ok(Math.abs(share / ideal - 1) <= 0.03, `${m.id}: share ${share}, ideal ${ideal}`);
        });
      }
    }
  });

  it('does not depend on member order, and a rebuild reuses cached seeds with the same placement', () => {
    const list = members(30);
    const builder = new RendezvousRingBuilder();
    const a = builder.build(list);
    const b = builder.build([...list].reverse());
    const c = new RendezvousRingBuilder().build(list.slice(0, 29));
    const d = builder.build(list.slice(0, 29));
    for (let i = 0; i < 5000; i++) {
      assert.equal(ownerOf(a, keys[i]!), ownerOf(b, keys[i]!));
      assert.equal(ownerOf(c, keys[i]!), ownerOf(d, keys[i]!));
    }
  });

  it('rejects bad member lists like the other rings', () => {
    assert.throws(() => buildRing('rendezvous', []), /members must be a non-empty list/);
    assert.throws(() => buildRing('rendezvous', [{ id: 'a' }, { id: 'a' }]), /duplicate/);
    assert.throws(
      () => buildRing('rendezvous', [{ id: 'a', weight: 0 }]),
      /weight must be a finite number > 0/,
    );
  });
});
