import { type DiscoveredEndpoint, formatHostPort } from '../../endpoint';

/** A `/v1/health/service` answer that is not what Consul's API documents. */
export class ConsulResponseError extends Error {
  override readonly name = 'ConsulResponseError';
}

/** Result of {@link buildConsulEndpoints}. */
export interface ConsulEndpointsResult {
  endpoints: DiscoveredEndpoint[];
  /** Entries left out (no usable address or port), with why; for traces. */
  skipped: string[];
}

interface Candidate {
  host: string;
  port: number;
  id: string;
  key: string;
  endpoint: DiscoveredEndpoint;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, field: string, at: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new ConsulResponseError(`entry ${at}: ${field} is not a string`);
  return value;
}

/** Consul writes IPv6 service addresses raw; tolerate brackets anyway. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Turns a parsed `GET /v1/health/service/<name>` body into endpoints: `Service.Address`
 * (else `Node.Address`) and `Service.Port`; `Weights.Passing` as `weight`; `Service.Meta` as
 * `metadata`; `Service.Tags` as `tags`. Deduplicated by address (the entry with the smallest
 * `Service.ID` wins) and sorted by host, then port, so equal sets give equal lists.
 * `limit` keeps the first N: in Consul's order when `keepConsulOrder` (for `near`), else in ours.
 *
 * @throws ConsulResponseError when the body's shape is wrong (the caller keeps its last good list)
 */
export function buildConsulEndpoints(
  body: unknown,
  limit?: number,
  keepConsulOrder = false,
): ConsulEndpointsResult {
  if (!Array.isArray(body)) throw new ConsulResponseError('expected a JSON array of service entries');
  const skipped: string[] = [];
  const byAddress = new Map<string, Candidate>();
  const order: string[] = [];
  body.forEach((entry: unknown, at: number) => {
    if (!isRecord(entry)) throw new ConsulResponseError(`entry ${at} is not an object`);
    const service = entry['Service'];
    const node = entry['Node'];
    if (!isRecord(service)) throw new ConsulResponseError(`entry ${at}: Service is not an object`);
    if (node !== undefined && node !== null && !isRecord(node)) {
      throw new ConsulResponseError(`entry ${at}: Node is not an object`);
    }
    const id = optionalString(service['ID'], 'Service.ID', at);
    const host = unbracket(
      optionalString(service['Address'], 'Service.Address', at) ||
        (node ? optionalString(node['Address'], 'Node.Address', at) : ''),
    );
    const port = service['Port'];
    if (typeof port !== 'number') throw new ConsulResponseError(`entry ${at}: Service.Port is not a number`);
    if (host === '') {
      skipped.push(`service ${id}: neither Service.Address nor Node.Address`);
      return;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      skipped.push(`service ${id}: port ${port} is not in 1..65535`);
      return;
    }
    const endpoint: DiscoveredEndpoint = { addresses: [{ host, port }] };
    const weights = service['Weights'];
    if (weights !== undefined && weights !== null) {
      if (!isRecord(weights)) throw new ConsulResponseError(`entry ${at}: Service.Weights is not an object`);
      const passing = weights['Passing'];
      if (passing !== undefined) {
        if (typeof passing !== 'number' || !Number.isFinite(passing)) {
          throw new ConsulResponseError(`entry ${at}: Service.Weights.Passing is not a number`);
        }
        if (passing > 0 && passing !== 1) endpoint.weight = passing;
      }
    }
    const meta = service['Meta'];
    if (meta !== undefined && meta !== null) {
      if (!isRecord(meta)) throw new ConsulResponseError(`entry ${at}: Service.Meta is not an object`);
      if (Object.keys(meta).length > 0) endpoint.metadata = Object.freeze({ ...meta });
    }
    const tags = service['Tags'];
    if (tags !== undefined && tags !== null) {
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
        throw new ConsulResponseError(`entry ${at}: Service.Tags is not an array of strings`);
      }
      if (tags.length > 0) endpoint.tags = Object.freeze([...tags]);
    }
    const key = formatHostPort(host, port);
    const candidate: Candidate = { host, port, id, key, endpoint };
    const existing = byAddress.get(key);
    if (existing === undefined) {
      byAddress.set(key, candidate);
      order.push(key);
    } else if (compareCandidates(candidate, existing) < 0) {
      byAddress.set(key, candidate);
    }
  });
  let kept: Candidate[];
  if (keepConsulOrder && limit !== undefined) {
    kept = order.slice(0, limit).map((k) => byAddress.get(k)!);
    kept.sort(compareCandidates);
  } else {
    kept = [...byAddress.values()].sort(compareCandidates);
    if (limit !== undefined) kept = kept.slice(0, limit);
  }
  return { endpoints: kept.map((c) => c.endpoint), skipped };
}
