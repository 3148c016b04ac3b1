import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { endpointHashKey, endpointWeight, MAX_ENDPOINT_WEIGHT } from '../../src';
import { endpointKey } from '../../src/balancer/endpoint-key';
import { type RingEndpoint, RingMemberIndex, ringEndpoints } from '../../src/balancer/ring-members';
import { ringWeight } from '../../src/balancer/ring-weight';

describe('endpoint ring identity and weight', () => {
  it('identity: explicit hashKey, else first address as host:port (IPv6 bracketed), unix path', () => {
    assert.equal(
      endpointHashKey({ addresses: [{ host: '10.0.0.1', port: 5 }], hashKey: 'db-1' } as never),
      'db-1',
    );
    assert.equal(
      endpointHashKey({
        addresses: [
          { host: '10.0.0.1', port: 5 },
          { host: '10.0.0.2', port: 6 },
        ],
      }),
      '10.0.0.1:5',
    );
    assert.equal(endpointHashKey({ addresses: [{ host: '::1', port: 5 }] }), '[::1]:5');
    assert.equal(endpointHashKey({ addresses: [{ path: '/tmp/s.sock' }] }), '/tmp/s.sock');
    assert.equal(
      endpointHashKey({ addresses: [{ host: '10.0.0.1', port: 5 }], hashKey: '' } as never),
      '10.0.0.1:5',
    );
  });

  it('weight: absent → 1; invalid → 1; huge → clamped', () => {
    const e = (weight: unknown) => ({ addresses: [{ host: '10.0.0.1', port: 5 }], weight }) as never;
    assert.equal(endpointWeight({ addresses: [] }, 'x'), 1);
    assert.equal(endpointWeight(e(3), 'x'), 3);
    assert.equal(endpointWeight(e(0.5), 'x'), 0.5);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', null])
      assert.equal(endpointWeight(e(bad), 'x'), 1);
    assert.equal(endpointWeight(e(1e12), 'x'), MAX_ENDPOINT_WEIGHT);
  });

  it('members: one per identity, weights added up to the cap; no addresses or reused addresses skipped', () => {
    const at = (port: number, extra: object = {}) =>
      ({ addresses: [{ host: '10.0.0.1', port }], ...extra }) as never;
    const members = ringEndpoints([
      at(1, { weight: 800 }),
      { addresses: [] },
      { addresses: [], hashKey: 'no-address' } as never,
      at(2, { hashKey: 'b' }),
      at(1, { weight: 800 }),
      at(2, { hashKey: 'c' }),
      at(3),
      at(3, { weight: 2 }),
    ]);
    assert.deepEqual(
      members.map((m) => [m.hashKey, m.weight]),
      [
        ['10.0.0.1:1', MAX_ENDPOINT_WEIGHT],
        ['b', 1],
        ['10.0.0.1:3', 3],
      ],
    );
  });

  // The policy derives members with one index kept across updates; it must agree with a fresh
  // derivation on every list, whatever came before (reused members, stale map entries, eviction).
  const host = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '::1');
  const tcp = fc.record({ host, port: fc.integer({ min: 1, max: 3 }) });
  const unix = fc.constantFrom({ path: '/tmp/a.sock' }, { path: '/tmp/b.sock' });
  const endpointArb = fc.record(
    {
      addresses: fc.array(fc.oneof({ weight: 4, arbitrary: tcp }, unix), { minLength: 0, maxLength: 2 }),
      hashKey: fc.constantFrom('a', 'b', '10.0.0.1:1', '[::1]:2', 'unix:/tmp/a.sock', '', '/tmp/a.sock'),
      weight: fc.constantFrom(1, 2, 700, 0, 'x'),
    },
    { requiredKeys: ['addresses'] },
  ) as fc.Arbitrary<grpc.experimental.Endpoint>;
  const view = (members: readonly RingEndpoint[]) =>
    members.map((m) => [m.endpoint, m.addressKey, m.hashKey, m.weight, m.requestedWeight]);
  /** The documented rule, written plainly (a scan per endpoint): the oracle for the indexed derivation. */
  const plainMembers = (list: readonly grpc.experimental.Endpoint[]) => {
    const kept: {
      endpoint: grpc.experimental.Endpoint;
      addressKey: string;
      hashKey: string;
      weight: number;
      requestedWeight: number;
    }[] = [];
    for (const endpoint of list) {
      if (endpoint.addresses.length === 0) continue;
      const addressKey = endpointKey(endpoint);
      const hashKey = endpointHashKey(endpoint);
      const { weight, requested } = ringWeight((endpoint as { weight?: unknown }).weight);
      const sameIdentity = kept.find((m) => m.hashKey === hashKey);
      if (sameIdentity !== undefined) {
        sameIdentity.weight = Math.min(sameIdentity.weight + weight, MAX_ENDPOINT_WEIGHT);
        sameIdentity.requestedWeight += requested;
      } else if (!kept.some((m) => m.addressKey === addressKey)) {
        kept.push({ endpoint, addressKey, hashKey, weight, requestedWeight: requested });
      }
    }
    return kept.map((m) => [m.endpoint, m.addressKey, m.hashKey, m.weight, m.requestedWeight]);
  };
  const weightsOf = (members: readonly RingEndpoint[]) =>
    new Map(members.map((m) => [m.hashKey, m.weight] as const));
  const sameWeights = (a: Map<string, number>, b: Map<string, number>) =>
    a.size === b.size && [...a].every(([k, w]) => b.get(k) === w);

  // The index keeps one member per address set: an address set listed under another identity since
  // the commit counts as a change even if the (identity, weight) set ends up the same, so that a
  // kept ring never maps an identity to the wrong connection.
  it('members kept across updates equal a fresh derivation; changes against the last commit are seen', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(endpointArb, { maxLength: 8 }), fc.boolean()), {
          minLength: 1,
          maxLength: 8,
        }),
        (steps) => {
          const index = new RingMemberIndex();
          let committed: Map<string, number> | null = null;
          let committedAt = new Map<string, string>();
          /** Address sets listed under another identity than at the commit, since the commit. */
          const moved = new Set<string>();
          for (const [list, commit] of steps) {
            const members = index.derive(list);
            assert.deepEqual(view(members), plainMembers(list));
            assert.deepEqual(view(ringEndpoints(list)), plainMembers(list));
            const weights = weightsOf(members);
            for (const m of members) if (committedAt.get(m.addressKey) !== m.hashKey) moved.add(m.addressKey);
            assert.equal(
              index.differsFromCommitted(members),
              committed === null ||
                !sameWeights(committed, weights) ||
                members.some((m) => moved.has(m.addressKey)),
            );
            if (commit) {
              index.commit(members);
              committed = weights;
              committedAt = new Map(members.map((m) => [m.addressKey, m.hashKey] as const));
              moved.clear();
            }
          }
        },
      ),
      { seed: 20261127, numRuns: 300 },
    );
  });

  it('an identity that trades address sets with another is a change, although the set is the same', () => {
    const at = (port: number, hashKey: string) =>
      ({ addresses: [{ host: '10.0.0.1', port }], hashKey }) as never;
    const index = new RingMemberIndex();
    index.commit(index.derive([at(1, 'a'), at(2, 'b')]));
    assert.equal(index.differsFromCommitted(index.derive([at(2, 'b'), at(1, 'a')])), false);
    const swapped = index.derive([at(1, 'b'), at(2, 'a')]);
    assert.deepEqual(
      swapped.map((m) => [m.addressKey, m.id]),
      [
        ['10.0.0.1:1', 'b'],
        ['10.0.0.1:2', 'a'],
      ],
    );
    assert.equal(index.differsFromCommitted(swapped), true);
  });

  it('a kept index drops members no longer listed, and still tells a returning member from a kept one', () => {
    const at = (i: number, port = 1) => ({ addresses: [{ host: `10.1.${i >> 8}.${i & 255}`, port }] });
    const big = Array.from({ length: 1000 }, (_, i) => at(i));
    const index = new RingMemberIndex();
    index.commit(index.derive(big));
    const small = big.slice(0, 10);
    assert.deepEqual(view(index.derive(small)), view(ringEndpoints(small)));
    assert.equal(
      [...index.values()].length,
      10,
      'unlisted members are evicted once they outnumber the listed',
    );
    // The 1000 again: the evicted 990 are new to the index, so the set differs from nothing committed since.
    const again = index.derive(big.map((e, i) => (i === 5 ? at(5, 2) : e)));
    assert.equal(again.length, 1000);
    assert.equal(index.differsFromCommitted(again), true);
    index.commit(again);
    assert.equal(
      index.differsFromCommitted(index.derive(big.map((e, i) => (i === 5 ? at(5, 2) : e)))),
      false,
    );
  });
});
