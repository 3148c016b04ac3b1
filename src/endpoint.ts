import { isIP } from 'node:net';
import type * as grpc from '@grpc/grpc-js';

type Endpoint = grpc.experimental.Endpoint;
type SubchannelAddress = grpc.experimental.SubchannelAddress;

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

/** A syntactically valid DNS name (letters, digits, `-`, `_`; labels of 1..63; at most 253 characters). */
const DNS_NAME =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** Whether `host` is an IP address or a syntactically valid DNS name. */
export function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || DNS_NAME.test(host);
}

/**
 * One spelling per address, so that one address is one ring member: IPv6 compressed and lowercased
 * (`0:0:0:0:0:0:0:1` → `::1`, as RFC 5952 writes it), hostnames lowercased, IPv4 as it is.
 */
export function canonicalHost(host: string): string {
  const version = isIP(host);
  if (version === 4) return host;
  if (version === 6) {
    try {
      return new URL(`http://[${host}]/`).hostname.slice(1, -1);
    } catch {
      return host.toLowerCase(); // a zone id (fe80::1%eth0), which URL does not take
    }
  }
  return host.toLowerCase();
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Whether two endpoint lists are the same for a channel: the same addresses, weights, hash keys,
 * metadata and tags, in the same order. Compared field by field, no whole-list string: a
 * 20,000-entry list costs about a millisecond instead of the tens a JSON fingerprint takes.
 */
export function sameEndpointList(
  a: readonly DiscoveredEndpoint[],
  b: readonly DiscoveredEndpoint[],
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameEndpoint(a[i]!, b[i]!)) return false;
  return true;
}

function sameEndpoint(a: DiscoveredEndpoint, b: DiscoveredEndpoint): boolean {
  if (a === b) return true;
  if ((a.weight ?? 1) !== (b.weight ?? 1) || a.hashKey !== b.hashKey) return false;
  return sameAddressOrder(a, b) && sameJson(a.metadata, b.metadata) && sameJson(a.tags, b.tags);
}

/** Deep equality of JSON-like values (registry metadata and tags: small, rarely present). */
function sameJson(a: unknown, b: unknown): boolean {
  return a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));
}

/** Whether two endpoints list the same addresses in the same order (pick_first's order, and a resolver's change detection). */
export function sameAddressOrder(a: Endpoint, b: Endpoint): boolean {
  const x = a.addresses;
  const y = b.addresses;
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!sameAddress(x[i]!, y[i]!)) return false;
  return true;
}

/** Whether two addresses are the same, compared field by field (no key strings built per update). */
function sameAddress(a: SubchannelAddress, b: SubchannelAddress): boolean {
  if ('path' in a && typeof a.path === 'string') return 'path' in b && a.path === b.path;
  if ('path' in b && typeof b.path === 'string') return false;
  const x = a as { host: string; port: number };
  const y = b as { host: string; port: number };
  return x.host === y.host && x.port === y.port;
}
