import { isIP } from 'node:net';
import type { DiscoveredEndpoint } from '../endpoint';

/** The parts of a `discovery.k8s.io/v1` EndpointSlice that discovery reads. */
export interface EndpointSlice {
  metadata: { name: string; resourceVersion?: string };
  addressType: string;
  endpoints?: EndpointSliceEndpoint[] | null;
  ports?: EndpointSlicePort[] | null;
}

/** One endpoint of a slice. */
export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
  hostname?: string | null;
  nodeName?: string | null;
  zone?: string | null;
  targetRef?: { kind?: string; name?: string; namespace?: string } | null;
}

/** One port of a slice (shared by all its endpoints). */
export interface EndpointSlicePort {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
}

/**
 * The target's port: a number, a port name as in the Service spec, or `only` (the target names
 * none: the slices must have exactly one port).
 */
export type PortSelector =
  | { kind: 'number'; port: number }
  | { kind: 'name'; name: string }
  | { kind: 'only' };

/** Which ring identity endpoints get. */
export type EndpointIdentity = 'pod' | 'address';

/** An endpoint as the Kubernetes resolver emits it: {@link DiscoveredEndpoint} plus where it runs. */
export interface KubernetesEndpoint extends DiscoveredEndpoint {
  /** The endpoint's zone (`topology.kubernetes.io/zone` of its node), when the slice names one. */
  zone?: string;
}

/** The result of {@link buildKubernetesEndpoints}. */
export interface KubernetesEndpointsResult {
  endpoints: KubernetesEndpoint[];
  /**
   * Why there are no endpoints, when there are none: a sentence for the call's error that names
   * the cause (no slices, none ready, no such port).
   */
  emptyReason: string | null;
  /** Things skipped on the way (FQDN slices, malformed entries), for the trace. */
  skipped: string[];
}

/** Describes the port selector as the target wrote it. */
export function describePort(selector: PortSelector): string {
  if (selector.kind === 'number') return `port ${selector.port}`;
  return selector.kind === 'name' ? `port name "${selector.name}"` : 'single port (the target names none)';
}

function isTcp(port: EndpointSlicePort): boolean {
  return port.protocol === undefined || port.protocol === null || port.protocol === 'TCP';
}

/**
 * The port number the target's selector picks in a slice, or null when the slice has no such port.
 * A slice that declares no ports at all (a headless service without ports) takes a numeric
 * selector as it is; `only` needs exactly one TCP port.
 */
export function slicePortNumber(slice: EndpointSlice, selector: PortSelector): number | null {
  const ports = (slice.ports ?? []).filter(isTcp);
  if (selector.kind === 'number') {
    if ((slice.ports ?? []).length === 0) return selector.port;
    return ports.some((p) => p.port === selector.port) ? selector.port : null;
  }
  if (selector.kind === 'only')
    return ports.length === 1 && typeof ports[0]!.port === 'number' ? ports[0]!.port : null;
  const match = ports.find((p) => p.name === selector.name);
  return typeof match?.port === 'number' ? match.port : null;
}

function describeSlicePorts(slices: readonly EndpointSlice[]): string {
  const seen = new Set<string>();
  for (const slice of slices) {
    for (const p of slice.ports ?? []) {
      seen.add(`${p.name ? `${p.name}=` : ''}${p.port ?? '*'}/${p.protocol ?? 'TCP'}`);
    }
  }
  return seen.size === 0 ? 'none' : [...seen].sort().join(', ');
}

/** Ready, or `ready` absent (the API's "nil means ready"). */
function isReady(endpoint: EndpointSliceEndpoint): boolean {
  const ready = endpoint.conditions?.ready;
  return ready === undefined || ready === null || ready === true;
}

function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Merges ALL EndpointSlices of a service into one endpoint list (a service has one slice per 100
 * endpoints, and one per address family on dual-stack clusters).
 * - Only endpoints whose `conditions.ready` is true or absent, on the target's port (by number or
 *   name, from each slice's `ports`); IPv4 and IPv6 slices; an endpoint's address is `addresses[0]`.
 * - Identity `pod`: the hash key is `targetRef.name`, else `hostname`, else the address; one pod
 *   seen in several slices (dual-stack, or a slice being rebalanced) is one endpoint with all its
 *   addresses, IPv4 first. Identity `address`: every address is its own endpoint, keyed by itself.
 * - The list is sorted by hash key, so that the same state always gives the same list.
 */
export function buildKubernetesEndpoints(
  slices: Iterable<EndpointSlice>,
  selector: PortSelector,
  identity: EndpointIdentity,
  serviceLabel: string,
): KubernetesEndpointsResult {
  const all = [...slices].sort((a, b) => compare(a.metadata.name, b.metadata.name));
  const skipped: string[] = [];
  const byKey = new Map<string, { addresses: Map<string, { host: string; port: number }>; zone?: string }>();
  let total = 0;
  let slicesWithPort = 0;
  for (const slice of all) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') {
      skipped.push(`slice ${slice.metadata.name}: addressType ${slice.addressType} is not IPv4 or IPv6`);
      continue;
    }
    const port = slicePortNumber(slice, selector);
    const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints : [];
    total += endpoints.length;
    if (port === null) continue;
    slicesWithPort++;
    for (const endpoint of endpoints) {
      if (!isReady(endpoint)) continue;
      const host = Array.isArray(endpoint.addresses) ? endpoint.addresses[0] : undefined;
      if (typeof host !== 'string' || isIP(host) === 0) {
        skipped.push(`slice ${slice.metadata.name}: endpoint without a valid IP address`);
        continue;
      }
      const address = formatAddress(host, port);
      const key =
        identity === 'address'
          ? address
          : (nonEmpty(endpoint.targetRef?.name) ?? nonEmpty(endpoint.hostname) ?? address);
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { addresses: new Map() };
        byKey.set(key, entry);
      }
      entry.addresses.set(address, { host, port });
      const zone = nonEmpty(endpoint.zone);
      if (zone !== undefined) entry.zone ??= zone;
    }
  }
  const endpoints: KubernetesEndpoint[] = [...byKey.keys()].sort(compare).map((key) => {
    const entry = byKey.get(key)!;
    const addresses = [...entry.addresses.values()].sort(
      (a, b) => (isIP(a.host) === 6 ? 1 : 0) - (isIP(b.host) === 6 ? 1 : 0),
    );
    return { addresses, hashKey: key, ...(entry.zone !== undefined && { zone: entry.zone }) };
  });
  let emptyReason: string | null = null;
  if (endpoints.length === 0) {
    const where = `EndpointSlices labelled ${serviceLabel}`;
    if (all.length === 0) {
      emptyReason = `there are no ${where} (wrong service name or namespace, or a service without a selector)`;
    } else if (slicesWithPort === 0 && total > 0) {
      emptyReason = `no ${describePort(selector)} among the ports of the ${where} (they have: ${describeSlicePorts(all)})`;
    } else if (total === 0) {
      emptyReason = `the ${where} list no endpoints (no pods match the service's selector)`;
    } else {
      emptyReason = `none of the ${total} endpoint(s) in the ${where} is ready`;
    }
  }
  return { endpoints, emptyReason, skipped };
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
