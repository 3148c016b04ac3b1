import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../endpoint';

/**
 * etcd's gRPC naming convention (go.etcd.io/etcd/client/v3/naming/endpoints): key `<target>/<id>`,
 * value the JSON of `internal.Update` — `{"Op":0,"Addr":"host:port","Metadata":...}`.
 */
export const ETCD_OP_ADD = 0;
/** Op 1: the key announces that its endpoint is gone (treated like a deleted key). */
export const ETCD_OP_DELETE = 1;

/** The value Go's `endpoints.Manager.AddEndpoint` writes for this address and metadata. */
export function encodeEtcdEndpointValue(addr: string, metadata?: unknown): string {
  return JSON.stringify({ Op: ETCD_OP_ADD, Addr: addr, Metadata: metadata ?? null });
}

/** What one key's value means. */
export type DecodedEtcdValue =
  | { kind: 'add'; endpoint: DiscoveredEndpoint; addr: string; warning?: string }
  | { kind: 'delete' }
  | { kind: 'invalid'; reason: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Decodes a value in the Go convention. `Metadata.weight` (a positive number, or a numeric string as
 * Go's `map[string]string` metadata gives) becomes the endpoint weight; `Metadata.hashKey` (string)
 * the ring hash key; an object `Metadata` is kept as `metadata`. An invalid weight keeps the endpoint
 * at weight 1 with a warning. Never throws.
 */
export function decodeEtcdEndpointValue(value: Buffer | string): DecodedEtcdValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return { kind: 'invalid', reason: 'value is not JSON' };
  }
  if (!isPlainObject(parsed)) return { kind: 'invalid', reason: 'value is not a JSON object' };
  const op = parsed['Op'] ?? ETCD_OP_ADD;
  if (op === ETCD_OP_DELETE) return { kind: 'delete' };
  if (op !== ETCD_OP_ADD) return { kind: 'invalid', reason: `unknown Op ${JSON.stringify(op)}` };
  const addr = parsed['Addr'];
  if (typeof addr !== 'string' || addr === '')
    return { kind: 'invalid', reason: 'Addr is missing or not a string' };
  const split = grpc.experimental.splitHostPort(addr);
  if (!split || split.host === '' || split.port === undefined || split.port < 1 || split.port > 65535) {
    return { kind: 'invalid', reason: `Addr ${JSON.stringify(addr)} is not host:port` };
  }
  const endpoint: DiscoveredEndpoint = { addresses: [{ host: split.host, port: split.port }] };
  const metadata = parsed['Metadata'];
  let warning: string | undefined;
  if (isPlainObject(metadata)) {
    endpoint.metadata = metadata;
    if (metadata['weight'] !== undefined) {
      const weight = positiveNumber(metadata['weight']);
      // Like the balancer: a typo in the weight must not take the endpoint out of rotation.
      if (weight === undefined) {
        warning = `Metadata.weight ${JSON.stringify(metadata['weight'])} is not a positive number; using 1`;
      } else {
        endpoint.weight = weight;
      }
    }
    const hashKey = metadata['hashKey'];
    if (typeof hashKey === 'string' && hashKey !== '') endpoint.hashKey = hashKey;
  }
  return warning === undefined ? { kind: 'add', endpoint, addr } : { kind: 'add', endpoint, addr, warning };
}
