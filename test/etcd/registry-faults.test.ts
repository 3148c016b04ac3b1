import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { registerConsistentHashPolicy } from '../../src/balancer';
import { registerEtcdResolver } from '../../src/resolvers/etcd';
import { encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { highestSubchannelId } from '../support/channelz-probe';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy';
import { etcdRpcCounts } from '../support/etcd-metrics';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';
import { createHelloClient, type HelloClient, startBackgroundCalls } from '../support/hello-servers';
import { expectedOwners, ownerProbe } from '../support/key-owners';
import {
  backendConnections,
  type ProxiedBackend,
  startProxiedBackends,
  stopProxiedBackends,
} from '../support/proxied-backends';
import { joinThenLeave, type RegistryMembership } from '../support/registry-membership';

// Issue 7 item 2, etcd side: faults of a real etcd with calls running the whole time. Builds on
// test/etcd/restart.test.ts (kill/restart, data loss) by adding SIGSTOP, garbage values, flapping
// and counting:
// - connections accepted by a counting proxy in front of etcd: the resolver's reconnects (the etcd
//   client keeps one HTTP/2 connection, so retries against a dead etcd show up as connections);
// - Range RPCs and Watch streams etcd started (its own /metrics): the resolver's re-syncs;
// - connections accepted by a counting proxy in front of each backend: subchannel connects.
// The admin client of the test talks to etcd directly (not through the proxy) and only writes.

const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER, algorithm: 'ketama' } }];
const KEYS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const SERVICE = 'reliable';
const INITIAL_BACKOFF_MS = 100;
const OPTIONS: grpc.ChannelOptions = {
  'grpc-consistent-hash.etcd.initial_backoff_ms': INITIAL_BACKOFF_MS,
  'grpc-consistent-hash.etcd.max_backoff_ms': 500,
};

describe('etcd registry faults under load', () => {
  let etcd: EtcdServer;
  let etcdProxy: CountingProxy;
  let backends: ProxiedBackend[];
  let client: HelloClient;

  /** A fresh admin per use: its own connection goes straight to etcd, not through the counted proxy. */
  const withAdmin = async <T>(fn: (admin: EtcdAdmin) => Promise<T>): Promise<T> => {
    const admin = new EtcdAdmin(etcd.endpoint);
    try {
      return await fn(admin);
    } finally {
      admin.close();
    }
  };
  const keyOf = (b: ProxiedBackend) => `${SERVICE}/${b.serverId}`;
  const join = (b: ProxiedBackend) => withAdmin((a) => a.put(keyOf(b), encodeEtcdEndpointValue(b.address)));
  const leave = (b: ProxiedBackend) => withAdmin((a) => a.deleteKey(keyOf(b)));
  const converge = (members: readonly ProxiedBackend[], what: string) =>
    ownerProbe(client, HEADER, KEYS).converge(expectedOwners(members, KEYS), what, 15_000, 50);
  const membership: RegistryMembership<ProxiedBackend> = { join, leave, converge };

  before(async () => {
    registerConsistentHashPolicy();
    registerEtcdResolver();
    etcd = await startEtcd();
    etcdProxy = await startCountingProxy(etcd.clientPort);
    backends = await startProxiedBackends(4);
    for (const b of backends.slice(0, 3)) await join(b);
    client = createHelloClient(`etcd://${etcdProxy.address}/${SERVICE}`, LB, OPTIONS);
    await converge(backends.slice(0, 3), 'baseline: keys on the 3-member ring');
  });
  after(async () => {
    client?.close();
    await stopProxiedBackends(backends ?? []);
    await etcdProxy?.close();
    await etcd?.destroy();
  });

  it('kill + restart, SIGSTOP + SIGCONT, garbage values: last good list kept, bounded reconnects, convergence', async () => {
    const live = backends.slice(0, 3);
    const expected = expectedOwners(live, KEYS);
    const rows: string[] = [];
    const connectionsBefore = backendConnections(backends);
    const load = startBackgroundCalls(client, HEADER, KEYS, 20_000, 3000);
    const garbage: [string, string | Buffer][] = [
      [`${SERVICE}/not-json`, 'this is not json'],
      [`${SERVICE}/no-addr`, '{"Op":0}'],
      [`${SERVICE}/no-port`, '{"Op":0,"Addr":"127.0.0.1"}'],
      [`${SERVICE}/bad-op`, '{"Op":7,"Addr":"127.0.0.1:1"}'],
      [`${SERVICE}/array`, '[1,2,3]'],
      [`${SERVICE}/binary`, Buffer.from([0xff, 0xfe, 0x00, 0x80])],
      [`${SERVICE}/huge`, `{"Op":0,"Addr":"${'x'.repeat(100_000)}:1"}`],
    ];
    const phases: [string, () => Promise<void>, () => Promise<void>][] = [
      ['etcd killed (SIGKILL) for 1.5 s, restarted', () => etcd.kill(), () => etcd.restart()],
      ['etcd frozen (SIGSTOP) for 3 s, SIGCONT', async () => etcd.pause(), async () => etcd.resume()],
      [
        'garbage values under the prefix',
        () =>
          withAdmin(async (a) => {
            for (const [key, value] of garbage)
              await a.call('KV', 'Put', { key: Buffer.from(key), value: Buffer.from(value) });
          }),
        () =>
          withAdmin(async (a) => {
            for (const [key] of garbage) await a.deleteKey(key);
          }),
      ],
    ];
    const holdMs = [1500, 3000, 1000];
    try {
      for (const [i, [what, start, end]] of phases.entries()) {
        const etcdBefore = etcdProxy.connections;
        const connsBefore = backendConnections(backends);
        const rpcsBefore = await etcdRpcCounts(etcd);
        const t0 = Date.now();
        await start();
        await ownerProbe(client, HEADER, KEYS).assertHeld(
          expected,
          Date.now() + holdMs[i]!,
          1000,
          `during: ${what}`,
        );
        const seconds = (Date.now() - t0) / 1000;
        await end();
        const etcdDuring = etcdProxy.connections - etcdBefore;
        // Convergence after the fault: a real change is seen, then undone.
        const convergeSeconds = await joinThenLeave(
          membership,
          live,
          backends[3]!,
          `after ${what}: join seen`,
          `after ${what}: leave seen`,
        );
        const conns = backendConnections(backends) - connsBefore;
        // etcd's counters restart with the process: after a restart, the count is since the restart.
        const rpcsAfter = await etcdRpcCounts(etcd);
        const restarted = i === 0;
        const ranges = rpcsAfter.range - (restarted ? 0 : rpcsBefore.range);
        const watches = rpcsAfter.watch - (restarted ? 0 : rpcsBefore.watch);
        rows.push(
          `${what.padEnd(44)} ${seconds.toFixed(2)} s  etcd connections during ${String(etcdDuring).padStart(2)}, after ${etcdProxy.connections - etcdBefore - etcdDuring}  Range ${ranges} Watch ${watches}${restarted ? ' (since restart)' : ''}  join+leave converged in ${convergeSeconds.toFixed(2)} s  backend connections +${conns}`,
        );
        // Re-syncs (Range + Watch) that reached etcd: a restart costs a few (plus the harness's
        // readiness probe Ranges), a freeze at most a couple, garbage values none at all.
        const maxResyncs = [6, 2, 0][i]!;
        assert.ok(ranges <= maxResyncs, `${what}: ${ranges} Range RPCs`);
        assert.ok(watches <= maxResyncs, `${what}: ${watches} Watch streams`);
        // Re-syncs back off from 100 ms (x1.6, cap 500 ms): at most ~10 attempts a second, plus one.
        assert.ok(
          etcdDuring <= 2 + Math.ceil(seconds * (1000 / INITIAL_BACKOFF_MS)),
          `${what}: ${etcdDuring} connections to etcd in ${seconds} s`,
        );
        assert.ok(conns <= 1, `${what}: ${conns} new backend connections`);
      }
    } finally {
      etcd.resume();
      await load.stop();
    }
    const connections = backendConnections(backends) - connectionsBefore;
    const subchannels = highestSubchannelId([client.getChannel() as grpc.Channel]);
    console.log(
      `etcd faults:\n  ${rows.join('\n  ')}\n  background calls ${load.calls}, failed ${load.failures.length}; backend connections ${connections}; highest subchannel id ${subchannels}; etcd connections in all ${etcdProxy.connections}`,
    );
    assert.ok(load.calls > 100, `${load.calls} background calls`);
    assert.deepEqual(load.failures, []);
    assert.ok(connections <= phases.length, `${connections} backend connections`);
    // Subchannel ids are process-wide, and the etcd client's own channel takes some on each
    // reconnect, so the id is printed for the record; the backend connections above are the bound.
  });

  it('flapping: a key put and deleted 50 times in a burst (raw etcd API)', async () => {
    const live = backends.slice(0, 3);
    const flapper = backends[3]!;
    const etcdBefore = etcdProxy.connections;
    const rpcsBefore = await etcdRpcCounts(etcd);
    const connsBefore = flapper.proxy.connections;
    const subchannelsBefore = highestSubchannelId([client.getChannel() as grpc.Channel]);
    const load = startBackgroundCalls(client, HEADER, KEYS, 20_000, 3000);
    const t0 = Date.now();
    let flaps = 0;
    try {
      await withAdmin(async (a) => {
        for (; flaps < 50 && Date.now() - t0 < 5000; flaps++) {
          await a.put(keyOf(flapper), encodeEtcdEndpointValue(flapper.address));
          await a.deleteKey(keyOf(flapper));
        }
      });
      const flapSeconds = (Date.now() - t0) / 1000;
      await converge(live, 'after flapping: back to the 3 members');
      await joinThenLeave(
        membership,
        live,
        flapper,
        'after flapping: the flapper registered for good',
        'after flapping: flapper gone again',
      );
      await load.stop();
      const etcdConns = etcdProxy.connections - etcdBefore;
      const rpcsAfter = await etcdRpcCounts(etcd);
      const resyncs = rpcsAfter.range - rpcsBefore.range;
      const watches = rpcsAfter.watch - rpcsBefore.watch;
      const conns = flapper.proxy.connections - connsBefore;
      const subchannels = highestSubchannelId([client.getChannel() as grpc.Channel]) - subchannelsBefore;
      console.log(
        `etcd flapping: ${flaps} put/delete cycles in ${flapSeconds.toFixed(2)} s; etcd connections ${etcdConns}, Range ${resyncs}, Watch ${watches}; flapper connections ${conns}; new subchannel ids ${subchannels}; background calls ${load.calls}, failed ${load.failures.length}`,
      );
      assert.equal(flaps, 50, `only ${flaps} flaps within 5 s`);
      assert.equal(etcdConns, 0, 'the watch follows the flapping without reconnecting');
      assert.equal(resyncs, 0, 'no re-sync: the watch delivers every event');
      assert.equal(watches, 0, 'no new watch');
      // Each list with the flapper may start one connection to it; 100 watch events must not make 50.
      assert.ok(conns <= 10, `${conns} connections to the flapper`);
      assert.ok(subchannels <= 10, `${subchannels} new subchannels`);
      assert.deepEqual(load.failures, []);
    } finally {
      await load.stop();
    }
  });
});
