// An independent, slow rendezvous reference written straight from the spec in docs/rings.md:
// BigInt arithmetic, zlib's CRC-32 and @node-rs/xxhash's XXH64 (none of the package's own hashing),
// and a full sort instead of a running maximum. The vectors in test/fixtures/vectors come from it.
import * as zlib from 'node:zlib';
import { xxh64 } from '@node-rs/xxhash';

const MASK64 = (1n << 64n) - 1n;

/** MurmurHash3 fmix64. */
export function fmix64(x: bigint): bigint {
  let h = x & MASK64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & MASK64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & MASK64;
  h ^= h >> 33n;
  return h;
}

export interface ReferenceMember {
  readonly id: string;
  readonly weight?: number;
}

export interface ReferenceScore {
  readonly id: string;
  /** The 52-bit draw, fmix64(seed XOR k) >> 12. */
  readonly draw: bigint;
  /** −w / ln((draw + 0.5) / 2^52). */
  readonly score: number;
}

/** CRC-32 (IEEE) of the key's UTF-8 bytes. */
export function referenceKeyHash(key: string): number {
  return zlib.crc32(Buffer.from(key, 'utf8'));
}

/** XXH64 of the member's UTF-8 hash key, seed 0. */
export function referenceSeed(id: string): bigint {
  return xxh64(Buffer.from(id, 'utf8'), 0n);
}

export function referenceDraw(id: string, keyHash: number): bigint {
  return fmix64(referenceSeed(id) ^ BigInt(keyHash >>> 0)) >> 12n;
}

/** Every member ranked for the key hash: by score, then draw (both descending), then id in UTF-8 byte order. */
export function referenceOrder(members: readonly ReferenceMember[], keyHash: number): ReferenceScore[] {
  const scored = members.map((m) => {
    const draw = referenceDraw(m.id, keyHash);
    const u = (Number(draw) + 0.5) / 2 ** 52;
    return { id: m.id, draw, score: -(m.weight ?? 1) / Math.log(u) };
  });
  return scored.sort(
    (a, b) =>
      b.score - a.score ||
      (a.draw === b.draw ? 0 : a.draw > b.draw ? -1 : 1) ||
      Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8')),
  );
}

/** The owner of a string key. */
export function referenceOwner(members: readonly ReferenceMember[], key: string): string {
  return referenceOrder(members, referenceKeyHash(key))[0]!.id;
}
