import * as grpc from '@grpc/grpc-js';
import { CONSISTENT_HASH_TYPE_NAME, ConsistentHashConfig, type ConsistentHashSettings } from './config';
import { configGuardedLoadBalancerClass } from './config-guard';
import {
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
  type ConsistentHashLoadBalancingConfig,
  type ConsistentHashSettings,
  DEFAULT_HASH_HEADER,
  type MissingKeyMode,
  RING_SIZE_CAP_OPTION,
} from './config';
export { RING_HASH_EXPERIMENTAL_TYPE_NAME } from './ring-hash-experimental-config';
export { endpointHashKey, endpointWeight, MAX_ENDPOINT_WEIGHT } from './ring-members';
/**
 * Checks a config before it reaches a channel, as strictly as the channel will. Accepts the policy's
 * own config, a `loadBalancingConfig` entry or list, or a whole service config (object or JSON
 * string); returns the parsed settings of the entry the channel would use.
 * @throws ConsistentHashConfigError naming the path of the problem, e.g.
 *   `loadBalancingConfig[0].consistent_hash: unknown field "hashheader" (did you mean "hashHeader"?)`.
 */
export function validateConfig(input: unknown): ConsistentHashSettings {
  // Loaded on first use: the main entry stays small.
  return (require('./validate-config') as typeof import('./validate-config')).validateConfig(input);
}

/**
 * Registers `consistent_hash` and `ring_hash_experimental` with grpc-js. Idempotent. It does not
 * touch grpc-js-xds's `ring_hash`, which keeps working inside xDS.
 */
export function registerConsistentHashPolicy(): void {
  // The policy, its pickers and the rings load when a channel first uses the policy.
  const loadBalancers = () => require('./load-balancer') as typeof import('./load-balancer');
  grpc.experimental.registerLoadBalancerType(
    CONSISTENT_HASH_TYPE_NAME,
    configGuardedLoadBalancerClass(
      CONSISTENT_HASH_TYPE_NAME,
      () => loadBalancers().ConsistentHashLoadBalancer,
    ),
    ConsistentHashConfig,
  );
  grpc.experimental.registerLoadBalancerType(
    RING_HASH_EXPERIMENTAL_TYPE_NAME,
    configGuardedLoadBalancerClass(
      RING_HASH_EXPERIMENTAL_TYPE_NAME,
      () => loadBalancers().RingHashExperimentalLoadBalancer,
    ),
    RingHashExperimentalConfig,
  );
}
