import type * as grpc from '@grpc/grpc-js';
import type { HealthImplementation as HealthService, ServingStatus } from 'grpc-health-check';

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
  // Loaded on first use: grpc-health-check parses its .proto at require time (~40 ms), which
  // every user of this package would otherwise pay, server or not.
  const { HealthImplementation } = require('grpc-health-check') as typeof import('grpc-health-check');
  const health = new HealthImplementation(initial);
  health.addToServer(server as unknown as Parameters<HealthService['addToServer']>[0]);
  return health;
}
