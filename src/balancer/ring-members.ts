import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../endpoint';
import { trace } from '../trace';
import { endpointKey } from './endpoint-key';
import { MAX_ENDPOINT_WEIGHT, type RingWeight, ringWeight } from './ring-weight';

export { MAX_ENDPOINT_WEIGHT, type RingWeight, ringWeight } from './ring-weight';

/**
 * The ring identity of an endpoint: its explicit `hashKey` (gRFC A76), else its first address as
 * `host:port` (IPv6 in brackets) or, for a unix socket, its path.
 */
export function endpointHashKey(endpoint: grpc.experimental.Endpoint): string {
  const explicit = (endpoint as DiscoveredEndpoint).hashKey;
  if (typeof explicit === 'string' && explicit.length > 0) return explicit;
  const first = endpoint.addresses[0];
  if (first === undefined) return '';
  return grpc.experimental.subchannelAddressToString(first);
}

/** {@link ringWeight} of an endpoint's `weight` property, with a trace line when it was invalid or clamped. */
function weighEndpoint(endpoint: grpc.experimental.Endpoint, hashKey: string): RingWeight {
  const value = (endpoint as DiscoveredEndpoint).weight;
  const result = ringWeight(value);
  // A resolver's typo should not take an endpoint out of rotation: trace, do not fail.
  if (result.invalid) trace('endpoints', `endpoint ${hashKey} has invalid weight ${String(value)}; using 1`);
  else if (result.requested > result.weight) {
    trace('endpoints', `endpoint ${hashKey} has weight ${value} above ${MAX_ENDPOINT_WEIGHT}; clamped`);
  }
  return result;
}

/** The ring weight of an endpoint: {@link ringWeight} of its numeric `weight` property. */
export function endpointWeight(endpoint: grpc.experimental.Endpoint, hashKey: string): number {
  return weighEndpoint(endpoint, hashKey).weight;
}

/** One ring member as the policy derives it from the resolver's endpoints. */
export interface RingEndpoint {
  /** The endpoint that serves the member: the first one listed under its identity. */
  readonly endpoint: grpc.experimental.Endpoint;
  /** Its address set's canonical key ({@link endpointKey}): the member's connection. */
  readonly addressKey: string;
  /** Its ring identity ({@link endpointHashKey}). */
  readonly hashKey: string;
  /** Its ring weight ({@link endpointWeight}), summed over the endpoints that share its identity. */
  readonly weight: number;
  /** The weight asked for, before the cap ({@link RingWeight.requested}, summed likewise). */
  readonly requestedWeight: number;
}

/**
 * The ring members the policy builds from a resolver's endpoint list, in list order. An endpoint
 * without addresses is skipped. Endpoints with the same identity become one member whose weights
 * add up (as grpc-js-xds's ring_hash does), capped like one endpoint's weight, so that many copies
 * cannot build a ring of millions of points. An endpoint with the same addresses as an earlier
 * member under another identity is skipped: one connection cannot serve two ring members.
 */
export function ringEndpoints(endpoints: readonly grpc.experimental.Endpoint[]): RingEndpoint[] {
  const members: { -readonly [K in keyof RingEndpoint]: RingEndpoint[K] }[] = [];
  const byHashKey = new Map<string, (typeof members)[number]>();
  // Keyed by the canonical address-set key: O(1) per endpoint, where EndpointMap scans every entry.
  // Only members whose hash key differs from it: the others are found in byHashKey.
  const byAddresses = new Map<string, (typeof members)[number]>();
  for (const endpoint of endpoints) {
    // Even with an explicit hashKey: a member that no connection can serve would only fail its keys.
    if (endpoint.addresses.length === 0) {
      trace('endpoints', 'skipping an endpoint without addresses');
      continue;
    }
    const addressKey = endpointKey(endpoint);
    const explicit = (endpoint as DiscoveredEndpoint).hashKey;
    // One TCP address: its key is already the host:port a default hash key would format again.
    const hashKey =
      (typeof explicit !== 'string' || explicit.length === 0) &&
      endpoint.addresses.length === 1 &&
      !addressKey.startsWith('unix:')
        ? addressKey
        : endpointHashKey(endpoint);
    const { weight, requested } = weighEndpoint(endpoint, hashKey);
    const sameKey = byHashKey.get(hashKey);
    if (sameKey) {
      sameKey.weight = Math.min(sameKey.weight + weight, MAX_ENDPOINT_WEIGHT);
      sameKey.requestedWeight += requested;
      trace('endpoints', `endpoint ${hashKey} listed twice; weights added`);
      continue;
    }
    // A member whose hash key is its address key is indexed once, under byHashKey (already missed
    // above when this endpoint's keys are equal too).
    const sameAddresses =
      byAddresses.get(addressKey) ??
      (addressKey === hashKey ? undefined : sameAddressKey(byHashKey.get(addressKey), addressKey));
    if (sameAddresses) {
      trace('endpoints', `endpoint ${hashKey} has the same addresses as ${sameAddresses.hashKey}; skipped`);
      continue;
    }
    const member = { endpoint, addressKey, hashKey, weight, requestedWeight: requested };
    byHashKey.set(hashKey, member);
    if (addressKey !== hashKey) byAddresses.set(addressKey, member);
    members.push(member);
  }
  return members;
}

/** `member` if its address key is `addressKey` (it was found by that string as a hash key). */
function sameAddressKey<M extends { addressKey: string }>(
  member: M | undefined,
  addressKey: string,
): M | undefined {
  return member !== undefined && member.addressKey === addressKey ? member : undefined;
}
