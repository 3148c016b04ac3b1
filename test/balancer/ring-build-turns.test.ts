import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ConsistentHashConfig, parseConsistentHashSettings } from '../../src/balancer/config';
import { ConsistentHashLoadBalancer, ringBuildsInProgress } from '../../src/balancer/load-balancer';
import { buildRing, createRingBuilder, type RingAlgorithm } from '../../src/rings';
import type { RingBuildSteps } from '../../src/rings/build-steps';
import type { HashRing, RingBuilder, RingMember, RingOptions } from '../../src/rings/types';
import { FakeChannelHelper, ringBuildsDone } from '../support/fake-channel-helper';
import { captureErrorLog } from '../support/grpc-log';

const { IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;
const { COMPLETE, QUEUE } = grpc.experimental.PickResultType;
const HEADER = 'x-key';
type Endpoint = grpc.experimental.Endpoint;

const endpointsOf = (n: number, salt = 0): Endpoint[] =>
  Array.from({ length: n }, (_, i) => ({
    addresses: [{ host: `127.${1 + salt}.${(i >> 8) & 255}.${i & 255}`, port: 1 }],
  }));
const idsOf = (endpoints: Endpoint[]) =>
  endpoints.map((e) => ({ id: grpc.experimental.subchannelAddressToString(e.addresses[0]!) }));
const config = (json: object = {}) =>
  new ConsistentHashConfig(parseConsistentHashSettings({ hashHeader: HEADER, ...json }));
const push = (lb: ConsistentHashLoadBalancer, endpoints: Endpoint[]) =>
  lb.updateAddressList(grpc.experimental.statusOrFromValue(endpoints), config(), {}, '');

function keyed(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(HEADER, key);
  return metadata;
}

/** Runs `fn` for `ms` of CPU: the work of one build step (not a wait). */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * A policy whose builder builds the real ring, in `steps` steps of `stepMs` of work each when
 * `steps` > 0 (and at once when 0), optionally failing after `failAfter` steps. Records the size of
 * each build it started.
 */
class SteppedBuildBalancer extends ConsistentHashLoadBalancer {
  steps = 10;
  stepMs = 10;
  failAfter = Number.POSITIVE_INFINITY;
  readonly builds: number[] = [];

  protected override createRingBuilder(algorithm: RingAlgorithm, options: RingOptions): RingBuilder {
    const real = createRingBuilder(algorithm, options);
    const test = this;
    return {
      algorithm,
      build: (members) => real.build(members),
      *buildSteps(members: readonly RingMember[]): RingBuildSteps<HashRing> {
        test.builds.push(members.length);
        for (let step = 0; step < test.steps; step++) {
          if (step === test.failAfter) throw new RangeError('the build broke halfway');
          work(test.stepMs);
          yield;
        }
        return real.build(members);
      },
    };
  }
}

/** The address the picker sends `key` to (the owner's subchannel once it is connected). */
function routeOf(helper: FakeChannelHelper, key: string): string | null {
  const result = helper.pick(keyed(key));
  return result.pickResultType === COMPLETE ? result.subchannel!.getAddress() : null;
}

/** Picks every key until each routes (a pick connects an IDLE owner on the next tick). */
async function routes(helper: FakeChannelHelper, keys: string[]): Promise<string[]> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const owners = keys.map((k) => routeOf(helper, k));
    if (owners.every((o) => o !== null)) return owners as string[];
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('keys never routed');
}

const KEYS = Array.from({ length: 30 }, (_, i) => `user-${i}`);
const expectedOwners = (endpoints: Endpoint[]) => {
  const ring = buildRing('ketama', idsOf(endpoints));
  return KEYS.map((k) => ring.members[ring.memberAt(ring.locateKey(k))]!.id);
};

describe('ring builds that span event-loop turns', () => {
  it('a long first build: calls queue, the loop turns between slices, then the list applies', async () => {
    const helper = new FakeChannelHelper();
    const lb = new SteppedBuildBalancer(helper);
    const endpoints = endpointsOf(50);
    assert.equal(push(lb, endpoints), true);
    assert.equal(ringBuildsInProgress(), 1, 'the push returned after one slice, not the whole build');
    assert.equal(helper.state, CONNECTING);
    assert.equal(helper.pick(keyed('user-1')).pickResultType, QUEUE, 'calls wait for the ring');
    const turns = await ringBuildsDone();
    assert.ok(turns >= 2, `the event loop ran between the slices (${turns} iterations)`);
    assert.equal(helper.state, IDLE);
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(endpoints));
    lb.destroy();
  });

  it('updates that arrive during a build wait for it, and only the latest is applied', async () => {
    const helper = new FakeChannelHelper();
    const lb = new SteppedBuildBalancer(helper);
    push(lb, endpointsOf(50));
    assert.equal(push(lb, endpointsOf(40, 1)), true);
    const latest = endpointsOf(30, 2);
    assert.equal(push(lb, latest), true);
    assert.deepEqual(lb.builds, [50], 'nothing else is built while a build runs');
    await ringBuildsDone();
    assert.deepEqual(lb.builds, [50, 30], 'the superseded list is never built');
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(latest));
    lb.destroy();
  });

  it('with a ring in place, the last good picker serves until the new ring is done', async () => {
    const helper = new FakeChannelHelper();
    const lb = new SteppedBuildBalancer(helper);
    lb.steps = 0;
    const first = endpointsOf(50);
    push(lb, first);
    assert.equal(ringBuildsInProgress(), 0, 'a short build is applied at once');
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(first));
    lb.steps = 10;
    const picker = helper.picker;
    const second = endpointsOf(50, 1);
    push(lb, second);
    assert.equal(ringBuildsInProgress(), 1);
    assert.equal(helper.picker, picker, 'no picker change while the build runs');
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(first));
    await ringBuildsDone();
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(second));
    lb.destroy();
  });

  it('destroy() during a build: nothing is applied afterwards, and the build is no longer counted', async () => {
    const helper = new FakeChannelHelper();
    const lb = new SteppedBuildBalancer(helper);
    push(lb, endpointsOf(50));
    push(lb, endpointsOf(40, 1));
    const updates = helper.updates;
    lb.destroy();
    assert.equal(ringBuildsInProgress(), 0);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(helper.updates, updates, 'no state or picker after destroy()');
    assert.deepEqual(lb.builds, [50]);
  });

  it('a build that fails halfway: with no ring, calls fail at once with UNAVAILABLE naming why', async () => {
    const helper = new FakeChannelHelper();
    const lb = new SteppedBuildBalancer(helper);
    lb.failAfter = 4;
    const { lines } = await captureErrorLog(async () => {
      push(lb, endpointsOf(50));
      await ringBuildsDone();
    });
    assert.equal(lines.length, 1, lines.join(' | '));
    assert.equal(helper.state, TRANSIENT_FAILURE);
    const result = helper.pick(keyed('user-1'));
    assert.equal(result.status?.code, grpc.status.UNAVAILABLE);
    assert.match(
      result.status!.details,
      /cannot build the ketama ring over 50 endpoints: the build broke halfway/,
    );
    lb.destroy();
  });

  it('ketama builds 20,000 members in short steps, to the same ring as a one-shot build', () => {
    const members = idsOf(endpointsOf(20000));
    const steps = createRingBuilder('ketama').buildSteps!(members);
    let count = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) count++;
    // 20,000 / 256 members of MD5, every 4,096 of setup, 2 × 8 slices of the radix passes.
    assert.ok(count >= 90, `${count} steps`);
    const oneShot = buildRing('ketama', members);
    assert.deepEqual(step.value.members, oneShot.members);
    for (const k of KEYS) assert.equal(step.value.locateKey(k), oneShot.locateKey(k));
  });

  it('ketama, 20,000 endpoints through the policy: keys placed as a one-shot build places them', async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const endpoints = endpointsOf(20000);
    push(lb, endpoints);
    await ringBuildsDone();
    assert.deepEqual(await routes(helper, KEYS), expectedOwners(endpoints));
    lb.destroy();
  });
});
