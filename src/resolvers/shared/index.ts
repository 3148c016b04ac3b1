/** Registry-agnostic helpers for resolvers that watch a registry. */

export type {
  LifecycleSchedule,
  RegistryAnswer,
  ResolverAdapter,
  WatchHandle,
  WatchSink,
} from './adapter';
export { type BackoffOptions, ExponentialBackoff } from './backoff';
export { LifecycleResolver } from './lifecycle';
export { ResolverError, type ResolverErrorCode, toResolverError } from './resolver-error';
export { TokenBucket } from './token-bucket';
