import * as grpc from '@grpc/grpc-js';
import { lazyResolverClass } from '../shared/lazy-resolver';
import { STATIC_SCHEME } from './static-target';

export {
  parseStaticTarget,
  STATIC_ENDPOINT_PER_ADDRESS_OPTION,
  STATIC_RE_RESOLUTION_INTERVAL_OPTION,
  STATIC_SCHEME,
  type StaticTargetEntry,
} from './static-target';

const loadStaticResolver = () =>
  (require('./static-resolver') as typeof import('./static-resolver')).StaticResolver;

/**
 * Registers the `static:` resolver with grpc-js. Idempotent. The resolver loads when a channel
 * first uses a `static:` target.
 */
export function registerStaticResolver(): void {
  grpc.experimental.registerResolver(
    STATIC_SCHEME,
    lazyResolverClass(loadStaticResolver, (target) => loadStaticResolver().getDefaultAuthority(target)),
  );
}
