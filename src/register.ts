import { registerConsistentHashPolicy } from './balancer';
import { registerConsulResolver } from './resolvers/consul';
import { registerStaticResolver } from './resolvers/static';

let registered = false;

/**
 * Registers the `consistent_hash` and `ring_hash_experimental` load-balancing policies and the
 */
export function register(): void {
  if (registered) return;
  registered = true;
  // Each area adds its registration call here.
  registerConsistentHashPolicy();
  registerStaticResolver();
  registerConsulResolver();
}
