import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerConsistentHashPolicy } from '../../src/balancer';
import { type EtcdRegistration, registerWithEtcd } from '../../src/registration/etcd';
import { registerEtcdResolver } from '../../src/resolvers/etcd';
import { type EtcdServer, startEtcd } from '../support/etcd-server';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';

const KEYS = Array.from({ length: 120 }, (_, i) => `user-${i}`);
let etcd: EtcdServer;
let servers: RunningHelloServer[] = [];
const registrations = new Map<string, EtcdRegistration>();

before(async () => {
  registerEtcdResolver();
  registerConsistentHashPolicy();
  etcd = await startEtcd();
  servers = await startHelloServers(4);
});

after(async () => {
  await Promise.all([...registrations.values()].map((r) => r.deregister()));
  await stopAll(servers);
  await etcd?.destroy();
});

function register(
  target: string,
  server: RunningHelloServer,
  metadata?: Record<string, unknown>,
): Promise<void> {
  const registration = registerWithEtcd({
    target,
    id: server.serverId,
    addr: server.address,
    metadata,
    ttl: 5,
    endpoints: etcd.endpoint,
  });
  registrations.set(`${target}/${server.serverId}`, registration);
  return registration.ready;
}

/** Which server answers each key (fails the test on any call error). */
async function owners(client: HelloClient): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const key of KEYS) {
    const outcome = await sayWithKey(client, 'x-user', key, { waitForReady: true });
    assert.ok(!outcome.error, outcome.error?.message);
    result.set(key, outcome.serverId!);
  }
  return result;
}

/**
 * Owners once the routing has settled: two consecutive identical reads that satisfy `condition`
 * (a single read can straddle a ring update and mix old and new owners).
 */
async function settledOwners(
  client: HelloClient,
  condition: (owners: Map<string, string>) => boolean,
  what: string,
): Promise<Map<string, string>> {
  let previous = '';
  let settled: Map<string, string> | undefined;
  await waitFor(async () => {
    const current = await owners(client);
    const text = JSON.stringify([...current]);
    if (text === previous && condition(current)) settled = current;
    previous = text;
    return settled !== undefined;
  }, what);
  return settled!;
}

describe('consistent_hash over the etcd resolver', () => {
  it('keeps keys on their server; membership changes move only the keys they must', async () => {
    await Promise.all(servers.slice(0, 3).map((s) => register('ch-svc', s)));
    const client = createHelloClient(`etcd://${etcd.endpoint}/ch-svc`, [
      { consistent_hash: { hashHeader: 'x-user', algorithm: 'ketama' } },
    ]);
    try {
      const before = await settledOwners(
        client,
        (m) => new Set(m.values()).size === 3,
        'all three servers own keys',
      );
      assert.deepEqual(await owners(client), before, 'same key, same server');

      await register('ch-svc', servers[3]!);
      const afterJoin = await settledOwners(
        client,
        (m) => [...m.values()].includes('server-3'),
        'server-3 owns keys after registering',
      );
      for (const key of KEYS) {
        if (afterJoin.get(key) !== before.get(key))
          assert.equal(afterJoin.get(key), 'server-3', `${key} moved elsewhere`);
      }

      await registrations.get('ch-svc/server-1')!.deregister();
      const afterLeave = await settledOwners(
        client,
        (m) => ![...m.values()].includes('server-1'),
        'server-1 owns no keys after deregistering',
      );
      for (const key of KEYS) {
        if (afterJoin.get(key) !== 'server-1')
          assert.equal(afterLeave.get(key), afterJoin.get(key), `${key} moved`);
      }
    } finally {
      client.close();
    }
  });

  it('a weight in etcd Metadata shifts the share of keys', async () => {
    await register('wt-svc', servers[0]!, { weight: 6 });
    await register('wt-svc', servers[1]!);
    await register('wt-svc', servers[2]!);
    const client = createHelloClient(`etcd://${etcd.endpoint}/wt-svc`, [
      { consistent_hash: { hashHeader: 'x-user', algorithm: 'maglev' } },
    ]);
    try {
      const map = await settledOwners(
        client,
        (m) => new Set(m.values()).size === 3,
        'three weighted servers resolved',
      );
      const heavy = [...map.values()].filter((id) => id === 'server-0').length;
      // Ideal share 6/8 = 90 of 120 keys; unweighted it would be about 40.
      assert.ok(heavy > 70, `server-0 owns ${heavy} of ${KEYS.length} keys`);
    } finally {
      client.close();
    }
  });
});
