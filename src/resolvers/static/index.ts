import * as grpc from '@grpc/grpc-js';
import { StaticResolver } from './static-resolver';
import { STATIC_SCHEME } from './static-target';

export { DEFAULT_MIN_TIME_BETWEEN_LOOKUPS_MS, StaticResolver } from './static-resolver';
export { parseStaticTarget, STATIC_SCHEME, type StaticTargetEntry, StaticTargetError } from './static-target';

/** Registers the `static:` resolver with grpc-js. Idempotent. */
export function registerStaticResolver(): void {
  grpc.experimental.registerResolver(STATIC_SCHEME, StaticResolver);
}
