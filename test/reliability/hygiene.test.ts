import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import { ConsistentHashConfig } from '../../src/balancer/config';
import { ConsistentHashLoadBalancer } from '../../src/balancer/load-balancer';
import { channelSubchannels, highestSubchannelId, liveSubchannelCount } from '../support/channelz-probe';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy';
import { FakeChannelHelper, flushEvents } from '../support/fake-channel-helper';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';
import { runTsxChild } from '../support/tsx-child';

// Resource hygiene: many resolver updates and many channel lifetimes leave no growth in
// subchannels, sockets, timers or heap beyond fixed bounds; a process that closes its channels exits.

const HEADER = 'x-user-id';
const UPDATES = 1000;
const CYCLES = 1000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Counts of the handle/request kinds that can leak: sockets and timers. */
function activeResources(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap' || r === 'PipeWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('resource hygiene', () => {
  let servers: RunningHelloServer[] = [];
  let proxies: CountingProxy[] = [];
  before(async () => {
    register();
    servers = await startHelloServers(4);
    proxies = await Promise.all(servers.map((s) => startCountingProxy(s.port)));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await stopAll(servers);
  });

  it(`${UPDATES} resolver updates (alternating lists, calls in between) leave subchannels, sockets, timers and heap bounded`, async (t) => {
    const [a, b, c, d] = proxies.map((p) => p.address) as [string, string, string, string];
    const lists = [
      [endpointOf(a), endpointOf(b), endpointOf(c)],
      [endpointOf(a), endpointOf(b), endpointOf(d, { weight: 2 })],
    ];
    const resolver = createControlledResolver(lists[0]!);
    const client = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    const channel = client.getChannel();
    try {
      // Warm up: every endpoint of both lists connected once.
      for (const list of lists) {
        resolver.push(list);
        await nextTurn();
        for (let k = 0; k < 40; k++)
          assert.equal((await sayWithKey(client, HEADER, `warm-${k}`)).error, undefined);
      }
      const firstId = highestSubchannelId([channel]);
      const connectionsBefore = proxies.reduce((n, p) => n + p.connections, 0);
      const heapBefore = settledHeap();
      const resourcesBefore = activeResources();
      let calls = 0;
      let highestId = firstId;
      for (let i = 0; i < UPDATES; i++) {
        // Fresh endpoint objects with fresh metadata every time, as a registry's answers are.
        resolver.push(lists[i % 2]!.map((e) => ({ ...e, metadata: { update: String(i) } })));
        await nextTurn();
        await nextTurn();
        highestId = Math.max(highestId, highestSubchannelId([channel]));
        if (i % 20 === 0) {
          calls++;
          const r = await sayWithKey(client, HEADER, `update-${i}`);
          assert.equal(r.error, undefined, r.error?.details);
        }
      }
      const subchannels = channelSubchannels(channel);
      const created = highestId - firstId;
      const connections = proxies.reduce((n, p) => n + p.connections, 0) - connectionsBefore;
      const heapGrowth = settledHeap() - heapBefore;
      const resourcesAfter = activeResources();
      t.diagnostic(
        `updates ${JSON.stringify({ updates: UPDATES, calls, channelSubchannels: subchannels.length, subchannelsCreated: created, newConnections: connections, heapGrowthKiB: Math.round(heapGrowth / 1024), resourcesBefore, resourcesAfter, reresolutionRequests: resolver.resolutionRequests })}`,
      );
      assert.ok(subchannels.length <= 4, `the channel holds ${subchannels.length} subchannels`);
      assert.ok(created <= 4, `${created} subchannels created by ${UPDATES} updates`);
      assert.ok(connections <= 4, `${connections} new connections over ${UPDATES} updates`);
      assert.ok(resourcesAfter.sockets <= resourcesBefore.sockets + 2, 'sockets bounded');
      assert.ok(resourcesAfter.timers <= resourcesBefore.timers + 4, 'timers bounded');
      assert.ok(heapGrowth < 3 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
    } finally {
      client.close();
    }
  });

  it(`${UPDATES} updates through the real policy: removed endpoints release their subchannels`, async () => {
    const helper = new FakeChannelHelper();
    const lb = new ConsistentHashLoadBalancer(helper);
    const config = ConsistentHashConfig.parse({ hashHeader: HEADER, connect: 'eager' });
    const lists = [
      ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1'],
      ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.4:1', '10.0.0.5:1'],
    ].map((list) => list.map((address) => endpointOf(address)));
    try {
      for (let i = 0; i < UPDATES; i++) {
        const list = lists[i % 2]!.map((e) => ({ ...e, metadata: { update: String(i) } }));
        assert.ok(lb.updateAddressList(grpc.experimental.statusOrFromValue(list), config, {}, ''));
        await flushEvents(2);
      }
      const held = helper.subchannels.filter((s) => s.refs > 0);
      assert.ok(held.length <= 4, `${held.length} subchannels still referenced`);
      assert.deepEqual(
        new Set(held.map((s) => s.address)),
        new Set(['10.0.0.1:1', '10.0.0.2:1', '10.0.0.4:1', '10.0.0.5:1']),
      );
      assert.equal(helper.state, grpc.connectivityState.READY);
    } finally {
      lb.destroy();
    }
    assert.equal(helper.subchannels.filter((s) => s.refs > 0).length, 0, 'destroy releases every subchannel');
  });

  it(`${CYCLES} channel create/close cycles on a static: target leave nothing behind`, async (t) => {
    const target = `static:///${servers[0]!.address},${servers[1]!.address}`;
    const cycle = async (i: number) => {
      const client = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }]);
      try {
        if (i % 10 === 0) {
          const r = await sayWithKey(client, HEADER, `cycle-${i}`);
          assert.equal(r.error, undefined, r.error?.details);
        }
      } finally {
        client.close();
      }
    };
    for (let i = 0; i < 20; i++) await cycle(i); // warm-up
    const probe = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }]);
    const heapBefore = settledHeap();
    const resourcesBefore = activeResources();
    for (let i = 0; i < CYCLES; i++) await cycle(i);
    // Sockets of closed channels close asynchronously: wait (bounded) for them to go.
    await waitFor(
      () => activeResources().sockets <= resourcesBefore.sockets + 2,
      'closed channels to drop their sockets',
      5000,
    );
    // One more call through a live channel, then count what is registered in the process.
    assert.equal((await sayWithKey(probe, HEADER, 'probe')).error, undefined);
    const maxId = highestSubchannelId([probe.getChannel()]);
    const live = liveSubchannelCount(maxId + 50);
    probe.close();
    const heapGrowth = settledHeap() - heapBefore;
    const resourcesAfter = activeResources();
    t.diagnostic(
      `cycles ${JSON.stringify({ cycles: CYCLES, calls: CYCLES / 10, liveSubchannels: live, highestSubchannelId: maxId, heapGrowthKiB: Math.round(heapGrowth / 1024), resourcesBefore, resourcesAfter })}`,
    );
    assert.ok(live <= 4, `${live} subchannels alive after ${CYCLES} closed channels`);
    assert.ok(resourcesAfter.sockets <= resourcesBefore.sockets + 2, 'sockets bounded');
    assert.ok(resourcesAfter.timers <= resourcesBefore.timers + 4, 'timers bounded');
    assert.ok(heapGrowth < 3 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
  });

  it('a process that closes its channels exits on its own', async (t) => {
    const fixture = join(__dirname, 'fixtures', 'close-and-exit.ts');
    const started = performance.now();
    const { code, signal, stdout, stderr } = await runTsxChild(
      fixture,
      servers.slice(0, 3).map((s) => s.address),
      { killAfterMs: 15_000 },
    );
    const exited = { code, killed: signal === 'SIGKILL' };
    const took = performance.now() - started;
    t.diagnostic(
      `exit ${JSON.stringify({ exitedAfterMs: Math.round(took), ...exited, report: stdout.trim() })}`,
    );
    assert.equal(exited.killed, false, `the child had to be killed; stdout ${stdout} stderr ${stderr}`);
    assert.equal(exited.code, 0, stderr);
    assert.match(stdout, /calls ok: 60\b/);
  });
});
