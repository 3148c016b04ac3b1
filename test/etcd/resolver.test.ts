import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireEtcdClient, type EtcdWatch, sharedEtcdClientCount } from '../../src/etcd/client';
import { resolveEtcdConnection } from '../../src/etcd/connection-options';
import type { WatchResponse } from '../../src/etcd/protocol';
import { registerWithEtcd } from '../../src/registration/etcd';
import { registerEtcdResolver } from '../../src/resolvers/etcd';
import { encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { EtcdAdmin, type EtcdServer, freePort, startEtcd } from '../support/etcd-server';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';
import { runTsxChild } from '../support/tsx-child';

let etcd: EtcdServer;

/** The TCP port of an endpoint's first address. */
function portOf(endpoint: { addresses: readonly object[] }): number | undefined {
  return (endpoint.addresses[0] as { port?: number }).port;
}
let admin: EtcdAdmin;

before(async () => {
  etcd = await startEtcd();
  admin = new EtcdAdmin(etcd.endpoint);
  registerEtcdResolver();
});

after(async () => {
  admin?.close();
  await etcd?.destroy();
});

/** Starts a resolver on `service` and returns it with its recorder; the caller destroys it. */
function startResolver(service: string, options = {}) {
  const recorder = recordingListener();
  const resolver = new EtcdResolver(etcdUri(etcd.endpoint, service), recorder.listener, options);
  resolver.updateResolution();
  return { resolver, recorder };
}

describe('etcd resolver against a real etcd', () => {
  it('picks up keys written by hand in the Go convention; Op 1 and deletes remove them', async () => {
    await admin.put('go-svc/a', '{"Op":0,"Addr":"127.0.0.1:10001","Metadata":null}');
    const { resolver, recorder } = startResolver('go-svc');
    try {
      assert.equal(recorder.updates.length, 0, 'listener called synchronously');
      await recorder.waitForAddresses(['127.0.0.1:10001'], 'initial get');
      await admin.put('go-svc/b', '{"Op":0,"Addr":"127.0.0.1:10002","Metadata":{"zone":"x"}}');
      await recorder.waitForAddresses(['127.0.0.1:10001', '127.0.0.1:10002'], 'watch put');
      assert.deepEqual(recorder.last()!.endpoints!.find((e) => portOf(e) === 10002)!.metadata, {
        zone: 'x',
      });
      await admin.put('go-svc/a', '{"Op":1,"Addr":"127.0.0.1:10001"}');
      await recorder.waitForAddresses(['127.0.0.1:10002'], 'Op 1 removal');
      await admin.deleteKey('go-svc/b');
      await recorder.waitForAddresses([], 'delete removal');
      assert.match(recorder.last()!.note, /no endpoints registered under "go-svc\/"/);
    } finally {
      resolver.destroy();
    }
  });

  it('matches the prefix with its trailing slash: my-service does not see my-service2', async () => {
    await admin.put('my-service/1', encodeEtcdEndpointValue('127.0.0.1:11001'));
    await admin.put('my-service2/1', encodeEtcdEndpointValue('127.0.0.1:11002'));
    await admin.put('my-service', encodeEtcdEndpointValue('127.0.0.1:11003'));
    const { resolver, recorder } = startResolver('my-service');
    try {
      await recorder.waitForAddresses(['127.0.0.1:11001'], 'initial get');
      await admin.put('my-service2/2', encodeEtcdEndpointValue('127.0.0.1:11004'));
      await admin.put('my-service/2', encodeEtcdEndpointValue('127.0.0.1:11005'));
      await recorder.waitForAddresses(['127.0.0.1:11001', '127.0.0.1:11005'], 'watch');
    } finally {
      resolver.destroy();
    }
  });

  it('carries weight from Metadata, skips malformed values, pushes only on change, in address order', async () => {
    await admin.put('w-svc/b', encodeEtcdEndpointValue('127.0.0.1:12002', { weight: 3 }));
    await admin.put('w-svc/a', encodeEtcdEndpointValue('127.0.0.1:12001'));
    await admin.put('w-svc/bad', 'this is not json');
    const { resolver, recorder } = startResolver('w-svc');
    try {
      await recorder.waitForAddresses(['127.0.0.1:12001', '127.0.0.1:12002'], 'initial get');
      const list = recorder.last()!.endpoints!;
      assert.deepEqual(
        list.map((e) => [portOf(e), e.weight]),
        [
          [12001, undefined],
          [12002, 3],
        ],
      );
      const pushes = recorder.updates.length;
      // Same value again, an unrelated key, and a malformed one: no push.
      await admin.put('w-svc/a', encodeEtcdEndpointValue('127.0.0.1:12001'));
      await admin.put('w-svc/bad2', '{"Op":0,"Addr":"no-port"}');
      // A change after them proves the watch delivered the earlier events.
      await admin.put('w-svc/c', encodeEtcdEndpointValue('127.0.0.1:12003', { weight: '2' }));
      await recorder.waitForAddresses(['127.0.0.1:12001', '127.0.0.1:12002', '127.0.0.1:12003'], 'third');
      assert.equal(recorder.updates.length, pushes + 1, 'pushed an unchanged list');
      assert.equal(recorder.last()!.endpoints![2]!.weight, 2);
      // A weight change alone is a change.
      await admin.put('w-svc/c', encodeEtcdEndpointValue('127.0.0.1:12003', { weight: 5 }));
      await waitFor(() => recorder.last()!.endpoints![2]!.weight === 5, 'weight update');
    } finally {
      resolver.destroy();
    }
  });

  it('a first answer of 10,000 keys arrives whole and in address order (its keys are applied in slices)', async () => {
    const count = 10_000;
    const address = (i: number) => `127.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}:${7000 + (i % 7)}`;
    for (let i = 0; i < count; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, count - i) }, (_, k) =>
          admin.put(`big-svc/${i + k}`, encodeEtcdEndpointValue(address(i + k))),
        ),
      );
    }
    // A duplicate address under a later key: the smaller key ("1" < "1-dup") wins.
    await admin.put('big-svc/1-dup', encodeEtcdEndpointValue(address(1), { weight: 4 }));
    const { resolver, recorder } = startResolver('big-svc');
    try {
      await waitFor(() => recorder.last()?.endpoints !== undefined, 'the first list', 30_000);
      const list = recorder.last()!.endpoints!;
      const addresses = list.map((e) => {
        const { host, port } = e.addresses[0] as { host: string; port: number };
        return `${host}:${port}`;
      });
      assert.equal(recorder.updates.length, 1, 'one push for the whole answer');
      assert.equal(list.length, count);
      assert.deepEqual(addresses, Array.from({ length: count }, (_, i) => address(i)).sort());
      assert.equal(
        list.find((e) => (e.addresses[0] as { port: number }).port === 7001 && e.weight === 4),
        undefined,
      );
    } finally {
      resolver.destroy();
    }
  });

  it('destroy() leaves nothing running; updateResolution() afterwards restarts', async () => {
    await admin.put('d-svc/a', encodeEtcdEndpointValue('127.0.0.1:13001'));
    const { resolver, recorder } = startResolver('d-svc');
    await recorder.waitForAddresses(['127.0.0.1:13001'], 'initial get');
    resolver.destroy();
    assert.equal(sharedEtcdClientCount(), 0, 'etcd client still open after destroy');
    const count = recorder.updates.length;
    await admin.put('d-svc/b', encodeEtcdEndpointValue('127.0.0.1:13002'));
    // Restart, then prove nothing arrived in between from the old watch.
    resolver.updateResolution();
    assert.equal(recorder.updates.length, count, 'listener called after destroy or synchronously');
    await recorder.waitForAddresses(['127.0.0.1:13001', '127.0.0.1:13002'], 'restart');
    assert.equal(recorder.updates.length, count + 1);
    resolver.destroy();
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('a process whose etcd channel and registration are closed exits by itself', async () => {
    const { code, signal, stdout } = await runTsxChild(
      join(__dirname, 'fixtures', 'resolve-and-exit.ts'),
      [etcd.endpoint],
      { stderr: 'inherit', killAfterMs: 20_000 },
    );
    assert.match(stdout, /answered by exit-1/);
    assert.deepEqual([code, signal], [0, null], 'child did not exit on its own (killed after 20 s)');
  });

  it('shares one etcd client between resolvers with the same settings', async () => {
    const a = startResolver('share-a');
    const b = startResolver('share-b');
    try {
      await waitFor(() => a.recorder.updates.length > 0 && b.recorder.updates.length > 0, 'both resolved');
      assert.equal(sharedEtcdClientCount(), 1);
    } finally {
      a.resolver.destroy();
      b.resolver.destroy();
    }
    assert.equal(sharedEtcdClientCount(), 0);
  });

  it('fails over to the next endpoint when the first is down', async () => {
    const deadPort = await freePort();
    await admin.put('fo-svc/a', encodeEtcdEndpointValue('127.0.0.1:14001'));
    const recorder = recordingListener();
    const resolver = new EtcdResolver(
      etcdUri(`127.0.0.1:${deadPort},${etcd.endpoint}`, 'fo-svc'),
      recorder.listener,
      {
        'grpc-consistent-hash.etcd.initial_backoff_ms': 20,
        'grpc-consistent-hash.etcd.max_backoff_ms': 200,
      },
    );
    resolver.updateResolution();
    try {
      await recorder.waitForAddresses(['127.0.0.1:14001'], 'resolved through the second endpoint');
      // Every endpoint is tried before anything is reported: the channel never saw the dead one's error.
      assert.equal(recorder.updates[0]!.error, undefined, recorder.updates[0]!.error?.details);
    } finally {
      resolver.destroy();
    }
  });

  it('reports UNAVAILABLE while etcd was never reachable', async () => {
    const deadPort = await freePort();
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri(`127.0.0.1:${deadPort}`, 'svc'), recorder.listener, {});
    resolver.updateResolution();
    try {
      await waitFor(() => recorder.updates.length > 0, 'error');
      assert.equal(recorder.updates[0]!.error?.code, 14);
      assert.match(
        recorder.updates[0]!.error!.details,
        new RegExp(
          `^etcd://127\\.0\\.0\\.1:${deadPort}/svc: etcd 127\\.0\\.0\\.1:${deadPort} Range: UNAVAILABLE`,
        ),
      );
    } finally {
      resolver.destroy();
    }
    assert.equal(sharedEtcdClientCount(), 0);
  });
});

describe('etcd client protocol details', () => {
  it('a watch from a compacted revision is canceled with compact_revision (what makes the resolver re-sync)', async () => {
    await admin.put('cmp-svc/a', encodeEtcdEndpointValue('127.0.0.1:15001'));
    const put = (await admin.call('KV', 'Put', {
      key: Buffer.from('cmp-svc/a'),
      value: Buffer.from(encodeEtcdEndpointValue('127.0.0.1:15002')),
    })) as { header: { revision: string } };
    await admin.call('KV', 'Compact', { revision: put.header.revision, physical: true });
    const lease = acquireEtcdClient(resolveEtcdConnection({ endpoints: etcd.endpoint }));
    let watch: EtcdWatch | undefined;
    try {
      const canceled = new Promise<WatchResponse>((resolve, reject) => {
        lease.client
          .watch(Buffer.from('cmp-svc/'), '1', {
            onResponse: (r) => {
              if (r.canceled) resolve(r);
            },
            onEnd: reject,
          })
          .then((w) => {
            watch = w;
          }, reject);
      });
      const response = await canceled;
      assert.equal(response.compact_revision, put.header.revision);
    } finally {
      watch?.cancel();
      lease.release();
    }
    assert.equal(sharedEtcdClientCount(), 0);
  });
});

describe('etcd resolver through a grpc-js channel', () => {
  let servers: RunningHelloServer[] = [];
  after(() => stopAll(servers));

  it('follows servers registering and leaving while calls run (round_robin)', async () => {
    servers = await startHelloServers(3);
    const registrations = servers.map((s) =>
      registerWithEtcd({
        target: 'hello',
        id: s.serverId,
        addr: s.address,
        ttl: 5,
        endpoints: etcd.endpoint,
      }),
    );
    await registrations[0]!.ready;
    const client = createHelloClient(`etcd://${etcd.endpoint}/hello`, [{ round_robin: {} }]);
    const failures: string[] = [];
    const seen = new Set<string>();
    let recent: string[] = [];
    let running = true;
    const loop = (async () => {
      for (let i = 0; running && i < 20_000; i++) {
        const outcome = await sayWithKey(client, 'x-key', `k${i}`, { waitForReady: true });
        if (outcome.error) failures.push(outcome.error.message);
        else {
          seen.add(outcome.serverId);
          recent = [...recent.slice(-29), outcome.serverId];
        }
      }
    })();
    try {
      await Promise.all(registrations.map((r) => r.ready));
      await waitFor(() => seen.size === 3, 'all three servers answering');
      await registrations[0]!.deregister();
      recent = [];
      await waitFor(
        () => recent.length === 30 && !recent.includes('server-0') && new Set(recent).size === 2,
        'server-0 gone',
        10_000,
      );
      seen.clear();
      // Deregistered servers keep serving until the resolver drops them, so no call fails.
      const late = registerWithEtcd({
        target: 'hello',
        id: 'server-0b',
        addr: servers[0]!.address,
        ttl: 5,
        endpoints: etcd.endpoint,
      });
      registrations.push(late);
      await waitFor(() => seen.has('server-0'), 'server-0 back under a new id', 10_000);
    } finally {
      running = false;
      await loop;
      client.close();
      await Promise.all(registrations.map((r) => r.deregister()));
    }
    assert.deepEqual(failures, []);
    assert.equal(sharedEtcdClientCount(), 0);
  });
});
