import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ConsistentHashSettings } from '../../src/balancer/config';
import { KeyPositionCache } from '../../src/balancer/key-position-cache';
import { ConsistentHashPicker, type PickLoadGate, type RingChild } from '../../src/balancer/picker';
import { buildRing, crc32String } from '../../src/rings';
import { CandidateOrder } from '../../src/rings/candidate-order';
import type { HashRing } from '../../src/rings/types';
import { referenceOrder } from '../support/rendezvous-reference';

const { PickResultType } = grpc.experimental;
const { READY, IDLE, TRANSIENT_FAILURE } = grpc.connectivityState;

const IDS = Array.from({ length: 12 }, (_, i) => `10.0.0.${i + 1}:50051`);
const KEYS = Array.from({ length: 200 }, (_, i) => `user-${i}`);
const subchannel = {} as grpc.experimental.SubchannelInterface;

function child(name: string, state: grpc.connectivityState): RingChild & { state: grpc.connectivityState } {
  return {
    name,
    lastError: state === TRANSIENT_FAILURE ? 'connection refused' : null,
    state,
    getConnectivityState() {
      return this.state;
    },
    getPicker: () => ({
      pick: () =>
        ({
          pickResultType: PickResultType.COMPLETE,
          subchannel,
          status: null,
          onCallStarted: null,
          onCallEnded: null,
          picked: name,
        }) as grpc.experimental.PickResult,
    }),
  };
}

function picker(
  ring: HashRing,
  states: grpc.connectivityState[],
  settings: Partial<ConsistentHashSettings> = {},
  gate: PickLoadGate | null = null,
) {
  const children = ring.members.map((m, i) => child(m.id, states[i]!));
  const connects: string[] = [];
  const p = new ConsistentHashPicker(
    ring,
    children,
    {
      algorithm: ring.algorithm,
      ringOptions: {},
      hashHeader: 'x-key',
      missingKey: 'random',
      affinity: 'failover',
      connect: 'lazy',
      boundedLoad: null,
      ...settings,
    },
    { requestConnect: (c) => connects.push(c.name) },
    new KeyPositionCache(),
    gate,
  );
  return {
    connects,
    pick(key: string) {
      const metadata = new grpc.Metadata();
      metadata.set('x-key', key);
      return p.pick({ metadata, extraPickInfo: {} });
    },
  };
}

const picked = (r: grpc.experimental.PickResult) => (r as unknown as { picked?: string }).picked;

/** A gate that refuses the listed members. */
function refusing(ring: HashRing, ids: readonly string[]): PickLoadGate {
  return {
    admits: (member) => !ids.includes(ring.members[member]!.id),
    onPicked: (_member, result) => result,
  };
}

describe('rendezvous picks follow the score order', () => {
  const ring = buildRing(
    'rendezvous',
    IDS.map((id, i) => ({ id, weight: 1 + (i % 3) })),
  );
  const members = IDS.map((id, i) => ({ id, weight: 1 + (i % 3) }));
  const order = (key: string) => referenceOrder(members, crc32String(key)).map((s) => s.id);

  it('failover: a down owner hands its keys to their next-highest-scoring READY member', () => {
    const down = new Set([IDS[0]!, IDS[5]!, IDS[9]!]);
    const states = IDS.map((id) => (down.has(id) ? TRANSIENT_FAILURE : READY));
    const p = picker(ring, states);
    let movedKeys = 0;
    for (const key of KEYS) {
      const expected = order(key).find((id) => !down.has(id))!;
      if (down.has(order(key)[0]!)) movedKeys++;
      assert.equal(picked(p.pick(key)), expected, key);
    }
    assert.ok(movedKeys > 20, `${movedKeys} keys had a down owner`);
  });

  it('failover: an IDLE candidate after failed ones is connected and the call queued', () => {
    const key = KEYS[3]!;
    const [first, second] = order(key);
    const states = IDS.map((id) => (id === first ? TRANSIENT_FAILURE : id === second ? IDLE : READY));
    const p = picker(ring, states);
    assert.equal(p.pick(key).pickResultType, PickResultType.QUEUE);
    assert.deepEqual(p.connects, [second]);
  });

  it('strict: the owner alone, never its runner-up', () => {
    const key = KEYS[7]!;
    const owner = order(key)[0]!;
    const states = IDS.map((id) => (id === owner ? TRANSIENT_FAILURE : READY));
    const r = picker(ring, states, { affinity: 'strict' }).pick(key);
    assert.equal(r.pickResultType, PickResultType.TRANSIENT_FAILURE);
    assert.match(
      r.status!.details,
      new RegExp(`endpoint ${owner.replace(/\./g, '\\.')}, which owns this key`),
    );
  });

  for (const affinity of ['failover', 'strict'] as const) {
    it(`bounded load (${affinity}): an owner at its limit spills to the next-highest-scoring member under its limit`, () => {
      for (const key of KEYS.slice(0, 60)) {
        const ranked = order(key);
        const full = ranked.slice(0, 3);
        const p = picker(
          ring,
          IDS.map(() => READY),
          { affinity },
          refusing(ring, full),
        );
        assert.equal(picked(p.pick(key)), ranked[3], key);
      }
    });
  }

  it('bounded load: when every member is at its limit, the owner serves the call', () => {
    const key = KEYS[11]!;
    const p = picker(
      ring,
      IDS.map(() => READY),
      {},
      refusing(ring, IDS),
    );
    assert.equal(picked(p.pick(key)), order(key)[0]);
  });
});

describe('candidate orders of the rings', () => {
  const ring = buildRing(
    'ketama',
    IDS.map((id) => ({ id })),
  );

  it('the walk yields distinct members in ring order, the owner first', () => {
    const order = new CandidateOrder(ring, 'walk');
    const position = ring.locateKey('k');
    order.start(position, 'k', 0, 0);
    const seen: number[] = [];
    for (let m = order.next(); m >= 0; m = order.next()) seen.push(m);
    const expected: number[] = [];
    for (let s = 0; s < ring.size; s++) {
      const m = ring.memberAt((position + s) % ring.size);
      if (!expected.includes(m)) expected.push(m);
    }
    assert.deepEqual(seen, expected);
  });

  it('the seeded probe: owner first, then a permutation of the rest fixed by the key hash, differing between keys', () => {
    const order = new CandidateOrder(ring, 'seeded');
    const run = (key: string) => {
      order.start(ring.locateKey(key), key, 0, 0);
      const first = order.next();
      order.spill();
      const rest: number[] = [];
      for (let m = order.next(); m >= 0; m = order.next()) rest.push(m);
      return [first, ...rest];
    };
    const permutations = new Set<string>();
    for (const key of KEYS.slice(0, 50)) {
      const a = run(key);
      assert.deepEqual(run(key), a, 'same key, same order');
      assert.equal(a[0], ring.memberAt(ring.locateKey(key)));
      assert.deepEqual(
        [...a].sort((x, y) => x - y),
        IDS.map((_, i) => i),
        'every member once',
      );
      permutations.add(a.slice(1).join(','));
    }
    assert.ok(permutations.size >= 45, `${permutations.size} distinct orders for 50 keys`);
  });

  it('the seeded probe spreads the second choice evenly over the other members', () => {
    const order = new CandidateOrder(ring, 'seeded');
    const counts = new Map<number, number>();
    const owner = 0;
    for (let h = 0; h < 12_000; h++) {
      order.start(0, null, h, Math.imul(h, 0x9e3779b1), owner);
      order.spill();
      const second = order.next();
      counts.set(second, (counts.get(second) ?? 0) + 1);
    }
    assert.equal(counts.has(owner), false);
    assert.equal(counts.size, IDS.length - 1);
    for (const c of counts.values()) assert.ok(Math.abs(c / (12_000 / 11) - 1) < 0.15, `count ${c}`);
  });
});
