/**
 * `grpc-consistent-hash/etcd`: the etcd API (etcd's gRPC naming convention). The `etcd:` resolver
 * itself is registered by the main entry's `register()`. Importing this entry point stays cheap:
 * the etcd client and proto-loader load only when `registerWithEtcd` is first called.
 * @module
 */
import type { EtcdRegistration, EtcdRegistrationOptions } from '../registration/etcd';

export type { EtcdConnectionOptions } from '../etcd/connection-options';
export {
  createEtcdCredentials,
  ETCD_CREDENTIALS_OPTION,
  type EtcdCredentials,
  type EtcdTls,
} from '../etcd/credentials';
export { DEFAULT_ETCD_ENDPOINT } from '../etcd/endpoint-list';
export type { EtcdRegistration, EtcdRegistrationOptions } from '../registration/etcd';
export { ETCD_INITIAL_BACKOFF_OPTION, ETCD_MAX_BACKOFF_OPTION } from '../resolvers/etcd/channel-options';
export { registerEtcdResolver } from '../resolvers/etcd/index';
export {
  type DecodedEtcdValue,
  decodeEtcdEndpointValue,
  ETCD_OP_ADD,
  ETCD_OP_DELETE,
  encodeEtcdEndpointValue,
} from '../resolvers/etcd/naming';
export { ETCD_SCHEME, type EtcdTarget, parseEtcdTarget } from '../resolvers/etcd/target';

/**
 * Registers a server in etcd under `<target>/<id>` with a kept-alive lease; see
 * {@link EtcdRegistrationOptions}. Throws at once on invalid options; etcd being down is retried.
 */
export function registerWithEtcd(options: EtcdRegistrationOptions): EtcdRegistration {
  const registration = require('../registration/etcd') as typeof import('../registration/etcd');
  return registration.registerWithEtcd(options);
}
export { ResolverError, type ResolverErrorCode } from '../resolvers/shared/resolver-error';
