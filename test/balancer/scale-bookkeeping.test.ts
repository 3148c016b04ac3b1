import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { ConsistentHashConfig, parseConsistentHashSettings } from '../../src/balancer/config';
import { ChildEntry, IdleChildren } from '../../src/balancer/endpoint-children';
import { endpointKey } from '../../src/balancer/endpoint-key';
import { ConsistentHashLoadBalancer } from '../../src/balancer/load-balancer';
import {
  parseRingHashExperimentalSettings,
  RingHashExperimentalConfig,
} from '../../src/balancer/ring-hash-experimental-config';
import { RING_SIZE_CAP_OPTION, ringSizeCap } from '../../src/balancer/ring-size-cap';
import { buildRing, createRingBuilder, type RingAlgorithm } from '../../src/rings';
import type { RingBuilder, RingOptions } from '../../src/rings/types';
import { FakeChannelHelper, flushEvents } from '../support/fake-channel-helper';
import { captureErrorLog } from '../support/grpc-log';

const { READY, IDLE, TRANSIENT_FAILURE } = grpc.connectivityState;
const HEADER = 'x-key';
type Endpoint = grpc.experimental.Endpoint;

function endpointsOf(n: number, salt = 0): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    addresses: [{ host: `127.${1 + salt}.${(i >> 8) & 255}.${i & 255}`, port: 1 }],
  }));
}

function config(json: object): ConsistentHashConfig {
  return new ConsistentHashConfig(parseConsistentHashSettings({ hashHeader: HEADER, ...json }));
}

function push(
  lb: ConsistentHashLoadBalancer,
  endpoints: Endpoint[],
  lbConfig: grpc.experimental.TypedLoadBalancingConfig,
  options: grpc.ChannelOptions = {},
): boolean {
  return lb.updateAddressList(grpc.experimental.statusOrFromValue(endpoints), lbConfig, options, '');
}

function keyed(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(HEADER, key);
  return metadata;
}

/** Picks `key`; an IDLE owner is connected and the key picked again once it is READY. */
async function ownerOf(helper: FakeChannelHelper, key: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const result = helper.pick(keyed(key));
    if (result.pickResultType === grpc.experimental.PickResultType.COMPLETE) {
      return result.subchannel!.getAddress();
    }
    await flushEvents();
  }
  throw new Error(`key ${key} never routed`);
}

describe('canonical endpoint key', () => {
  it('is the same for the same addresses in any order, and differs for different ones', () => {
    const a = { host: '127.0.0.1', port: 1 };
    const b = { host: '::1', port: 2 };
    assert.equal(endpointKey({ addresses: [a, b] }), endpointKey({ addresses: [b, a] }));
    assert.equal(endpointKey({ addresses: [a] }), '127.0.0.1:1');
    assert.equal(endpointKey({ addresses: [b] }), '[::1]:2');
    assert.notEqual(endpointKey({ addresses: [a] }), endpointKey({ addresses: [a, b] }));
    // A socket path never collides with a host:port.
    assert.notEqual(endpointKey({ addresses: [{ path: '127.0.0.1:1' }] }), endpointKey({ addresses: [a] }));
  });
});

describe('children at scale', () => {
  it('lazy: a list of 2,000 endpoints makes no connection; a pick connects exactly its owner', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const endpoints = endpointsOf(2000);
    assert.equal(push(lb, endpoints, config({})), true);
    await flushEvents();
    assert.equal(helper.subchannels.length, 0, 'no endpoint connected before a call needs it');
    assert.equal(helper.state, IDLE);
    const owner = await ownerOf(helper, 'user-1');
    assert.deepEqual(
      helper.subchannels.map((s) => s.address),
      [owner],
    );
    const ring = buildRing(
      'ketama',
      endpoints.map((e) => ({ id: endpointKey(e) })),
    );
    assert.equal(owner, ring.members[ring.memberAt(ring.locateKey('user-1'))]!.id);
    lb.destroy();
  });

  it('eager: an update that replaces one endpoint of 1,000 connects one new child and closes one', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const endpoints = endpointsOf(1000);
    push(lb, endpoints, config({ connect: 'eager' }));
    await flushEvents();
    assert.equal(helper.subchannels.length, 1000);
    assert.equal(helper.state, READY);
    const next = endpointsOf(1000).map((e) => ({ addresses: [...e.addresses] }));
    next[500] = { addresses: [{ host: '127.9.9.9', port: 1 }] };
    push(lb, next, config({ connect: 'eager' }));
    await flushEvents();
    assert.equal(helper.subchannels.length, 1001, 'one new connection, for the new endpoint only');
    assert.equal(helper.subchannels[1000]!.address, '127.9.9.9:1');
    const removed = helper.subchannels.find((s) => s.address === '127.1.1.244:1')!;
    assert.equal(removed.refs, 0, 'the replaced endpoint is released');
    assert.equal(helper.subchannels.filter((s) => s.refs > 0).length, 1000);
    lb.destroy();
  });

  it('eager: exitIdle, called by grpc-js on every call, reads no child state once all are connected', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    push(lb, endpointsOf(2000), config({ connect: 'eager' }));
    await flushEvents();
    assert.equal(helper.state, READY);
    const original = ChildEntry.prototype.getConnectivityState;
    let reads = 0;
    ChildEntry.prototype.getConnectivityState = function (this: ChildEntry) {
      reads++;
      return original.call(this);
    };
    try {
      for (let call = 0; call < 1000; call++) lb.exitIdle();
    } finally {
      ChildEntry.prototype.getConnectivityState = original;
    }
    assert.equal(reads, 0, 'a scan of 2,000 children per call would read 2,000,000 states');
    // A child that goes idle is connected again (pick_first asks for a new subchannel).
    const sub = helper.subchannels[3]!;
    sub.setState(IDLE);
    lb.exitIdle();
    await flushEvents();
    const again = helper.subchannels.filter((s) => s.address === sub.address && s !== sub);
    assert.equal(again.length, 1, 'reconnected once');
    assert.equal(again[0]!.getConnectivityState(), READY);
    lb.destroy();
  });
});

describe('idle children', () => {
  it('are kept in the order they became idle, through adds and removals anywhere', () => {
    const children = Array.from(
      { length: 6 },
      (_, i) => new ChildEntry({ addresses: [{ host: '127.0.0.1', port: i + 1 }] }, `k${i}`, `k${i}`),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(5)), { maxLength: 40 }), (ops) => {
        const idle = new IdleChildren();
        const model: ChildEntry[] = [];
        for (const [add, i] of ops) {
          const child = children[i]!;
          if (add) {
            idle.add(child);
            if (!model.includes(child)) model.push(child);
          } else {
            idle.delete(child);
            if (model.includes(child)) model.splice(model.indexOf(child), 1);
          }
          assert.deepEqual([...idle], model);
          assert.equal(idle.size, model.length);
          assert.equal(idle.first(), model[0] ?? null);
        }
        // Each child may leave the list as it is visited (what a reconnect does).
        const visited: ChildEntry[] = [];
        for (const child of idle) {
          visited.push(child);
          idle.delete(child);
        }
        assert.deepEqual(visited, model);
        assert.equal(idle.size, 0);
        assert.equal(idle.first(), null);
      }),
      { seed: 20261127, numRuns: 300 },
    );
  });
});

describe('one object per address set', () => {
  const at = (port: number, hashKey: string): Endpoint =>
    ({ addresses: [{ host: '127.0.0.1', port }], hashKey }) as Endpoint;
  /** Keys owned by identity `id` in a ring of the identities `ids`. */
  const keysOf = (id: string, ids: string[]) => {
    const ring = buildRing(
      'ketama',
      ids.map((i) => ({ id: i })),
    );
    return Array.from({ length: 60 }, (_, k) => `k${k}`).filter(
      (k) => ring.members[ring.memberAt(ring.locateKey(k))]!.id === id,
    );
  };

  it('identities that trade address sets: keys follow their identity, each connection is kept', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    push(lb, [at(1, 'a'), at(2, 'b')], config({ connect: 'eager' }));
    await flushEvents();
    const ofA = keysOf('a', ['a', 'b']);
    assert.ok(ofA.length > 0);
    for (const k of ofA) assert.equal(await ownerOf(helper, k), '127.0.0.1:1');
    push(lb, [at(1, 'b'), at(2, 'a')], config({ connect: 'eager' }));
    await flushEvents();
    for (const k of ofA) assert.equal(await ownerOf(helper, k), '127.0.0.1:2', k);
    assert.equal(helper.subchannels.length, 2, 'no address was connected again');
    assert.ok(helper.subchannels.every((sub) => sub.refs > 0));
    lb.destroy();
  });

  it('a list whose ring cannot be built changes nothing that serves; the next good list applies', async () => {
    const helper = new FakeChannelHelper();
    const lb = new FailingBuildBalancer(helper);
    const first = [at(1, 'a'), at(2, 'b'), ...endpointsOf(100)];
    push(lb, first, config({ connect: 'eager' }));
    await flushEvents();
    const ids = first.map((e) => (e as { hashKey?: string }).hashKey ?? endpointKey(e));
    const ofA = keysOf('a', ids);
    assert.ok(ofA.length > 0);
    lb.failing.reason = 'not now';
    await captureErrorLog(() => {
      // a and b trade addresses; then a list of one, which lets the index drop what it no longer lists.
      push(lb, [at(1, 'b'), at(2, 'a'), ...endpointsOf(100)], config({ connect: 'eager' }));
      push(lb, [at(9, 'z')], config({ connect: 'eager' }));
    });
    await flushEvents();
    for (const k of ofA)
      assert.equal(await ownerOf(helper, k), '127.0.0.1:1', `${k} still on a's first address`);
    assert.equal(helper.subchannels.filter((sub) => sub.refs > 0).length, 102, 'every serving child kept');
    lb.failing.reason = null;
    assert.equal(push(lb, [at(1, 'b'), at(2, 'a')], config({ connect: 'eager' })), true);
    await flushEvents();
    for (const k of ofA) assert.equal(await ownerOf(helper, k), '127.0.0.1:2', k);
    const live = helper.subchannels.filter((sub) => sub.refs > 0).map((sub) => sub.address);
    assert.deepEqual(live.sort(), ['127.0.0.1:1', '127.0.0.1:2'], 'the 100 left out are released');
    lb.destroy();
  });
});

/** A policy whose ring builder fails whenever `failing.reason` is set. */
class FailingBuildBalancer extends ConsistentHashLoadBalancer {
  readonly failing: { reason: string | null } = { reason: null };
  protected override createRingBuilder(algorithm: RingAlgorithm, options: RingOptions): RingBuilder {
    const real = createRingBuilder(algorithm, options);
    return {
      algorithm,
      build: (members) => {
        if (this.failing.reason !== null) throw new RangeError(this.failing.reason);
        return real.build(members);
      },
    };
  }
}

describe('a ring that cannot be built', () => {
  it('never replaces a working ring: the last good ring keeps serving, logged once at ERROR', async () => {
    const helper = new FakeChannelHelper();
    const lb = new FailingBuildBalancer(helper);
    const first = endpointsOf(50);
    push(lb, first, config({ connect: 'eager' }));
    await flushEvents();
    const before = new Map<string, string>();
    for (let k = 0; k < 40; k++) before.set(`k${k}`, await ownerOf(helper, `k${k}`));
    lb.failing.reason = 'the test says no';
    const { lines, result } = await captureErrorLog(() => {
      const accepted = [push(lb, endpointsOf(60, 1), config({ connect: 'eager' }))];
      accepted.push(push(lb, endpointsOf(70, 1), config({ connect: 'eager' })));
      return accepted;
    });
    assert.deepEqual(result, [false, false], 'the update is refused, so the channel re-resolves');
    assert.equal(lines.length, 1, `logged once: ${lines.join(' | ')}`);
    assert.match(lines[0]!, /cannot build the ketama ring over 60 endpoints: the test says no/);
    assert.match(lines[0]!, /still serving the last good ring \(50 endpoints\)/);
    await flushEvents();
    assert.equal(helper.state, READY);
    for (const [key, owner] of before) assert.equal(await ownerOf(helper, key), owner, key);
    // Once a ring can be built again, the new list takes over.
    lb.failing.reason = null;
    assert.equal(push(lb, endpointsOf(60, 1), config({ connect: 'eager' })), true);
    await flushEvents();
    assert.match(await ownerOf(helper, 'k1'), /^127\.2\./);
    lb.destroy();
  });

  it('with no previous ring, calls fail at once with UNAVAILABLE naming the reason', async () => {
    const helper = new FakeChannelHelper();
    const lb = new FailingBuildBalancer(helper);
    lb.failing.reason = 'no ring today';
    const { lines } = await captureErrorLog(() => push(lb, endpointsOf(5), config({})));
    assert.equal(lines.length, 1);
    assert.equal(helper.state, TRANSIENT_FAILURE);
    const result = helper.pick(keyed('a'));
    assert.equal(result.pickResultType, grpc.experimental.PickResultType.TRANSIENT_FAILURE);
    assert.equal(result.status?.code, grpc.status.UNAVAILABLE);
    assert.match(result.status!.details, /cannot build the ketama ring over 5 endpoints: no ring today/);
    lb.destroy();
  });
});

describe('ketama point budget', () => {
  it('200 endpoints of weight 1000 (the old cliff was the 132nd) still route every key', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const endpoints = endpointsOf(200).map((e) => ({ ...e, weight: 1000 }));
    assert.equal(push(lb, endpoints, config({ connect: 'eager' })), true);
    await flushEvents();
    assert.equal(helper.state, READY);
    const owners = new Set<string>();
    for (let k = 0; k < 200; k++) owners.add(await ownerOf(helper, `key-${k}`));
    assert.ok(owners.size > 50, `keys spread over the endpoints (${owners.size})`);
    lb.destroy();
  });
});

describe('gRPC ring-size cap', () => {
  it('reads grpc.lb.ring_hash.ring_size_cap: default 4096, clamped to [1, 8388608], errors named', () => {
    assert.deepEqual(ringSizeCap({}), { cap: 4096, error: null });
    assert.deepEqual(ringSizeCap({ [RING_SIZE_CAP_OPTION]: 8192 }), { cap: 8192, error: null });
    assert.deepEqual(ringSizeCap({ [RING_SIZE_CAP_OPTION]: 0 }), { cap: 1, error: null });
    assert.deepEqual(ringSizeCap({ [RING_SIZE_CAP_OPTION]: 1e12 }), { cap: 8388608, error: null });
    // grpc-js types the option as a number; configs read from files may still carry strings.
    const text = (value: string) => ({ [RING_SIZE_CAP_OPTION]: value }) as unknown as grpc.ChannelOptions;
    assert.deepEqual(ringSizeCap(text('16384')), { cap: 16384, error: null });
    const bad = ringSizeCap(text('big'));
    assert.equal(bad.cap, 4096);
    assert.match(bad.error!, /"grpc\.lb\.ring_hash\.ring_size_cap" must be a number, got "big"; using 4096/);
  });

  it('a size of 0 means the default, as in grpc-go', () => {
    assert.deepEqual(parseRingHashExperimentalSettings({ minRingSize: 0, maxRingSize: '0' }).ringOptions, {});
    assert.deepEqual(parseConsistentHashSettings({ minRingSize: 0, maxRingSize: 0 }).ringOptions, {});
    assert.throws(
      () => parseRingHashExperimentalSettings({ minRingSize: 5000, maxRingSize: 0 }),
      /must not exceed/,
    );
  });

  const members = endpointsOf(3).map((e) => ({ id: endpointKey(e) }));
  const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const expected = (size: number) => {
    const ring = buildRing('ring_hash', members, { minRingSize: size, maxRingSize: size });
    return keys.map((k) => ring.members[ring.memberAt(ring.locateKey(k))]!.id);
  };

  for (const [name, options, size] of [
    ['by default, a configured 8192 ring is capped to 4096 (placement as grpc-go)', {}, 4096],
    ['the channel option raises the cap', { [RING_SIZE_CAP_OPTION]: 8192 }, 8192],
    ['the channel option lowers it too', { [RING_SIZE_CAP_OPTION]: 1024 }, 1024],
  ] as const) {
    it(`ring_hash_experimental: ${name}`, async () => {
      const helper = new FakeChannelHelper();
      const lb = new ConsistentHashLoadBalancer(helper);
      const lbConfig = new RingHashExperimentalConfig(
        parseRingHashExperimentalSettings({
          minRingSize: 8192,
          maxRingSize: 8192,
          requestHashHeader: HEADER,
        }),
      );
      assert.equal(push(lb, endpointsOf(3), lbConfig, options), true);
      const observed: string[] = [];
      for (const key of keys) observed.push(await ownerOf(helper, key));
      assert.deepEqual(observed, expected(size));
      assert.notDeepEqual(expected(size), expected(size === 4096 ? 8192 : 4096), 'the sizes are told apart');
      lb.destroy();
    });
  }

  it('consistent_hash with algorithm ring_hash is capped the same way; an option change rebuilds', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const lbConfig = config({ algorithm: 'ring_hash', minRingSize: 8192, maxRingSize: 8192 });
    push(lb, endpointsOf(3), lbConfig);
    const observed: string[] = [];
    for (const key of keys) observed.push(await ownerOf(helper, key));
    assert.deepEqual(observed, expected(4096));
    push(lb, endpointsOf(3), lbConfig, { [RING_SIZE_CAP_OPTION]: 8192 });
    observed.length = 0;
    for (const key of keys) observed.push(await ownerOf(helper, key));
    assert.deepEqual(observed, expected(8192));
    lb.destroy();
  });
});
