import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { xxh64 } from '@node-rs/xxhash';
import { register } from '../../src';
import { createRingBuilder } from '../../src/exports/rings';
import type { RingAlgorithm, RingMember } from '../../src/rings/types';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';

const HEADER = 'x-user-id';
const KEYS = Array.from({ length: 30 }, (_, i) => `user-${i}`);

/** gRPC ring_hash as gRFC A42 states it, on BigInt XXH64: the independent reference. */
function referenceRingHashOwner(
  addresses: string[],
  key: string,
  minRingSize = 1024,
  maxRingSize = 4096,
): string {
  const w = 1 / addresses.length;
  const scale = Math.min(Math.ceil(w * minRingSize) / w, maxRingSize);
  const ring: { hash: bigint; address: string }[] = [];
  let target = 0;
  let count = 0;
  for (const address of addresses) {
    target += scale * w;
    for (let idx = 0; count < target; idx++, count++)
      ring.push({ hash: xxh64(`${address}_${idx}`, 0n), address });
  }
  ring.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const h = xxh64(key, 0n);
  return (ring.find((e) => e.hash >= h) ?? ring[0]!).address;
}

/** The owner by our ring API, for algorithms whose reference lives in the ring tests (vectors). */
function ringOwner(algorithm: RingAlgorithm, members: RingMember[], key: string): string {
  const ring = createRingBuilder(algorithm).build(members);
  return ring.members[ring.memberAt(ring.locateKey(key))]!.id;
}

/** Calls every key `times` times; fails the test if one key reaches two servers. */
async function owners(
  client: HelloClient,
  keys: string[],
  times = 3,
  header = HEADER,
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const key of keys) {
    for (let i = 0; i < times; i++) {
      const r = await sayWithKey(client, header, key);
      assert.equal(r.error, undefined, `call for ${key}: ${r.error?.details}`);
      const previous = result.get(key);
      assert.ok(
        previous === undefined || previous === r.serverId,
        `${key} reached ${previous} and ${r.serverId}`,
      );
      result.set(key, r.serverId!);
    }
  }
  return result;
}

describe('consistent_hash routing on real servers', () => {
  let servers: RunningHelloServer[] = [];
  let target = '';
  const idOf = (address: string) => servers.find((s) => s.address === address)!.serverId;
  before(async () => {
    register();
    servers = await startHelloServers(3);
    target = `static:///${servers.map((s) => s.address).join(',')}`;
  });
  after(() => stopAll(servers));

  for (const algorithm of ['ketama', 'ring_hash', 'maglev'] as const) {
    it(`${algorithm}: same key → same server, keys spread, owner as the ring predicts`, async () => {
      const client = createHelloClient(target, [{ consistent_hash: { algorithm, hashHeader: HEADER } }]);
      try {
        const got = await owners(client, KEYS, 4);
        assert.equal(new Set(got.values()).size, 3, 'keys spread over all 3 servers');
        const addresses = servers.map((s) => s.address);
        for (const key of KEYS) {
          const predicted =
            algorithm === 'ring_hash'
              ? referenceRingHashOwner(addresses, key)
              : ringOwner(
                  algorithm,
                  addresses.map((id) => ({ id })),
                  key,
                );
          assert.equal(got.get(key), idOf(predicted), `owner of ${key}`);
        }
      } finally {
        client.close();
      }
    });
  }

  it('ring_hash_experimental with a grpc-go style config routes like ring_hash', async () => {
    const a76 = createHelloClient(target, [
      { ring_hash_experimental: { minRingSize: 1024, maxRingSize: 4096, requestHashHeader: HEADER } },
    ]);
    const ours = createHelloClient(target, [
      { consistent_hash: { algorithm: 'ring_hash', hashHeader: HEADER } },
    ]);
    try {
      assert.deepEqual(await owners(a76, KEYS, 2), await owners(ours, KEYS, 2));
    } finally {
      a76.close();
      ours.close();
    }
  });

  it('missingKey "random": keyless calls succeed, and spread over the READY endpoints', async () => {
    const lazy = createHelloClient(target, [
      { consistent_hash: { hashHeader: HEADER, missingKey: 'random' } },
    ]);
    const eager = createHelloClient(target, [
      { consistent_hash: { hashHeader: HEADER, connect: 'eager', missingKey: 'random' } },
    ]);
    try {
      // Lazy: a random hash connects one endpoint, not one per call (A76), and the calls succeed.
      for (let i = 0; i < 5; i++) assert.equal((await sayWithKey(lazy, HEADER, undefined)).error, undefined);
      // Eager: every endpoint is READY, so random hashes spread over them.
      await waitFor(
        () => eager.getChannel().getConnectivityState(true) === grpc.connectivityState.READY,
        'eager channel READY',
      );
      const seen = new Set<string>();
      for (let i = 0; i < 100 && seen.size < 3; i++) {
        const r = await sayWithKey(eager, HEADER, undefined);
        assert.equal(r.error, undefined);
        seen.add(r.serverId!);
      }
      assert.ok(seen.size >= 2, `keyless calls reached ${[...seen]}`);
    } finally {
      lazy.close();
      eager.close();
    }
  });

  it('missingKey "fail": keyless calls fail at once, naming the header; keyed calls work', async () => {
    const client = createHelloClient(target, [
      { consistent_hash: { hashHeader: HEADER, missingKey: 'fail' } },
    ]);
    try {
      assert.equal((await sayWithKey(client, HEADER, 'alice')).error, undefined);
      const started = Date.now();
      const r = await sayWithKey(client, HEADER, undefined, { waitForReady: true });
      assert.equal(r.error?.code, grpc.status.INTERNAL);
      assert.match(r.error!.details, /no "x-user-id" header/);
      assert.ok(Date.now() - started < 1000, 'not held until the deadline, even with waitForReady');
    } finally {
      client.close();
    }
  });

  it('weights shift ownership as the ring says (endpoint weight property)', async () => {
    const weights = [1, 1, 6];
    const resolver = createControlledResolver(
      servers.map((s, i) => endpointOf(s.address, { weight: weights[i] })),
    );
    const client = createHelloClient(resolver.target, [
      { consistent_hash: { algorithm: 'ring_hash', hashHeader: HEADER } },
    ]);
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `w-${i}`);
      const got = await owners(client, keys, 1);
      const members = servers.map((s, i) => ({ id: s.address, weight: weights[i] }));
      for (const key of keys) assert.equal(got.get(key), idOf(ringOwner('ring_hash', members, key)), key);
      const heavy = [...got.values()].filter((id) => id === 'server-2').length;
      assert.ok(heavy > keys.length / 2, `the weight-6 server owns ${heavy} of ${keys.length} keys`);
    } finally {
      client.close();
    }
  });

  it('an explicit hashKey on the endpoint places it, whatever its address (A76)', async () => {
    const names = ['alpha', 'beta', 'gamma'];
    const resolver = createControlledResolver(
      servers.map((s, i) => endpointOf(s.address, { hashKey: names[i] })),
    );
    const client = createHelloClient(resolver.target, [
      { consistent_hash: { algorithm: 'ketama', hashHeader: HEADER } },
    ]);
    try {
      const got = await owners(client, KEYS, 1);
      for (const key of KEYS) {
        const owner = ringOwner(
          'ketama',
          names.map((id) => ({ id })),
          key,
        );
        assert.equal(got.get(key), `server-${names.indexOf(owner)}`, key);
      }
    } finally {
      client.close();
    }
  });
});
