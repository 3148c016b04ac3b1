import * as grpc from '@grpc/grpc-js';
import { ConsulResolver } from './resolver';

export { buildConsulEndpoints, type ConsulEndpointsResult, ConsulResponseError } from './endpoints';
export { ConsulResolver, healthQueryPath, queryTimeoutMs } from './resolver';
export {
  CONSUL_CA_OPTION,
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  CONSUL_TOKEN_OPTION,
  type ConsulAgentAddress,
  type ConsulTarget,
  ConsulTargetError,
  parseConsulTarget,
} from './target';
export { ConsulToken, createConsulToken } from './token';

/** The URI scheme of the Consul resolver. */
export const CONSUL_SCHEME = 'consul';

/** Registers the `consul:` resolver with grpc-js. Idempotent (re-registering replaces it). */
export function registerConsulResolver(): void {
  grpc.experimental.registerResolver(CONSUL_SCHEME, ConsulResolver);
}

// The server side of the Consul integration, exported with the resolver as one feature.
export {
  type ConsulGrpcCheck,
  type ConsulRegistration,
  ConsulRegistrationError,
  type ConsulRegistrationOptions,
  type ConsulTtlCheck,
  consulRegistrationBody,
  registerWithConsul,
} from '../../registration/consul';
export { addHealthService, type ServerHealth, type ServingStatus } from '../../registration/health';
