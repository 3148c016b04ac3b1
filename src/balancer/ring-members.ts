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

/**
 * One address set as a {@link RingMemberIndex} keeps it, with the member it was last listed as.
 * Its address key never changes; its identity (hash key) and weight are those of the last list.
 * The policy's children extend it, so that an endpoint costs one object and one Map entry.
 */
export class IndexedMember implements RingEndpoint {
  weight = 1;
  requestedWeight = 1;
  /** The derive that last listed it. */
  listed = 0;
  /** The commit that last included it (0 once its identity changed), and its weight then. */
  committed = 0;
  committedWeight = 0;

  constructor(
    public endpoint: grpc.experimental.Endpoint,
    readonly addressKey: string,
    public hashKey: string,
  ) {}

  get id(): string {
    return this.hashKey;
  }

  /** Whether a derive that does not list it may drop it from the index (the policy's live children stay). */
  get evictable(): boolean {
    return true;
  }
}

type MemberFactory<M> = (endpoint: grpc.experimental.Endpoint, addressKey: string, hashKey: string) => M;

/**
 * {@link ringEndpoints} across updates, keyed by the canonical key of each endpoint's address set
 * ({@link endpointKey}): a `Map` that lives from one list to the next, where an address set listed
 * again is the same object, updated in place. A fresh N-entry Map per update costs more than the
 * rest of a 10,000-endpoint push. It also tells whether a list has the (identity, weight) set last
 * committed, without a whole-list string.
 *
 * The members one `derive` returns are valid until the next `derive`.
 */
export class RingMemberIndex<M extends IndexedMember = IndexedMember> {
  private readonly byAddress = new Map<string, M>();
  /** Only members whose hash key differs from their address key: the others are in byAddress under it. */
  private readonly byHashKey = new Map<string, M>();
  private derives = 0;
  private commits = 0;
  private committedCount = -1;

  /** `create` makes the object kept for a new address set (an {@link IndexedMember} by default). */
  constructor(
    private readonly create: MemberFactory<M> = ((endpoint, addressKey, hashKey) =>
      new IndexedMember(endpoint, addressKey, hashKey)) as MemberFactory<M>,
  ) {}

  /** Every member kept, listed by the last derive or not. */
  values(): IterableIterator<M> {
    return this.byAddress.values();
  }

  /** Whether the last derive listed `member`. */
  listedLast(member: M): boolean {
    return member.listed === this.derives;
  }

  /** The members of `endpoints` (see {@link ringEndpoints}). */
  derive(endpoints: readonly grpc.experimental.Endpoint[]): M[] {
    const derive = ++this.derives;
    const members: M[] = [];
    const { byAddress, byHashKey } = this;
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
      let member = byAddress.get(addressKey);
      // The same identity listed again: at an address set keyed by it, or under an explicit key.
      // Every address key has a ':', so an explicit key without one (a pod name) is none of them.
      const atHashKey =
        hashKey === addressKey ? member : hashKey.includes(':') ? byAddress.get(hashKey) : undefined;
      const sameIdentity =
        atHashKey !== undefined && atHashKey.listed === derive && atHashKey.hashKey === hashKey
          ? atHashKey
          : this.listedUnderExplicitKey(hashKey, derive);
      if (sameIdentity !== undefined) {
        sameIdentity.weight = Math.min(sameIdentity.weight + weight, MAX_ENDPOINT_WEIGHT);
        sameIdentity.requestedWeight += requested;
        trace('endpoints', `endpoint ${hashKey} listed twice; weights added`);
        continue;
      }
      if (member !== undefined && member.listed === derive) {
        trace('endpoints', `endpoint ${hashKey} has the same addresses as ${member.hashKey}; skipped`);
        continue;
      }
      // Listed by the last derive under this identity: already in byHashKey, if it belongs there.
      let indexed = false;
      if (member === undefined) {
        member = this.create(endpoint, addressKey, hashKey);
        byAddress.set(addressKey, member);
      } else {
        indexed = member.listed === derive - 1 && member.hashKey === hashKey;
        member.endpoint = endpoint;
        if (member.hashKey !== hashKey) {
          // Another identity at the same addresses: not the member last committed.
          member.hashKey = hashKey;
          member.committed = 0;
        }
      }
      member.weight = weight;
      member.requestedWeight = requested;
      member.listed = derive;
      if (hashKey !== addressKey && !indexed && byHashKey.get(hashKey) !== member)
        byHashKey.set(hashKey, member);
      members.push(member);
    }
    this.evictUnlisted(members.length, derive);
    return members;
  }

  /** Records `members` (from the last derive) as the set a ring was built from. */
  commit(members: readonly M[]): void {
    const commit = ++this.commits;
    for (const m of members) {
      m.committed = commit;
      m.committedWeight = m.weight;
    }
    this.committedCount = members.length;
  }

  /**
   * Whether `members` (from the last derive) may differ in identity or weight from the last
   * commit: exact, except that identities trading address sets count as a change. O(N), no allocation.
   */
  differsFromCommitted(members: readonly M[]): boolean {
    if (members.length !== this.committedCount) return true;
    const commit = this.commits;
    for (const m of members) {
      if (m.committed !== commit || m.committedWeight !== m.weight) return true;
    }
    return false;
  }

  /** Forgets the last commit: the next list differs whatever it holds. */
  forgetCommitted(): void {
    this.committedCount = -1;
  }

  /** Drops `member` from the index at once: a later list with its addresses gets a new object. */
  evict(member: M): void {
    if (this.byAddress.get(member.addressKey) === member) this.byAddress.delete(member.addressKey);
    if (this.byHashKey.get(member.hashKey) === member) this.byHashKey.delete(member.hashKey);
  }

  /** Drops every member. */
  clear(): void {
    this.byAddress.clear();
    this.byHashKey.clear();
    this.committedCount = -1;
  }

  /** The member listed by this derive under the explicit (non-address) key `hashKey`, if any. */
  private listedUnderExplicitKey(hashKey: string, derive: number): M | undefined {
    if (this.byHashKey.size === 0) return undefined;
    const member = this.byHashKey.get(hashKey);
    return member !== undefined && member.listed === derive && member.hashKey === hashKey
      ? member
      : undefined;
  }

  /** Drops evictable members the last derive did not list once they are a quarter of the maps: O(1) amortised. */
  private evictUnlisted(listed: number, derive: number): void {
    const { byAddress, byHashKey } = this;
    if (byAddress.size > listed + (listed >> 2) + 64) {
      for (const [key, m] of byAddress) if (m.listed !== derive && m.evictable) byAddress.delete(key);
    }
    if (byHashKey.size > listed + (listed >> 2) + 64) {
      for (const [key, m] of byHashKey)
        if (m.hashKey !== key || (m.listed !== derive && m.evictable) || byAddress.get(m.addressKey) !== m)
          byHashKey.delete(key);
    }
  }
}
