import * as grpc from '@grpc/grpc-js';
import {
  CONSISTENT_HASH_TYPE_NAME,
  ConsistentHashConfig,
  type ConsistentHashSettings,
  parseConsistentHashSettings,
} from './config';
import { lazyLoadBalancerClass } from './lazy-load-balancer';
import {
  parseRingHashExperimentalSettings,
  RING_HASH_EXPERIMENTAL_TYPE_NAME,
  RingHashExperimentalConfig,
} from './ring-hash-experimental-config';

export {
  createHashKeyInterceptor,
  type HashKeyCallOptions,
  type HashKeyInterceptorOptions,
  withHashKey,
} from './call-key';
export {
  type AffinityMode,
  CONSISTENT_HASH_TYPE_NAME,
  type ConnectMode,
  ConsistentHashConfigError,
  type ConsistentHashJsonConfig,
  type ConsistentHashSettings,
  DEFAULT_HASH_HEADER,
  type MissingKeyMode,
} from './config';
export { RING_HASH_EXPERIMENTAL_TYPE_NAME } from './ring-hash-experimental-config';
export { endpointHashKey, endpointWeight, MAX_ENDPOINT_WEIGHT } from './ring-members';
export { RING_SIZE_CAP_OPTION } from './ring-size-cap';

/**
 * Registers `consistent_hash` and `ring_hash_experimental` with grpc-js. Idempotent. It does not
 * touch grpc-js-xds's `ring_hash`, which keeps working inside xDS.
 */
export function registerConsistentHashPolicy(): void {
  // The policy, its pickers and the rings load when a channel first uses the policy.
  const loadBalancers = () => require('./load-balancer') as typeof import('./load-balancer');
  grpc.experimental.registerLoadBalancerType(
    CONSISTENT_HASH_TYPE_NAME,
    lazyLoadBalancerClass(() => loadBalancers().ConsistentHashLoadBalancer),
    ConsistentHashConfig,
  );
  grpc.experimental.registerLoadBalancerType(
    RING_HASH_EXPERIMENTAL_TYPE_NAME,
    lazyLoadBalancerClass(() => loadBalancers().RingHashExperimentalLoadBalancer),
    RingHashExperimentalConfig,
  );
}

/**
 * Checks a config up front. Accepts the policy's own JSON (`{ hashHeader: ... }`) or a
 * `loadBalancingConfig` entry (`{ consistent_hash: {...} }` or `{ ring_hash_experimental: {...} }`).
 * Returns the parsed settings with defaults filled in.
 * @throws ConsistentHashConfigError naming the field and the value.
 */
export function validateConfig(json: unknown): ConsistentHashSettings {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const keys = Object.keys(json);
    if (keys.length === 1 && keys[0] === CONSISTENT_HASH_TYPE_NAME) {
      return parseConsistentHashSettings((json as Record<string, unknown>)[CONSISTENT_HASH_TYPE_NAME]);
    }
    if (keys.length === 1 && keys[0] === RING_HASH_EXPERIMENTAL_TYPE_NAME) {
      return parseRingHashExperimentalSettings(
        (json as Record<string, unknown>)[RING_HASH_EXPERIMENTAL_TYPE_NAME],
      );
    }
  }
  return parseConsistentHashSettings(json);
}
