import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register } from '../../src';
import { createRingBuilder } from '../../src/exports/rings';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
} from '../support/hello-servers';

const HEADER = 'x-user-id';
const KEYS = Array.from({ length: 24 }, (_, i) => `user-${i}`);

// The policy must work behind grpc-js's own resolvers too, not only behind ours.
describe('consistent_hash behind grpc-js resolvers (ipv4:, dns:)', () => {
  let servers: RunningHelloServer[] = [];
  before(async () => {
    register();
    servers = await startHelloServers(3);
  });
  after(() => stopAll(servers));

  it('ipv4: every key reaches the server the ketama ring predicts for the real addresses', async () => {
    const target = `ipv4:${servers.map((s) => s.address).join(',')}`;
    const client = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }]);
    try {
      const ring = createRingBuilder('ketama').build(servers.map((s) => ({ id: s.address })));
      const reached = new Set<string>();
      for (const key of KEYS) {
        const owner = ring.members[ring.memberAt(ring.locateKey(key))]!.id;
        for (let i = 0; i < 2; i++) {
          const r = await sayWithKey(client, HEADER, key);
          assert.equal(r.error, undefined, `call for ${key}: ${r.error?.details}`);
          assert.equal(r.serverId, servers.find((s) => s.address === owner)!.serverId, `owner of ${key}`);
          reached.add(r.serverId!);
        }
      }
      assert.equal(reached.size, 3, 'keys spread over all 3 servers');
    } finally {
      client.close();
    }
  });

  it('dns:///localhost:<port>: calls route, and a key keeps its server', async () => {
    // localhost may resolve to 127.0.0.1 and ::1; the server listens on 127.0.0.1 only, so a key
    // owned by ::1 must fail over (the default affinity) rather than fail.
    const server = servers[0]!;
    const client = createHelloClient(`dns:///localhost:${server.port}`, [
      { consistent_hash: { hashHeader: HEADER, algorithm: 'ring_hash' } },
    ]);
    try {
      for (const key of KEYS) {
        const first = await sayWithKey(client, HEADER, key);
        const second = await sayWithKey(client, HEADER, key);
        assert.equal(first.error, undefined, `call for ${key}: ${first.error?.details}`);
        assert.equal(first.serverId, server.serverId);
        assert.equal(second.serverId, first.serverId);
      }
    } finally {
      client.close();
    }
  });
});
