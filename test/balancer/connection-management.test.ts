// When the policy connects endpoints on its own, without a pick asking for it: A61's proactive
// connect, and eager mode's reconnect when a connection goes idle. The real policy runs over fake
// subchannels, so every connection attempt is observable; "nothing connected" is checked after
// the event loop has run every callback the policy queued (flushEvents), not after a sleep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { withHashKey } from '../../src';
import { ConsistentHashConfig } from '../../src/balancer/config';
import { ConsistentHashLoadBalancer } from '../../src/balancer/load-balancer';
import { createRingBuilder } from '../../src/exports/rings';
import { endpointOf } from '../support/controlled-resolver';
import { FakeChannelHelper, type FakeSubchannel, flushEvents } from '../support/fake-channel-helper';

const { IDLE, CONNECTING, READY, TRANSIENT_FAILURE } = grpc.connectivityState;
const HEADER = 'x-user-id';
const ADDRESSES = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1'];

/** A helper whose subchannels end their connection attempts as `outcomes` says (default READY). */
class ScriptedChannelHelper extends FakeChannelHelper {
  readonly outcomes = new Map<string, grpc.connectivityState>();
  override createSubchannel(address: grpc.experimental.SubchannelAddress): FakeSubchannel {
    const subchannel = super.createSubchannel(address) as FakeSubchannel;
    subchannel.connectTo = this.outcomes.get(subchannel.address) ?? READY;
    return subchannel;
  }
}

function start(json: object, helper = new ScriptedChannelHelper()) {
  const lb = new ConsistentHashLoadBalancer(helper);
  const config = ConsistentHashConfig.createFromJson({ hashHeader: HEADER, ...json });
  const endpoints = ADDRESSES.map((a) => endpointOf(a));
  assert.ok(lb.updateAddressList(grpc.experimental.statusOrFromValue(endpoints), config, {}, ''));
  return { helper, lb };
}

/** A key that the default ring (ketama over host:port) gives to `address`. */
function keyOwnedBy(address: string): string {
  const ring = createRingBuilder('ketama').build(ADDRESSES.map((id) => ({ id })));
  for (let i = 0; ; i++) {
    const key = `user-${i}`;
    if (ring.members[ring.memberAt(ring.locateKey(key))]!.id === address) return key;
  }
}

/** Picks a key owned by `address`: in lazy mode the pick connects it. Returns the key. */
async function connectOwnerOf(helper: FakeChannelHelper, address: string): Promise<string> {
  const key = keyOwnedBy(address);
  helper.pick(withHashKey(key, HEADER));
  await flushEvents();
  assert.equal(helper.subchannels[0]?.address, address, 'the pick connected its owner first');
  return key;
}

/** The state of `address`'s newest subchannel (pick_first makes a new one when it reconnects from IDLE). */
function stateOf(helper: FakeChannelHelper, address: string): grpc.connectivityState | undefined {
  return helper.subchannels
    .filter((s) => s.address === address)
    .at(-1)
    ?.getConnectivityState();
}

const statesOf = (helper: FakeChannelHelper) =>
  new Map(helper.subchannels.map((s) => [s.address, grpc.connectivityState[s.getConnectivityState()]]));

describe("A61's proactive connect", () => {
  it('when the only connected endpoint fails, one idle endpoint is connected without any pick', async () => {
    const { helper, lb } = start({ connect: 'lazy' });
    try {
      await flushEvents();
      assert.equal(helper.subchannels.length, 0, 'lazy: nothing connects before a pick');
      assert.equal(helper.state, IDLE);

      // The first key's owner is refused: one endpoint in TRANSIENT_FAILURE, two IDLE, none
      // connecting. A42 aggregates that to CONNECTING; A61 then connects one IDLE endpoint.
      const owner = ADDRESSES[0]!;
      helper.outcomes.set(owner, TRANSIENT_FAILURE);
      await connectOwnerOf(helper, owner);
      await flushEvents(5);

      const others = helper.subchannels.filter((s) => s.address !== owner);
      assert.equal(
        others.length,
        1,
        `exactly one other endpoint connected by itself: ${JSON.stringify([...statesOf(helper)])}`,
      );
      assert.equal(others[0]!.getConnectivityState(), READY);
      assert.equal(helper.state, READY, 'the channel is usable again without a pick having asked');
    } finally {
      lb.destroy();
    }
  });

  it('connects nothing more while an endpoint is already connecting', async () => {
    const helper = new ScriptedChannelHelper();
    helper.outcomes.set(ADDRESSES[0]!, TRANSIENT_FAILURE);
    // Every other endpoint stays CONNECTING: its connection attempt never finishes.
    for (const address of ADDRESSES.slice(1)) helper.outcomes.set(address, CONNECTING);
    const { lb } = start({ connect: 'lazy' }, helper);
    try {
      await connectOwnerOf(helper, ADDRESSES[0]!);
      await flushEvents(5);
      const connecting = helper.subchannels.filter((s) => s.getConnectivityState() === CONNECTING);
      assert.equal(connecting.length, 1, `one attempt at a time: ${JSON.stringify([...statesOf(helper)])}`);
      assert.equal(helper.subchannels.length, 2);
      assert.equal(helper.state, CONNECTING);
    } finally {
      lb.destroy();
    }
  });
});

describe('eager connection', () => {
  it('reconnects an endpoint whose connection goes idle, without any pick', async () => {
    const { helper, lb } = start({ connect: 'eager' });
    try {
      await flushEvents();
      assert.deepEqual(
        helper.subchannels.map((s) => s.getConnectivityState()),
        [READY, READY, READY],
        'eager: every endpoint connected at once',
      );
      // The server closed an idle connection (GOAWAY, idle timeout): the subchannel goes IDLE.
      const dropped = helper.subchannels[1]!;
      const attempts = helper.subchannels.length;
      dropped.setState(IDLE);
      await flushEvents(5);
      assert.equal(helper.subchannels.length, attempts + 1, 'one reconnection attempt');
      assert.equal(stateOf(helper, dropped.address), READY, 'reconnected by the policy itself');
      assert.equal(helper.state, READY);
    } finally {
      lb.destroy();
    }
  });

  it('lazy mode leaves an idle endpoint idle until a key needs it', async () => {
    const { helper, lb } = start({ connect: 'lazy' });
    try {
      const key = await connectOwnerOf(helper, ADDRESSES[1]!);
      await flushEvents();
      const owner = helper.subchannels.find((s) => s.address === ADDRESSES[1])!;
      assert.equal(owner.getConnectivityState(), READY);
      const attempts = helper.subchannels.length;
      owner.setState(IDLE);
      await flushEvents(5);
      assert.equal(helper.subchannels.length, attempts, 'lazy: no reconnection attempt without a pick');
      assert.equal(stateOf(helper, owner.address), IDLE);
      helper.pick(withHashKey(key, HEADER));
      await flushEvents(5);
      assert.equal(stateOf(helper, owner.address), READY, 'the next pick for its key reconnects it');
    } finally {
      lb.destroy();
    }
  });
});
