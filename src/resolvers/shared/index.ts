/** Registry-agnostic helpers for resolvers that watch a registry. */
export { type BackoffOptions, ExponentialBackoff } from './backoff';
export { parseGoDuration } from './go-duration';
export { TokenBucket } from './token-bucket';
