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
    assert.match(skipped[1]!, /entry 1 \(service ID "noport"\): Port 0 is not a port number/);
  });

  it('rejects only a body that is not an array', () => {
    assert.throws(() => buildConsulEndpoints({ Service: [] }), ConsulResponseError);
  });

  const malformed: [string, unknown, RegExp][] = [
    ['entry not an object', 42, /^entry 0: not an object$/],
    ['Service missing', { Node: {} }, /^entry 0: Service is not an object$/],
    ['Port "abc"', entry({ ID: 'x', Address: '10.0.0.9', Port: 'abc' }), /"x"\): Port "abc" is not a port/],
    ['Port 1.5', entry({ ID: 'x', Address: '10.0.0.9', Port: 1.5 }), /Port 1.5 is not a port/],
    [
      'Tags not strings',
      entry({ ID: 'x', Address: 'a', Port: 1, Tags: [1] }),
      /Tags is not an array of strings/,
    ],
    ['Meta not an object', entry({ ID: 'x', Address: 'a', Port: 1, Meta: 'm' }), /Meta is not an object/],
    [
      'Weights.Passing "x"',
      entry({ ID: 'x', Address: 'a', Port: 1, Weights: { Passing: 'x' } }),
      /Passing "x"/,
    ],
    [
      'address "not an ip"',
      entry({ ID: 'x', Address: 'not an ip', Port: 1 }),
      /"not an ip" is neither an IP/,
    ],
    ['address "a..b"', entry({ ID: 'x', Address: 'a..b', Port: 1 }), /"a..b" is neither/],
  ];
  for (const [what, bad, reason] of malformed) {
    it(`skips a malformed entry (${what}), naming it, and keeps the rest`, () => {
      const good = entry({ ID: 'good', Address: '10.0.0.1', Port: 7 });
      const { endpoints, skipped } = buildConsulEndpoints([bad, good]);
      assert.deepEqual(addressesOf(endpoints), ['10.0.0.1:7']);
      assert.equal(skipped.length, 1);
      assert.match(skipped[0]!, reason);
    });
  }

  it('accepts IP addresses and DNS names as hosts', () => {
    const { endpoints, skipped } = buildConsulEndpoints([
      entry({ ID: 'a', Address: 'node-1.dc1.consul', Port: 1 }),
      entry({ ID: 'b', Address: '10.0.0.1', Port: 1 }),
      entry({ ID: 'c', Address: 'fd00::1', Port: 1 }),
    ]);
    assert.deepEqual(skipped, []);
    assert.equal(endpoints.length, 3);
  });

  it('canonicalises IPv6, so that one address is one member', () => {
    const { endpoints } = buildConsulEndpoints([
      entry({ ID: 'short', Address: '::1', Port: 9 }),
      entry({ ID: 'long', Address: '0:0:0:0:0:0:0:1', Port: 9 }),
      entry({ ID: 'upper', Address: 'FD00:0:0::2', Port: 9 }),
    ]);
    assert.deepEqual(addressesOf(endpoints), ['[::1]:9', '[fd00::2]:9']);
  });

  it('hashkey=id: the service ID is the ring identity, so a new IP keeps it; repeated IDs are node-qualified', () => {
    const before = buildConsulEndpoints(
      [entry({ ID: 'cache-0', Address: '10.0.0.1', Port: 1 })],
      undefined,
      false,
      {
        kind: 'id',
      },
    );
    const after = buildConsulEndpoints(
      [entry({ ID: 'cache-0', Address: '10.0.0.77', Port: 1 })],
      undefined,
      false,
      {
        kind: 'id',
      },
    );
    assert.equal(before.endpoints[0]!.hashKey, 'cache-0');
    assert.equal(after.endpoints[0]!.hashKey, 'cache-0');
    const twoNodes = buildConsulEndpoints(
      [
        { Node: { Node: 'n1', Address: '10.0.0.1' }, Service: { ID: 'web', Port: 1 } },
        { Node: { Node: 'n2', Address: '10.0.0.2' }, Service: { ID: 'web', Port: 1 } },
      ],
      undefined,
      false,
      { kind: 'id' },
    );
    assert.deepEqual(
      twoNodes.endpoints.map((e) => e.hashKey),
      ['n1/web', 'n2/web'],
    );
  });

  it('hashkey=meta:<key>: the Meta value, falling back to the address when missing or not unique', () => {
    const { endpoints, warnings } = buildConsulEndpoints(
      [
        entry({ ID: 'a', Address: '10.0.0.1', Port: 1, Meta: { pod: 'cache-0' } }),
        entry({ ID: 'b', Address: '10.0.0.2', Port: 1, Meta: { pod: 'dup' } }),
        entry({ ID: 'c', Address: '10.0.0.3', Port: 1, Meta: { pod: 'dup' } }),
        entry({ ID: 'd', Address: '10.0.0.4', Port: 1 }),
      ],
      undefined,
      false,
      { kind: 'meta', key: 'pod' },
    );
    assert.deepEqual(
      endpoints.map((e) => e.hashKey),
      ['cache-0', undefined, undefined, undefined],
    );
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, /10\.0\.0\.2:1: Service\.Meta\["pod"\] "dup" is not unique/);
    assert.match(warnings[2]!, /10\.0\.0\.4:1: no Service\.Meta\["pod"\]/);
  });
});
