import { registerConsistentHashPolicy } from './balancer';
import { registerConsulResolver } from './resolvers/consul';
import { registerEtcdResolver } from './resolvers/etcd';
import { registerKubernetesResolver } from './resolvers/kubernetes';
import { registerStaticResolver } from './resolvers/static';

let registered = false;

/**
 * Registers the `consistent_hash` and `ring_hash_experimental` load-balancing policies and the
 * `static:`, `consul:`, `etcd:` and `kubernetes:` resolvers with grpc-js. Idempotent.
 */
export function register(): void {
  if (registered) return;
  registered = true;
  // Each area adds its registration call here.
  registerConsistentHashPolicy();
  registerStaticResolver();
  registerConsulResolver();
  registerEtcdResolver();
  registerKubernetesResolver();
}
