/**
 * The etcd breaks a red team found, on a real 3-member cluster on loopback whose peer traffic goes
 * through proxies the test controls: a member cut off from its peers, a first endpoint that refuses
 * or blackholes, an idle channel that must not hold the process, an empty prefix.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import { sharedEtcdClientCount } from '../../src/etcd/client';
import { encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { EtcdCluster } from '../support/etcd-cluster';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { etcdRpcCounts } from '../support/etcd-metrics';
import { EtcdAdmin, freePort } from '../support/etcd-server';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';
import { runTsxChild } from '../support/tsx-child';

const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER } }];

let cluster: EtcdCluster;
let servers: RunningHelloServer[];

before(async () => {
  register();
  [cluster, servers] = await Promise.all([EtcdCluster.start(3), startHelloServers(1)]);
});
after(async () => {
  await Promise.all([cluster?.destroy(), stopAll(servers ?? [])]);
});

/** Runs `fn` with an admin client on some member that has quorum, retrying a write the cluster refused for a while. */
async function write(endpoints: string[], fn: (admin: EtcdAdmin) => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let attempt = 0; ; attempt++) {
    const admin = new EtcdAdmin(endpoints[attempt % endpoints.length]!);
    try {
      await fn(admin);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      admin.close();
    }
  }
}

describe('etcd: a member cut off from its peers', () => {
  it("the client's list converges while the partition lasts (the watch requires a leader)", async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(
      etcdUri(cluster.endpoints.join(','), 'part-svc'),
      recorder.listener,
      {},
    );
    try {
      await write(cluster.endpoints, async (a) => {
        await a.put('part-svc/a', encodeEtcdEndpointValue('127.0.0.1:20001'));
        await a.put('part-svc/b', encodeEtcdEndpointValue('127.0.0.1:20002'));
      });
      const watchesBefore = await Promise.all(cluster.members.map((m) => etcdRpcCounts(m)));
      resolver.updateResolution();
      await recorder.waitForAddresses(['127.0.0.1:20001', '127.0.0.1:20002'], 'the first list');
      // The member the resolver watches: the one whose Watch count went up.
      let watched = -1;
      await waitFor(async () => {
        const now = await Promise.all(cluster.members.map((m) => etcdRpcCounts(m)));
        watched = now.findIndex((c, i) => c.watch > watchesBefore[i]!.watch);
        return watched >= 0;
      }, 'the watched member');
      const quorum = cluster.endpoints.filter((_, i) => i !== watched);
      const partitionedAt = Date.now();
      cluster.isolate(watched);
      // The other two keep quorum and take writes: a server deregisters, a new one registers.
      await write(quorum, async (a) => {
        await a.deleteKey('part-svc/a');
        await a.put('part-svc/c', encodeEtcdEndpointValue('127.0.0.1:20003'));
      });
      // The partition lasts up to 20 s; the list must be right well before that.
      await recorder.waitForAddresses(['127.0.0.1:20002', '127.0.0.1:20003'], 'convergence', 20_000);
      const convergedMs = Date.now() - partitionedAt;
      console.log(
        `etcd isolated member: list converged ${convergedMs} ms after the cut (member ${watched} isolated, partition held up to 20 s)`,
      );
      assert.ok(convergedMs < 10_000, `converged after ${convergedMs} ms`);
      assert.ok(
        recorder.updates.every((u) => u.error === undefined),
        'the channel never saw an error: the last good list was kept meanwhile',
      );
    } finally {
      resolver.destroy();
      await cluster.heal();
    }
  });
});

/** A TCP server that accepts connections and never answers: a blackholed endpoint. */
async function startBlackhole(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('etcd: the first endpoint is down', () => {
  before(() =>
    write(cluster.endpoints, (a) => a.put('first-down/a', encodeEtcdEndpointValue(servers[0]!.address))),
  );

  /** New channels (each a new etcd client, at a random endpoint), 5 calls each with a 5 s deadline. */
  async function callsThroughNewChannels(
    firstEndpoint: string,
  ): Promise<{ calls: number; failed: string[] }> {
    const target = `etcd://${[firstEndpoint, ...cluster.endpoints.slice(0, 2)].join(',')}/first-down`;
    const failed: string[] = [];
    let calls = 0;
    for (let channel = 0; channel < 6; channel++) {
      const client = createHelloClient(target, LB);
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            sayWithKey(client, HEADER, `user-${i}`, { deadline: Date.now() + 5000 }),
          ),
        );
        calls += outcomes.length;
        for (const o of outcomes)
          if (o.error) failed.push(`${grpc.status[o.error.code]}: ${o.error.details}`);
      } finally {
        client.close();
      }
      assert.equal(sharedEtcdClientCount(), 0, 'the next channel gets a new etcd client');
    }
    return { calls, failed };
  }

  it('refusing connections: every call of every new channel succeeds', async () => {
    const refused = `127.0.0.1:${await freePort()}`;
    const { calls, failed } = await callsThroughNewChannels(refused);
    console.log(`etcd first endpoint refusing: ${failed.length} of ${calls} calls failed`);
    assert.deepEqual(failed, []);
  });

  it('accepting but never answering: every call with a 5 s deadline succeeds', async () => {
    const blackhole = await startBlackhole();
    try {
      const { calls, failed } = await callsThroughNewChannels(blackhole.endpoint);
      console.log(`etcd first endpoint blackholed: ${failed.length} of ${calls} calls failed`);
      assert.deepEqual(failed, []);
    } finally {
      await blackhole.stop();
    }
  });
});

describe('etcd: nothing here, and idle channels', () => {
  it('an empty prefix fails calls at once with UNAVAILABLE naming it; waitForReady calls wait', async () => {
    const client = createHelloClient(`etcd://${cluster.endpoints.join(',')}/nobody-here`, LB);
    try {
      const t0 = Date.now();
      const r = await sayWithKey(client, HEADER, 'k', { deadline: Date.now() + 5000 });
      const elapsed = Date.now() - t0;
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(
        r.error!.details,
        /etcd:\/\/.*\/nobody-here: no endpoints registered under "nobody-here\/"/,
      );
      assert.ok(elapsed < 2000, `failed after ${elapsed} ms`);
      const waiting = await sayWithKey(client, HEADER, 'k', {
        deadline: Date.now() + 800,
        waitForReady: true,
      });
      assert.equal(waiting.error?.code, grpc.status.DEADLINE_EXCEEDED, 'a waitForReady call waits');
    } finally {
      client.close();
    }
  });

  it('a process whose etcd channel is left open but idle exits by itself', async () => {
    const t0 = Date.now();
    const { code, signal, stdout } = await runTsxChild(
      join(__dirname, 'fixtures/idle-channel-child.ts'),
      [cluster.endpoints.join(','), 'first-down'],
      { stderr: 'inherit', killAfterMs: 15_000 },
    );
    const answeredAt = Number(/answered at (\d+)/.exec(stdout)?.[1]);
    assert.match(stdout, /answered by server-0/);
    assert.equal(signal, null, `killed: the idle channel kept the process alive (${stdout.trim()})`);
    assert.equal(code, 0);
    console.log(
      `etcd idle channel: the process exited ${Date.now() - answeredAt} ms after its last call (${Date.now() - t0} ms in all)`,
    );
  });
});
