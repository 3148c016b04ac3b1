/**
 * `grpc-consistent-hash/consul`: the Consul API. The `consul:` resolver itself is registered by the
 * main entry's `register()`; this entry point holds what a program calls directly: target parsing,
 * tokens, the resolver's channel options, and the server side (registration, health service).
 * @module
 */

export type { ConsulAgentAddress } from '../consul/agent';
export { ConsulToken, createConsulToken } from '../consul/token';
export {
  type ConsulGrpcCheck,
  type ConsulRegistration,
  ConsulRegistrationError,
  type ConsulRegistrationOptions,
  type ConsulTtlCheck,
  consulRegistrationBody,
  registerWithConsul,
} from '../registration/consul';
export { addHealthService, type ServerHealth, type ServingStatus } from '../registration/health';
export {
  CONSUL_CA_OPTION,
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  CONSUL_TOKEN_OPTION,
} from '../resolvers/consul/channel-options';
export {
  buildConsulEndpoints,
  type ConsulEndpointsResult,
  ConsulResponseError,
} from '../resolvers/consul/endpoints';
export { healthQueryPath, queryTimeoutMs } from '../resolvers/consul/health-query';
export { CONSUL_SCHEME, registerConsulResolver } from '../resolvers/consul/index';
export { ConsulResolver } from '../resolvers/consul/resolver';
export { type ConsulHashKey, type ConsulTarget, parseConsulTarget } from '../resolvers/consul/target';
export { ResolverError, type ResolverErrorCode } from '../resolvers/shared/resolver-error';
