import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointHashKey, endpointWeight, MAX_ENDPOINT_WEIGHT } from '../../src';
import { ringEndpoints } from '../../src/balancer/ring-members';

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
});
