/**
 * The `consul:` resolver's registration. Only this small facade loads with the package; the
 * resolver and its HTTP client load when a channel first uses a `consul:` target. The Consul API
 * itself is the `grpc-consistent-hash/consul` entry point (`src/exports/consul.ts`).
 */
import * as grpc from '@grpc/grpc-js';
import { lazyResolverClass } from '../shared/lazy-resolver';

/** The URI scheme of the Consul resolver. */
export const CONSUL_SCHEME = 'consul';

const loadConsulResolver = () => (require('./resolver') as typeof import('./resolver')).ConsulResolver;

/** Registers the `consul:` resolver with grpc-js. Idempotent (re-registering replaces it). */
export function registerConsulResolver(): void {
  grpc.experimental.registerResolver(
    CONSUL_SCHEME,
    lazyResolverClass(loadConsulResolver, (target) => loadConsulResolver().getDefaultAuthority(target)),
  );
}
