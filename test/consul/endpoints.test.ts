import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConsulEndpoints, ConsulResponseError } from '../../src/exports/consul';
import { addressesOf } from '../support/consul-resolver-recorder';

function entry(service: Record<string, unknown>, nodeAddress = '10.9.9.9') {
  return { Node: { Node: 'n1', Address: nodeAddress, Datacenter: 'dc1' }, Service: service, Checks: [] };
}

describe('buildConsulEndpoints', () => {
  it('uses Service.Address, falls back to Node.Address, sorts, and carries weight, meta and tags', () => {
    const { endpoints, skipped } = buildConsulEndpoints([
      entry({ ID: 'b', Address: '10.0.0.2', Port: 50051, Weights: { Passing: 3, Warning: 1 }, Tags: ['x'] }),
      entry({ ID: 'a', Address: '', Port: 50052, Meta: { zone: 'z1' } }),
      entry({ ID: 'c', Address: '10.0.0.1', Port: 50051, Weights: { Passing: 1, Warning: 1 } }),
    ]);
    assert.deepEqual(skipped, []);
    assert.deepEqual(endpoints, [
      { addresses: [{ host: '10.0.0.1', port: 50051 }] },
      { addresses: [{ host: '10.0.0.2', port: 50051 }], weight: 3, tags: ['x'] },
      { addresses: [{ host: '10.9.9.9', port: 50052 }], metadata: { zone: 'z1' } },
    ]);
  });

  it('keeps IPv6 hosts raw (brackets only when formatted) and strips brackets Consul was given', () => {
    const { endpoints } = buildConsulEndpoints([
      entry({ ID: 'v6', Address: '::1', Port: 7000 }),
      entry({ ID: 'v6b', Address: '[fd00::2]', Port: 7000 }),
    ]);
    assert.deepEqual(
      endpoints.map((e) => e.addresses[0]),
      [
        { host: '::1', port: 7000 },
        { host: 'fd00::2', port: 7000 },
      ],
    );
  });

  it('deduplicates by address, the smallest Service.ID winning, whatever the input order', () => {
    const a = entry({ ID: 'web-2', Address: '10.0.0.1', Port: 1, Weights: { Passing: 5 } });
    const b = entry({ ID: 'web-1', Address: '10.0.0.1', Port: 1, Weights: { Passing: 2 } });
    for (const list of [
      [a, b],
      [b, a],
    ]) {
      const { endpoints } = buildConsulEndpoints(list);
      assert.equal(endpoints.length, 1);
      assert.equal(endpoints[0]!.weight, 2);
    }
  });

  it('gives the same list for the same set in any order', () => {
    const entries = Array.from({ length: 20 }, (_, i) =>
      entry({ ID: `s${i}`, Address: `10.0.${i % 3}.${i}`, Port: 100 + i }),
    );
    const forward = buildConsulEndpoints(entries).endpoints;
    const backward = buildConsulEndpoints([...entries].reverse()).endpoints;
    assert.deepEqual(forward, backward);
  });

  it('applies limit after sorting, or in Consul order for near', () => {
    const entries = [
      entry({ ID: 'far', Address: '10.0.0.1', Port: 1 }),
      entry({ ID: 'near', Address: '10.0.0.9', Port: 1 }),
    ].reverse();
    assert.equal(addressesOf(buildConsulEndpoints(entries, 1).endpoints)[0], '10.0.0.1:1');
    assert.equal(addressesOf(buildConsulEndpoints(entries, 1, true).endpoints)[0], '10.0.0.9:1');
  });

  it('skips entries without an address or with port 0, and reports why', () => {
    const { endpoints, skipped } = buildConsulEndpoints([
      { Node: { Address: '' }, Service: { ID: 'noaddr', Address: '', Port: 1 } },
      entry({ ID: 'noport', Address: '10.0.0.1', Port: 0 }),
    ]);
    assert.deepEqual(endpoints, []);
    assert.equal(skipped.length, 2);
    assert.match(skipped[1]!, /noport: port 0/);
  });

  const wrong: [string, unknown][] = [
    ['not an array', { Service: [] }],
    ['entry not an object', [42]],
    ['Service missing', [{ Node: {} }]],
    ['Port not a number', [entry({ ID: 'x', Address: 'a', Port: '1' })]],
    ['Tags not strings', [entry({ ID: 'x', Address: 'a', Port: 1, Tags: [1] })]],
    ['Meta not an object', [entry({ ID: 'x', Address: 'a', Port: 1, Meta: 'm' })]],
    ['Weights.Passing not a number', [entry({ ID: 'x', Address: 'a', Port: 1, Weights: { Passing: 'x' } })]],
  ];
  for (const [what, body] of wrong) {
    it(`rejects a wrong shape: ${what}`, () => {
      assert.throws(() => buildConsulEndpoints(body), ConsulResponseError);
    });
  }
});
