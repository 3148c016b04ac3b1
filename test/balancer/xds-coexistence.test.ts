import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { CONSISTENT_HASH_TYPE_NAME, RING_HASH_EXPERIMENTAL_TYPE_NAME, register } from '../../src';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
} from '../support/hello-servers';

describe('loaded together with @grpc/grpc-js-xds', () => {
  let servers: RunningHelloServer[] = [];
  before(async () => {
    xds.register(); // registers its own `ring_hash` (xDS only)
    register();
    servers = await startHelloServers(2);
  });
  after(() => stopAll(servers));

  it('both sets of names are registered and ours keep working', async () => {
    for (const name of ['ring_hash', CONSISTENT_HASH_TYPE_NAME, RING_HASH_EXPERIMENTAL_TYPE_NAME]) {
      assert.ok(grpc.experimental.isLoadBalancerNameRegistered(name), name);
    }
    const target = `static:///${servers.map((s) => s.address).join(',')}`;
    const client = createHelloClient(target, [{ ring_hash_experimental: { requestHashHeader: 'x-k' } }]);
    try {
      const first = await sayWithKey(client, 'x-k', 'alice');
      assert.equal(first.error, undefined);
      for (let i = 0; i < 5; i++)
        assert.equal((await sayWithKey(client, 'x-k', 'alice')).serverId, first.serverId);
    } finally {
      client.close();
    }
  });
});
