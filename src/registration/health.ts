import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

export type { ServingStatus };

/** The health service added to a server; `setStatus` changes what Consul's gRPC check sees. */
export interface ServerHealth {
  /** Sets the status of `service` (`''` is the whole server, which Consul's check asks by default). */
  setStatus(service: string, status: ServingStatus): void;
}

/**
 * Adds the standard `grpc.health.v1.Health` service (from the `grpc-health-check` package) to
 * `server`, with the whole server (`''`) and each of `services` set to SERVING. Call before
 * the server starts. Consul's gRPC check calls `Health/Check` on it.
 */
export function addHealthService(server: grpc.Server, services: readonly string[] = []): ServerHealth {
  const initial: Record<string, ServingStatus> = { '': 'SERVING' };
  for (const name of services) initial[name] = 'SERVING';
  const health = new HealthImplementation(initial);
  health.addToServer(server as unknown as Parameters<HealthImplementation['addToServer']>[0]);
  return health;
}
