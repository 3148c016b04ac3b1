/**
 * The `etcd:` resolver's registration. Only this small facade loads with the package; the target
 * parser, the resolver, the etcd client and proto-loader load when a channel first uses an `etcd:`
 * target. The etcd API itself is the `grpc-consistent-hash/etcd` entry point (`src/exports/etcd.ts`).
 */
import * as grpc from '@grpc/grpc-js';
import { lazyResolverClass } from '../shared/lazy-resolver';

/** `ETCD_SCHEME` (./target), spelled out so that registering loads no parser. */
const SCHEME = 'etcd';

const loadTarget = () => require('./target') as typeof import('./target');

let registered = false;

/** Registers the `etcd:` resolver scheme with grpc-js. Idempotent. */
export function registerEtcdResolver(): void {
  if (registered) return;
  registered = true;
  grpc.experimental.registerResolver(
    SCHEME,
    lazyResolverClass(
      () => (require('./resolver') as typeof import('./resolver')).EtcdResolver,
      (target) => loadTarget().etcdDefaultAuthority(target),
    ),
  );
}
