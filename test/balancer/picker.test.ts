import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type { ConsistentHashSettings } from '../../src/balancer/config';
import { KeyPositionCache } from '../../src/balancer/key-position-cache';
import { ConsistentHashPicker, type RingChild } from '../../src/balancer/picker';
import type { HashRing } from '../../src/rings/types';

const { PickResultType } = grpc.experimental;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/** A ring of `size` positions; position p belongs to member p % members; key "pN" lands on N. */
function fakeRing(members: number, size: number): HashRing {
  return {
    algorithm: 'ketama',
    members: Array.from({ length: members }, (_, i) => ({ id: `m${i}` })),
    size,
    locate: (_hi, lo) => lo % size,
    locateKey: (key) => {
      const n = /^p(\d+)$/.exec(key);
      return n ? Number(n[1]) % size : key.length % size;
    },
    memberAt: (p) => p % members,
    keyHash: (key, out) => {
      out[0] = 0;
      out[1] = key.length;
    },
  };
}

const completeMarker = { marker: true } as unknown as grpc.experimental.SubchannelInterface;

function fakeChild(
  name: string,
  state: grpc.connectivityState,
  lastError: string | null = null,
): RingChild & { state: grpc.connectivityState } {
  return {
    name,
    lastError,
    state,
    getConnectivityState() {
      return this.state;
    },
    getPicker: () => ({
      pick: () =>
        ({
          pickResultType: PickResultType.COMPLETE,
          subchannel: completeMarker,
          status: null,
          onCallStarted: null,
          onCallEnded: null,
          // which child answered, for the assertions
          picked: name,
        }) as grpc.experimental.PickResult,
    }),
  };
}

const SETTINGS: ConsistentHashSettings = {
  algorithm: 'ketama',
  ringOptions: {},
  hashHeader: 'x-key',
  missingKey: 'random',
  affinity: 'failover',
  connect: 'lazy',
  boundedLoad: null,
};

function md(key?: string | string[]): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const v of key === undefined ? [] : Array.isArray(key) ? key : [key]) m.add('x-key', v);
  return m;
}

function makePicker(
  states: grpc.connectivityState[],
  settings: Partial<ConsistentHashSettings> = {},
  ring = fakeRing(states.length, states.length * 4),
) {
  const children = states.map((s, i) =>
    fakeChild(`10.0.0.${i}:1`, s, s === TRANSIENT_FAILURE ? `refused ${i}` : null),
  );
  const connects: number[] = [];
  const picker = new ConsistentHashPicker(
    ring,
    children,
    { ...SETTINGS, ...settings },
    { requestConnect: (c) => connects.push(children.indexOf(c as (typeof children)[number])) },
    new KeyPositionCache(),
  );
  const pick = (metadata: grpc.Metadata) => picker.pick({ metadata, extraPickInfo: {} });
  return { picker, children, connects, pick };
}

const pickedName = (r: grpc.experimental.PickResult) => (r as unknown as { picked?: string }).picked;

describe('ConsistentHashPicker', () => {
  it('routes a key to its owner when READY', () => {
    const { pick } = makePicker([READY, READY, READY]);
    assert.equal(pickedName(pick(md('p1'))), '10.0.0.1:1');
    assert.equal(pickedName(pick(md('p5'))), '10.0.0.2:1');
  });

  it('joins several header values with "," (A76)', () => {
    const ring = fakeRing(3, 12);
    const seen: string[] = [];
    const spy = {
      ...ring,
      locateKey: (k: string) => {
        seen.push(k);
        return 0;
      },
    };
    const { pick } = makePicker([READY, READY, READY], {}, spy);
    pick(md(['a', 'b']));
    assert.deepEqual(seen, ['a,b']);
  });

  it('failover: IDLE owner → connect requested and queued; CONNECTING → queued', () => {
    const idle = makePicker([READY, IDLE, READY]);
    assert.equal(idle.pick(md('p1')).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(idle.connects, [1]);
    const connecting = makePicker([READY, CONNECTING, READY]);
    assert.equal(connecting.pick(md('p1')).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(connecting.connects, []);
  });

  it('failover: TRANSIENT_FAILURE owner → the next distinct member along the ring', () => {
    const { pick } = makePicker([READY, TRANSIENT_FAILURE, READY]);
    assert.equal(pickedName(pick(md('p1'))), '10.0.0.2:1');
    const walkToIdle = makePicker([READY, TRANSIENT_FAILURE, IDLE]);
    assert.equal(walkToIdle.pick(md('p1')).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(walkToIdle.connects, [2]);
  });

  it('failover: every member failed → UNAVAILABLE naming the last error', () => {
    const { pick } = makePicker([TRANSIENT_FAILURE, TRANSIENT_FAILURE]);
    const r = pick(md('p0'));
    assert.equal(r.pickResultType, PickResultType.TRANSIENT_FAILURE);
    assert.equal(r.status?.code, grpc.status.UNAVAILABLE);
    assert.match(r.status!.details, /no endpoint is reachable.*refused/);
  });

  it('strict: only the owner; a failed owner is UNAVAILABLE naming it, never the key', () => {
    const { pick, connects } = makePicker([READY, TRANSIENT_FAILURE, IDLE], { affinity: 'strict' });
    assert.equal(pickedName(pick(md('p0'))), '10.0.0.0:1');
    const failed = pick(md('p1'));
    assert.equal(failed.pickResultType, PickResultType.TRANSIENT_FAILURE); // respects waitForReady
    assert.equal(failed.status?.code, grpc.status.UNAVAILABLE);
    assert.match(failed.status!.details, /endpoint 10\.0\.0\.1:1.*owns this key.*strict.*refused 1/);
    assert.doesNotMatch(failed.status!.details, /p1/);
    assert.equal(pick(md('p2')).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(connects, [2]);
  });

  it('missingKey: random spreads keyless calls; fail drops them naming the header', () => {
    const random = makePicker([READY, READY, READY]);
    const owners = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) owners.add(pickedName(random.pick(md())));
    assert.equal(owners.size, 3);
    const fail = makePicker([READY, READY, READY], { missingKey: 'fail' });
    const r = fail.pick(md());
    assert.equal(r.pickResultType, PickResultType.DROP);
    assert.equal(r.status?.code, grpc.status.INTERNAL);
    assert.match(r.status!.details, /"x-key" header/);
  });

  it('keyless calls (random hash, A76) use READY endpoints and connect at most one idle endpoint', () => {
    const mixed = makePicker([IDLE, IDLE, READY, TRANSIENT_FAILURE]);
    for (let i = 0; i < 50; i++) assert.equal(pickedName(mixed.pick(md())), '10.0.0.2:1');
    assert.deepEqual(mixed.connects, []);
    const idle = makePicker([IDLE, IDLE, IDLE]);
    assert.equal(idle.pick(md()).pickResultType, PickResultType.QUEUE);
    assert.equal(idle.connects.length, 1);
    const connecting = makePicker([CONNECTING, IDLE]);
    assert.equal(connecting.pick(md()).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(connecting.connects, []);
    const failed = makePicker([TRANSIENT_FAILURE, TRANSIENT_FAILURE]);
    assert.equal(failed.pick(md()).status?.code, grpc.status.UNAVAILABLE);
  });

  it('caches key positions, bounded', () => {
    let hashed = 0;
    const ring = fakeRing(2, 8);
    const counting = {
      ...ring,
      locateKey: (k: string) => {
        hashed++;
        return ring.locateKey(k);
      },
    };
    const { pick } = makePicker([READY, READY], {}, counting);
    for (let i = 0; i < 5; i++) pick(md('p3'));
    assert.equal(hashed, 1);
    const cache = new KeyPositionCache(4);
    for (let i = 0; i < 100; i++) cache.set(`k${i}`, i);
    assert.ok(cache.size <= 4);
    cache.set('x'.repeat(1000), 1);
    // Not cached (and, being too long to cache, not even looked up).
    assert.ok(cache.get('x'.repeat(1000)) < 0);
  });

  it('never throws: odd metadata, header values of any content, a ring that throws', () => {
    const { pick } = makePicker([READY, TRANSIENT_FAILURE, IDLE, CONNECTING]);
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { maxLength: 4 }), (values) => {
        const m = new grpc.Metadata();
        for (const v of values) {
          try {
            m.add('x-key', v);
          } catch {
            // Metadata refuses some values itself; the picker never sees them.
          }
        }
        const r = pick(m);
        assert.ok(r && typeof r.pickResultType === 'number');
      }),
      { numRuns: 300 },
    );
    assert.doesNotThrow(() => pick(md('x'.repeat(65536))));
    const hostile = {
      get: () => {
        throw new Error('boom');
      },
    } as unknown as grpc.Metadata;
    const r = pick(hostile);
    assert.equal(r.pickResultType, PickResultType.DROP);
    assert.equal(r.status?.code, grpc.status.INTERNAL);
    assert.match(r.status!.details, /unexpected error in pick: boom/);
    const broken = {
      ...fakeRing(2, 4),
      locateKey: () => {
        throw new RangeError('bad ring');
      },
    };
    const b = makePicker([READY, READY], {}, broken);
    assert.equal(b.pick(md('k')).status?.code, grpc.status.INTERNAL);
  });
});
