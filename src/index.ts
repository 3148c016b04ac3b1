/**
 * grpc-consistent-hash: consistent-hash load balancing and service discovery for @grpc/grpc-js.
 *
 * The main entry point stays small, so that requiring it costs next to nothing next to grpc-js:
 * `register()`, the policy's API and the `static:` resolver's. The rest lives in subpath entry
 * points: `grpc-consistent-hash/consul`, `grpc-consistent-hash/etcd`,
 * `grpc-consistent-hash/kubernetes`, `grpc-consistent-hash/rings`.
 * @packageDocumentation
 */

export * from './balancer';
export type { DiscoveredEndpoint } from './endpoint';
export { register } from './register';
export { ResolverError, type ResolverErrorCode } from './resolvers/shared/resolver-error';
export {
  parseStaticTarget,
  registerStaticResolver,
  STATIC_ENDPOINT_PER_ADDRESS_OPTION,
  STATIC_RE_RESOLUTION_INTERVAL_OPTION,
  STATIC_SCHEME,
  type StaticTargetEntry,
} from './resolvers/static';
export type { HashRing, RingAlgorithm, RingBuilder, RingMember, RingOptions } from './rings/types';
export { TRACER_NAME } from './trace';
