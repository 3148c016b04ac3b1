/**
 * grpc-consistent-hash: consistent-hash load balancing and service discovery for @grpc/grpc-js.
 * @packageDocumentation
 */

export type { DiscoveredEndpoint } from './endpoint';
export { register } from './register';
export { buildRing, createRingBuilder } from './rings';
export type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from './rings/types';
export { TRACER_NAME } from './trace';
