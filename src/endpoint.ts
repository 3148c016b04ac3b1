import * as grpc from '@grpc/grpc-js';

type Endpoint = grpc.experimental.Endpoint;

/**
 * An endpoint as our resolvers emit it. grpc-js passes extra properties on endpoint
 * objects through to the load balancer unchanged; `consistent_hash` reads these.
 */
export interface DiscoveredEndpoint extends Endpoint {
  /** Relative weight (finite, > 0). Absent means 1. */
  weight?: number;
  /** Explicit ring hash key (gRFC A76); absent means the first address as `host:port`. */
  hashKey?: string;
  /** Registry metadata (Consul `Service.Meta`, etcd `Metadata`), for users; not used for routing. */
  metadata?: Readonly<Record<string, unknown>>;
  /** Registry tags (Consul), for users. */
  tags?: readonly string[];
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A canonical string of everything routing-relevant in an endpoint list, for change detection. */
export function endpointListFingerprint(endpoints: readonly DiscoveredEndpoint[]): string {
  return JSON.stringify(
    endpoints.map((e) => [
      e.addresses.map(grpc.experimental.subchannelAddressToString),
      e.weight ?? 1,
      e.hashKey ?? null,
      e.metadata ?? null,
      e.tags ?? null,
    ]),
  );
}
