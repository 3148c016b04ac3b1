/**
 * The consistent-hash rings: pure algorithms, no gRPC.
 * @module
 */
import { KetamaRingBuilder } from './ketama-ring';
import { MaglevTableBuilder } from './maglev-table';
import { RendezvousRingBuilder } from './rendezvous';
import { RingHashRingBuilder } from './ring-hash-ring';
import { checkAlgorithm, resolveRingOptions } from './ring-options';
import type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from './types';

/**
 * Creates a builder for one algorithm with fixed options. Options are validated at once: a
 * RangeError names the option and its value. The builder keeps per-member work between builds
 * (ketama points, ring_hash entry hashes, maglev offset/skip, rendezvous seeds) for current members only.
 */
export function createRingBuilder(algorithm: RingAlgorithm, options?: RingOptions): RingBuilder {
  const o = resolveRingOptions(options);
  switch (checkAlgorithm(algorithm)) {
    case 'ketama':
      return new KetamaRingBuilder(o.vnodes);
    case 'ring_hash':
      return new RingHashRingBuilder(o.minRingSize, o.maxRingSize);
    case 'maglev':
      return new MaglevTableBuilder(o.tableSize);
    case 'rendezvous':
      return new RendezvousRingBuilder();
  }
}

/** Builds one ring (one-shot; use {@link createRingBuilder} for repeated builds). */
export function buildRing(
  algorithm: RingAlgorithm,
  members: readonly RingMember[],
  options?: RingOptions,
): HashRing {
  return createRingBuilder(algorithm, options).build(members);
}

export { type RingBuildSteps, runFor, runToEnd } from './build-steps';
export { compareUtf8 } from './compare-ids';
export { crc32String } from './crc32';
export { KetamaRing, ketamaMemberPoints, ketamaPointCount, ketamaPointCounts } from './ketama-ring';
export { MaglevTable, maglevPermutation } from './maglev-table';
export { md5 } from './md5';
export { RendezvousRing, rendezvousScore } from './rendezvous';
export { rendezvousDraw } from './rendezvous-kernel';
export { RingHashRing, ringHashEntryCounts } from './ring-hash-ring';
export {
  capRingSizes,
  DEFAULT_MAX_RING_SIZE,
  DEFAULT_MIN_RING_SIZE,
  DEFAULT_RING_SIZE_CAP,
  DEFAULT_TABLE_SIZE,
  DEFAULT_VNODES,
  isPrime,
  KETAMA_POINT_BUDGET,
  keyHashBits,
  MAX_TABLE_SIZE,
  MAX_VNODES,
  RING_ALGORITHMS,
  RING_SIZE_UPPER_BOUND,
} from './ring-options';
export type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from './types';
export { formatUint64Decimal, parseUint32Decimal, parseUint64Decimal, uint64Mod } from './uint64';
export { xxh64Bytes, xxh64String } from './xxhash64';
