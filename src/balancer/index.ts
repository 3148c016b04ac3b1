import * as grpc from '@grpc/grpc-js';
import { CONSISTENT_HASH_TYPE_NAME, ConsistentHashConfig } from './config';
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
export { validateConfig } from './validate-config';

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
