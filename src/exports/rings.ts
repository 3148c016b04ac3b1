/**
 * `grpc-consistent-hash/rings`: the ring algorithms (ketama, gRPC ring_hash, maglev, rendezvous) and their
 * hashes as plain functions, with no gRPC, plus the distribution simulation behind the CLI's
 * `simulate` command. The `consistent_hash` policy does not need this entry point.
 * @module
 */

export {
  type DistributionReport,
  type DistributionSetup,
  generateKeys,
  type KeySample,
  type KeySampleOptions,
  type MemberDistribution,
  ringOwnership,
  simulateDistribution,
} from '../rings/distribution';
export {
  buildRing,
  capRingSizes,
  crc32String,
  createRingBuilder,
  DEFAULT_MAX_RING_SIZE,
  DEFAULT_MIN_RING_SIZE,
  DEFAULT_RING_SIZE_CAP,
  DEFAULT_TABLE_SIZE,
  DEFAULT_VNODES,
  formatUint64Decimal,
  KETAMA_POINT_BUDGET,
  ketamaPointCounts,
  MAX_TABLE_SIZE,
  parseUint64Decimal,
  RING_ALGORITHMS,
  type RingBuildSteps,
  rendezvousDraw,
  rendezvousScore,
  runFor,
  runToEnd,
  xxh64String,
} from '../rings/index';
export type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from '../rings/types';
