/**
 * The `etcd:` resolver and etcd registration (etcd's gRPC naming convention).
 *
 * This facade loads only small modules; the resolver, the etcd client and proto-loader load on
 * first use, so that requiring the package stays cheap for users who never touch etcd.
 */
import type * as grpc from '@grpc/grpc-js';
import type { EtcdRegistration, EtcdRegistrationOptions } from '../../registration/etcd';
import type { EtcdResolver } from './resolver';
import { ETCD_SCHEME, etcdDefaultAuthority } from './target';

export type { EtcdConnectionOptions } from '../../etcd/connection-options';
export {
  createEtcdCredentials,
  ETCD_CREDENTIALS_OPTION,
  type EtcdCredentials,
  type EtcdTls,
} from '../../etcd/credentials';
export { DEFAULT_ETCD_ENDPOINT } from '../../etcd/endpoint-list';
export type { EtcdRegistration, EtcdRegistrationOptions } from '../../registration/etcd';
export { ETCD_INITIAL_BACKOFF_OPTION, ETCD_MAX_BACKOFF_OPTION } from './channel-options';
export {
  type DecodedEtcdValue,
  decodeEtcdEndpointValue,
  ETCD_OP_ADD,
  ETCD_OP_DELETE,
  encodeEtcdEndpointValue,
} from './naming';
export { ETCD_SCHEME, type EtcdTarget, parseEtcdTarget } from './target';

/**
 * Registers a server in etcd under `<target>/<id>` with a kept-alive lease; see
 * {@link EtcdRegistrationOptions}. Throws at once on invalid options; etcd being down is retried.
 */
export function registerWithEtcd(options: EtcdRegistrationOptions): EtcdRegistration {
  const registration = require('../../registration/etcd') as typeof import('../../registration/etcd');
  return registration.registerWithEtcd(options);
}

/** Loads the real resolver when grpc-js first constructs one (a channel with an `etcd:` target). */
class LazyEtcdResolver implements grpc.experimental.Resolver {
  private readonly inner: EtcdResolver;

  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    const { EtcdResolver } = require('./resolver') as typeof import('./resolver');
    this.inner = new EtcdResolver(target, listener, options);
  }

  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return etcdDefaultAuthority(target);
  }

  updateResolution(): void {
    this.inner.updateResolution();
  }

  destroy(): void {
    this.inner.destroy();
  }
}

let registered = false;

/** Registers the `etcd:` resolver scheme with grpc-js. Idempotent. */
export function registerEtcdResolver(): void {
  if (registered) return;
  registered = true;
  // grpc-js's root module is already loaded by whoever calls this.
  const grpcJs = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  grpcJs.experimental.registerResolver(ETCD_SCHEME, LazyEtcdResolver);
}
