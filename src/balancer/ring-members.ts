import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../endpoint';
import type { RingMember } from '../rings/types';
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

/** One ring member as the policy derives it from the resolver's endpoints; also what a ring builder takes. */
export interface RingEndpoint extends RingMember {
  /** The endpoint that serves the member: the first one listed under its identity. */
  readonly endpoint: grpc.experimental.Endpoint;
  /** Its address set's canonical key ({@link endpointKey}): the member's connection. */
  readonly addressKey: string;
  /** Its ring identity ({@link endpointHashKey}). */
  readonly hashKey: string;
  /** The same string as `hashKey`: the id a ring builder places. */
  readonly id: string;
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
  return new RingMemberIndex().derive(endpoints);
}

/** A member as the index keeps it: reused by the next {@link RingMemberIndex.derive} of the same identity. */
interface IndexedMember {
  endpoint: grpc.experimental.Endpoint;
  addressKey: string;
  readonly hashKey: string;
  readonly id: string;
  weight: number;
  requestedWeight: number;
  /** The derive that last listed it. */
  listed: number;
  /** The weight it had when last {@link RingMemberIndex.commit}ted, and that commit. */
  committedWeight: number;
  committed: number;
}

/**
 * {@link ringEndpoints} across updates: its maps live from one list to the next, and a member
 * listed again is the same object, updated in place. A fresh N-entry Map per update costs more
 * than the rest of a 10,000-endpoint push; lookups in a kept one cost a tenth of that. It also
 * tells whether a list has the (identity, weight) set last committed, without a whole-list string.
 *
 * The members one `derive` returns are valid until the next `derive`.
 */
export class RingMemberIndex {
  private readonly byHashKey = new Map<string, IndexedMember>();
  /** Only members whose hash key differs from their address key: the others are in byHashKey. */
  private readonly byAddresses = new Map<string, IndexedMember>();
  private derives = 0;
  private commits = 0;
  private committedCount = -1;

  /** The members of `endpoints` (see {@link ringEndpoints}). */
  derive(endpoints: readonly grpc.experimental.Endpoint[]): RingEndpoint[] {
    const derive = ++this.derives;
    const members: IndexedMember[] = [];
    const { byHashKey, byAddresses } = this;
    /** `member` if this derive listed it under `addressKey`; a stale map entry is not a match. */
    const listedAt = (member: IndexedMember | undefined, addressKey: string) =>
      member !== undefined && member.listed === derive && member.addressKey === addressKey
        ? member
        : undefined;
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
      let member = byHashKey.get(hashKey);
      if (member !== undefined && member.listed === derive) {
        member.weight = Math.min(member.weight + weight, MAX_ENDPOINT_WEIGHT);
        member.requestedWeight += requested;
        trace('endpoints', `endpoint ${hashKey} listed twice; weights added`);
        continue;
      }
      // A member whose hash key is its address key is indexed once, under byHashKey (already missed
      // above when this endpoint's keys are equal too).
      const sameAddresses =
        listedAt(byAddresses.get(addressKey), addressKey) ??
        (addressKey === hashKey ? undefined : listedAt(byHashKey.get(addressKey), addressKey));
      if (sameAddresses) {
        trace('endpoints', `endpoint ${hashKey} has the same addresses as ${sameAddresses.hashKey}; skipped`);
        continue;
      }
      if (member === undefined) {
        member = {
          endpoint,
          addressKey,
          hashKey,
          id: hashKey,
          weight,
          requestedWeight: requested,
          listed: derive,
          committedWeight: 0,
          committed: 0,
        };
        byHashKey.set(hashKey, member);
      } else {
        member.endpoint = endpoint;
        // An equal key keeps the string already hashed by the maps (the policy looks it up again).
        if (member.addressKey !== addressKey) member.addressKey = addressKey;
        member.weight = weight;
        member.requestedWeight = requested;
        member.listed = derive;
      }
      if (addressKey !== hashKey && byAddresses.get(addressKey) !== member)
        byAddresses.set(addressKey, member);
      members.push(member);
    }
    this.evictUnlisted(members.length, derive);
    return members;
  }

  /** Records `members` (from the last derive) as the set a ring was built from. */
  commit(members: readonly RingEndpoint[]): void {
    const commit = ++this.commits;
    for (const m of members as readonly IndexedMember[]) {
      m.committed = commit;
      m.committedWeight = m.weight;
    }
    this.committedCount = members.length;
  }

  /** Whether `members` (from the last derive) differ in identity or weight from the last commit. O(N), no allocation. */
  differsFromCommitted(members: readonly RingEndpoint[]): boolean {
    if (members.length !== this.committedCount) return true;
    const commit = this.commits;
    for (const m of members as readonly IndexedMember[]) {
      if (m.committed !== commit || m.committedWeight !== m.weight) return true;
    }
    return false;
  }

  /** Forgets the last commit: the next list differs whatever it holds. */
  forgetCommitted(): void {
    this.committedCount = -1;
  }

  /** Drops members the last derive did not list once they are a quarter of the maps: O(1) amortised. */
  private evictUnlisted(listed: number, derive: number): void {
    const { byHashKey, byAddresses } = this;
    if (byHashKey.size > listed + (listed >> 2) + 64) {
      for (const [key, m] of byHashKey) if (m.listed !== derive) byHashKey.delete(key);
    }
    if (byAddresses.size > listed + (listed >> 2) + 64) {
      for (const [key, m] of byAddresses)
        if (m.listed !== derive || m.addressKey !== key) byAddresses.delete(key);
    }
  }
}
