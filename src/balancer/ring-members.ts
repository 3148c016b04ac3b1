import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../endpoint';
import { trace } from '../trace';

/** Weights above this are clamped, so that a bad weight cannot make a ring of millions of points. */
export const MAX_ENDPOINT_WEIGHT = 1000;

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

/**
 * The ring weight of an endpoint: its numeric `weight` property. A missing weight is 1. An invalid
 * one (not a finite number > 0) counts as 1, and one above {@link MAX_ENDPOINT_WEIGHT} is clamped;
 * both with a trace line, because a resolver's typo should not take an endpoint out of rotation.
 */
export function endpointWeight(endpoint: grpc.experimental.Endpoint, hashKey: string): number {
  const weight = (endpoint as DiscoveredEndpoint).weight;
  if (weight === undefined) return 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    trace('endpoints', `endpoint ${hashKey} has invalid weight ${String(weight)}; using 1`);
    return 1;
  }
  if (weight > MAX_ENDPOINT_WEIGHT) {
    trace('endpoints', `endpoint ${hashKey} has weight ${weight} above ${MAX_ENDPOINT_WEIGHT}; clamped`);
    return MAX_ENDPOINT_WEIGHT;
  }
  return weight;
}
