import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRing, crc32String, parseUint64Decimal, xxh64String } from '../../src/rings';
import { type KetamaVectors, type RingHashVectors, readVectors } from '../support/ring-vectors';

const ketama = readVectors<KetamaVectors>('ketama-seed-3.json');
const ringHash = readVectors<RingHashVectors>('ring-hash-grpc-3.json');

describe('ketama seed vectors', () => {
  const ring = buildRing(
    'ketama',
    ketama.backends.map((id) => ({ id })),
    { vnodes: ketama.vnodes },
  );
  const owner = (position: number) => ring.members[ring.memberAt(position)]!.id;

  it('has 64 points per member', () => {
    assert.equal(ring.size, 64 * ketama.backends.length);
  });

  it(`places every one of the ${ketama.cases.length} uint32 keys`, () => {
    assert.ok(ketama.cases.length > 1000);
    const wrong = ketama.cases.filter((c) => owner(ring.locate(0, c.key)) !== c.backend);
    assert.deepEqual(wrong, []);
  });

  it(`hashes and places every one of the ${ketama.stringCases.length} string keys`, () => {
    assert.ok(ketama.stringCases.length > 0);
    for (const c of ketama.stringCases) {
      assert.equal(crc32String(c.keyString), c.crc32IEEE, `crc32 of ${c.keyString}`);
      assert.equal(owner(ring.locateKey(c.keyString)), c.backend, `owner of ${c.keyString}`);
    }
  });
});

describe('gRPC ring_hash vectors', () => {
  const ring = buildRing(
    'ring_hash',
    ringHash.backends.map((id) => ({ id })),
    { minRingSize: ringHash.minRingSize, maxRingSize: ringHash.maxRingSize },
  );
  const owner = (position: number) => ring.members[ring.memberAt(position)]!.id;
  const hash = new Uint32Array(2);
  const toBig = (h: Uint32Array) => ((BigInt(h[0]!) << 32n) | BigInt(h[1]!)).toString();

  it('has the grpc-go ring size for 3 equal members (ceil(1024/3) each)', () => {
    assert.equal(ring.size, 3 * 342);
  });

  it(`places every one of the ${ringHash.cases.length} hashes`, () => {
    assert.ok(ringHash.cases.length > 1000);
    const wrong = ringHash.cases.filter((c) => {
      assert.ok(parseUint64Decimal(c.hash, hash), c.hash);
      return owner(ring.locate(hash[0]!, hash[1]!)) !== c.backend;
    });
    assert.deepEqual(wrong, []);
  });

  it('hashes every keyString to the listed XXH64 and places it', () => {
    const withKeys = ringHash.cases.filter((c) => c.keyString !== undefined);
    assert.ok(withKeys.length >= 1000);
    for (const c of withKeys) {
      xxh64String(c.keyString!, 0, hash);
      assert.equal(toBig(hash), c.hash, `XXH64(${c.keyString})`);
      assert.equal(owner(ring.locateKey(c.keyString!)), c.backend, `owner of ${c.keyString}`);
    }
  });
});
