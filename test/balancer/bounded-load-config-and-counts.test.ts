import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ConsistentHashConfigError, validateConfig } from '../../src';
import { BoundedLoadGate, EndpointLoad, InFlightTotal } from '../../src/balancer/bounded-load-gate';
import { ConsistentHashConfig } from '../../src/balancer/config';

const { READY, IDLE } = grpc.connectivityState;
const COMPLETE = grpc.experimental.PickResultType.COMPLETE;

function member(total: InFlightTotal, weight = 1, state = READY) {
  return { load: new EndpointLoad(total), servingWeight: weight, getConnectivityState: () => state };
}

function completeResult(): grpc.experimental.PickResult {
  return {
    pickResultType: COMPLETE,
    subchannel: {} as grpc.experimental.SubchannelInterface,
    status: null,
    onCallStarted: null,
    onCallEnded: null,
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('boundedLoad config', () => {
  it('is off by default and accepts a finite number >= 1, camelCase or snake_case', () => {
    assert.equal(validateConfig({}).boundedLoad, null);
    assert.equal(validateConfig({ boundedLoad: 1.25 }).boundedLoad, 1.25);
    assert.equal(validateConfig({ bounded_load: 2 }).boundedLoad, 2);
    assert.equal(validateConfig({ boundedLoad: 1 }).boundedLoad, 1);
    assert.equal(validateConfig({ ring_hash_experimental: {} }).boundedLoad, null);
  });

  it('refuses anything else, naming the field and the value', () => {
    for (const bad of [0.5, 0, -1, '1.25', true, Number.POSITIVE_INFINITY, Number.NaN, [1.5], {}]) {
      assert.throws(
        () => validateConfig({ boundedLoad: bad }),
        (e: unknown) =>
          e instanceof ConsistentHashConfigError &&
          /consistent_hash: field "boundedLoad" must be a finite number >= 1/.test(e.message),
        `boundedLoad ${String(bad)}`,
      );
    }
    assert.throws(() => validateConfig({ boundedLoad: 0.5 }), /got 0\.5/);
    assert.throws(
      () => validateConfig({ boundedLoad: 1.5, bounded_load: 2 }),
      /"boundedLoad" and "bounded_load"/,
    );
  });

  it('refuses a bad value naming the field, and round-trips a good one', () => {
    assert.throws(() => ConsistentHashConfig.parse({ bounded_load: 0.9 }), /"boundedLoad".*0\.9/);
    const json = ConsistentHashConfig.parse({ boundedLoad: 1.5 }).toJsonObject() as {
      consistent_hash: unknown;
    };
    assert.equal(ConsistentHashConfig.parse(json.consistent_hash).settings.boundedLoad, 1.5);
    const off = ConsistentHashConfig.parse({}).toJsonObject() as { consistent_hash: object };
    assert.equal('boundedLoad' in off.consistent_hash, false);
  });
});

describe('bounded-load counting', () => {
  it('admits below ⌈c·(total+1)·w/W⌉ over READY members only', () => {
    const total = new InFlightTotal();
    const members = [member(total, 2), member(total, 1), member(total, 1, IDLE)];
    const gate = new BoundedLoadGate(1.25, members, total);
    // W = 3 (the IDLE member does not count). Member 0, weight 2, total 9: ⌈1.25·10·2/3⌉ = 9.
    total.count = 9;
    members[0]!.load.inFlight = 8;
    assert.equal(gate.admits(0), true);
    members[0]!.load.inFlight = 9;
    assert.equal(gate.admits(0), false);
    // Member 1, weight 1: ⌈1.25·10/3⌉ = 5; reservations count as load too.
    members[1]!.load.inFlight = 3;
    members[1]!.load.reserved = 1;
    assert.equal(gate.admits(1), true);
    members[1]!.load.reserved = 2;
    assert.equal(gate.admits(1), false);
  });

  it('a picked call reserves load at once; start keeps it, end releases it, a call that never starts is dropped', async () => {
    const total = new InFlightTotal();
    const members = [member(total), member(total)];
    const gate = new BoundedLoadGate(1, members, total);
    const started = gate.onPicked(0, completeResult());
    const neverStarted = gate.onPicked(0, completeResult());
    assert.equal(total.count, 2);
    assert.equal(members[0]!.load.reserved, 2);
    started.onCallStarted?.();
    assert.equal(total.count, 2);
    assert.equal(members[0]!.load.inFlight, 1);
    await nextTurn();
    assert.equal(neverStarted.onCallStarted, members[0]!.load.callStarted);
    assert.equal(total.count, 1, 'the reservation of the call that never started is gone');
    // Counts live on the member, not the gate: a new gate (new picker) sees them.
    const next = new BoundedLoadGate(1, members, total);
    assert.equal(next.admits(0), false); // 1 in flight, limit ⌈1·2/2⌉ = 1
    assert.equal(next.admits(1), true);
    started.onCallEnded?.(grpc.status.OK, '', new grpc.Metadata());
    assert.equal(total.count, 0);
    assert.equal(members[0]!.load.inFlight, 0);
  });

  it('chains hooks the child result already carries', () => {
    const total = new InFlightTotal();
    const gate = new BoundedLoadGate(1, [member(total)], total);
    const seen: string[] = [];
    const inner = Object.freeze({
      ...completeResult(),
      onCallStarted: () => seen.push('started'),
      onCallEnded: (code: grpc.status) => seen.push(`ended ${code}`),
    });
    const wrapped = gate.onPicked(0, inner);
    wrapped.onCallStarted?.();
    assert.equal(total.count, 1);
    wrapped.onCallEnded?.(grpc.status.UNAVAILABLE, 'x', new grpc.Metadata());
    assert.equal(total.count, 0);
    assert.deepEqual(seen, ['started', `ended ${grpc.status.UNAVAILABLE}`]);
  });

  it('a removed endpoint takes its load out of the total, and its late hooks do not count', () => {
    const total = new InFlightTotal();
    const members = [member(total), member(total)];
    const gate = new BoundedLoadGate(1, members, total);
    const a = gate.onPicked(0, completeResult());
    const b = gate.onPicked(1, completeResult());
    a.onCallStarted?.();
    b.onCallStarted?.();
    assert.equal(total.count, 2);
    members[0]!.load.detach();
    assert.equal(total.count, 1);
    a.onCallEnded?.(grpc.status.OK, '', new grpc.Metadata());
    assert.equal(total.count, 1);
    b.onCallEnded?.(grpc.status.OK, '', new grpc.Metadata());
    assert.equal(total.count, 0);
  });

  it('does not count results that are not COMPLETE', () => {
    const total = new InFlightTotal();
    const gate = new BoundedLoadGate(1, [member(total)], total);
    const queue = { ...completeResult(), pickResultType: grpc.experimental.PickResultType.QUEUE };
    assert.equal(gate.onPicked(0, queue), queue);
    assert.equal(total.count, 0);
  });
});
