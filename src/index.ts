/**
 * grpc-consistent-hash: consistent-hash load balancing and service discovery for @grpc/grpc-js.
 * @packageDocumentation
 */

export * from './balancer';
export type { DiscoveredEndpoint } from './endpoint';
export { register } from './register';
export * from './resolvers/consul';
export * from './resolvers/etcd';
export * from './resolvers/static';
export {
  buildRing,
  crc32String,
  createRingBuilder,
  formatUint64Decimal,
  parseUint64Decimal,
  xxh64String,
} from './rings';
export { generateKeys, ringOwnership, simulateDistribution } from './rings/distribution';
export type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from './rings/types';
export { TRACER_NAME } from './trace';
