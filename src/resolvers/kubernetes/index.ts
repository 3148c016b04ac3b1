/**
 * The `kubernetes:` resolver's registration. Only this small facade loads with the package; the
 * target parser, the resolver, the Kubernetes client and the YAML parser load when a channel first
 * uses a `kubernetes:` target. The API itself is the `grpc-consistent-hash/kubernetes` entry point.
 */
import * as grpc from '@grpc/grpc-js';
import { lazyResolverClass } from '../shared/lazy-resolver';

/** `KUBERNETES_SCHEME` (./target), spelled out so that registering loads no parser. */
const SCHEME = 'kubernetes';

const loadResolver = () => (require('./resolver') as typeof import('./resolver')).KubernetesResolver;

/** Registers the `kubernetes:` resolver scheme with grpc-js. Idempotent (re-registering replaces it). */
export function registerKubernetesResolver(): void {
  grpc.experimental.registerResolver(
    SCHEME,
    lazyResolverClass(loadResolver, (target) => loadResolver().getDefaultAuthority(target)),
  );
}
