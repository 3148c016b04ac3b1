import { canonicalHost, type DiscoveredEndpoint, formatHostPort, isValidHost } from '../../endpoint';
import type { ConsulHashKey } from './target';

/** A `/v1/health/service` answer that is not a JSON array, as Consul's API documents it. */
export class ConsulResponseError extends Error {
  override readonly name = 'ConsulResponseError';
}

/** Result of {@link buildConsulEndpoints}. */
export interface ConsulEndpointsResult {
  endpoints: DiscoveredEndpoint[];
  /** Entries left out (malformed, no usable address or port), each naming the entry and why; for traces. */
  skipped: string[];
  /** Entries kept with a fallback (a hash key that cannot identify them), naming them; for traces. */
  warnings: string[];
}

interface Candidate {
  host: string;
  port: number;
  id: string;
  node: string;
  /** The identity `hashKey` asks for, before the uniqueness check; '' for the address. */
  identity: string;
  key: string;
  endpoint: DiscoveredEndpoint;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Thrown inside one entry's parsing: that entry is skipped, the answer is not. */
class BadEntry extends Error {}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadEntry(`${field} is not a string`);
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

function describeEntry(entry: unknown, at: number): string {
  const service = isRecord(entry) ? entry['Service'] : undefined;
  const id = isRecord(service) ? service['ID'] : undefined;
  return typeof id === 'string' && id !== '' ? `entry ${at} (service ID "${id}")` : `entry ${at}`;
}

/** One health entry → a candidate; throws {@link BadEntry} naming what is wrong. */
function parseEntry(entry: unknown, hashKey: ConsulHashKey): Candidate {
  if (!isRecord(entry)) throw new BadEntry('not an object');
  const service = entry['Service'];
  const node = entry['Node'];
  if (!isRecord(service)) throw new BadEntry('Service is not an object');
  if (node !== undefined && node !== null && !isRecord(node)) throw new BadEntry('Node is not an object');
  const id = optionalString(service['ID'], 'Service.ID');
  const nodeName = node ? optionalString(node['Node'], 'Node.Node') : '';
  const written = unbracket(
    optionalString(service['Address'], 'Service.Address') ||
      (node ? optionalString(node['Address'], 'Node.Address') : ''),
  );
  if (written === '') throw new BadEntry('neither Service.Address nor Node.Address');
  if (!isValidHost(written)) {
    throw new BadEntry(`address ${JSON.stringify(written)} is neither an IP address nor a valid DNS name`);
  }
  const port = service['Port'];
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadEntry(`Port ${JSON.stringify(port)} is not a port number (1..65535)`);
  }
  const host = canonicalHost(written);
  const endpoint: DiscoveredEndpoint = { addresses: [{ host, port }] };
  const weights = service['Weights'];
  if (weights !== undefined && weights !== null) {
    if (!isRecord(weights)) throw new BadEntry('Service.Weights is not an object');
    const passing = weights['Passing'];
    if (passing !== undefined) {
      if (typeof passing !== 'number' || !Number.isFinite(passing)) {
        throw new BadEntry(`Service.Weights.Passing ${JSON.stringify(passing)} is not a number`);
      }
      if (passing > 0 && passing !== 1) endpoint.weight = passing;
    }
  }
  const meta = service['Meta'];
  if (meta !== undefined && meta !== null) {
    if (!isRecord(meta)) throw new BadEntry('Service.Meta is not an object');
    if (Object.keys(meta).length > 0) endpoint.metadata = Object.freeze({ ...meta });
  }
  const tags = service['Tags'];
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      throw new BadEntry('Service.Tags is not an array of strings');
    }
    if (tags.length > 0) endpoint.tags = Object.freeze([...tags]);
  }
  let identity = '';
  if (hashKey.kind === 'id') identity = id;
  else if (hashKey.kind === 'meta') {
    const value = isRecord(meta) ? meta[hashKey.key] : undefined;
    identity = typeof value === 'string' ? value : '';
  }
  return { host, port, id, node: nodeName, identity, key: formatHostPort(host, port), endpoint };
}

/**
 * Sets each candidate's ring identity as `hashKey` asks, when it identifies the instance: unique in
 * this answer. Service IDs are unique per agent only, so a repeated ID is qualified by its node name
 * (`node/id`); what is still ambiguous or missing falls back to the address, with a warning.
 */
function assignHashKeys(kept: Candidate[], hashKey: ConsulHashKey, warnings: string[]): void {
  if (hashKey.kind === 'address') return;
  const what = hashKey.kind === 'id' ? 'Service.ID' : `Service.Meta["${hashKey.key}"]`;
  const count = (values: string[]) => {
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return counts;
  };
  let identities = kept.map((c) => c.identity);
  if (hashKey.kind === 'id') {
    const repeated = count(identities);
    identities = kept.map((c) =>
      c.identity !== '' && repeated.get(c.identity)! > 1 && c.node !== ''
        ? `${c.node}/${c.identity}`
        : c.identity,
    );
  }
  const counts = count(identities);
  kept.forEach((candidate, i) => {
    const identity = identities[i]!;
    if (identity === '') {
      warnings.push(`${candidate.key}: no ${what}; its ring identity is its address`);
    } else if (counts.get(identity)! > 1) {
      warnings.push(
        `${candidate.key}: ${what} "${identity}" is not unique; its ring identity is its address`,
      );
    } else {
      candidate.endpoint.hashKey = identity;
    }
  });
}

/**
 * Turns a parsed `GET /v1/health/service/<name>` body into endpoints: `Service.Address`
 * (else `Node.Address`; an IP address or a valid DNS name, IPv6 canonicalised so that one address is
 * one member) and `Service.Port`; `Weights.Passing` as `weight`; `Service.Meta` as `metadata`;
 * `Service.Tags` as `tags`; the ring identity as `hashKey` asks (default: the address).
 * A malformed entry is skipped (named in `skipped`), never the whole answer. Deduplicated by address
 * (the entry with the smallest `Service.ID` wins) and sorted by host, then port, so equal sets give
 * equal lists. `limit` keeps the first N: in Consul's order when `keepConsulOrder` (for `near`), else in ours.
 *
 * @throws ConsulResponseError when the body is not a JSON array (the caller keeps its last good list)
 */
export function buildConsulEndpoints(
  body: unknown,
  limit?: number,
  keepConsulOrder = false,
  hashKey: ConsulHashKey = { kind: 'address' },
): ConsulEndpointsResult {
  if (!Array.isArray(body)) throw new ConsulResponseError('expected a JSON array of service entries');
  const skipped: string[] = [];
  const warnings: string[] = [];
  const byAddress = new Map<string, Candidate>();
  const order: string[] = [];
  body.forEach((entry: unknown, at: number) => {
    let candidate: Candidate;
    try {
      candidate = parseEntry(entry, hashKey);
    } catch (error) {
      if (!(error instanceof BadEntry)) throw error;
      skipped.push(`${describeEntry(entry, at)}: ${error.message}`);
      return;
    }
    const existing = byAddress.get(candidate.key);
    if (existing === undefined) {
      byAddress.set(candidate.key, candidate);
      order.push(candidate.key);
    } else if (compareCandidates(candidate, existing) < 0) {
      byAddress.set(candidate.key, candidate);
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
  assignHashKeys(kept, hashKey, warnings);
  return { endpoints: kept.map((c) => c.endpoint), skipped, warnings };
}
