import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServer,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';

const HEADER = 'x-user-id';
const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`);
const FAST_BACKOFF = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 200 };

async function route(client: HelloClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of KEYS) {
    const r = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 3000 });
    out.set(key, r.error ? `${grpc.status[r.error.code]}: ${r.error.details}` : r.serverId!);
  }
  return out;
}

describe('strict vs failover while a server is stopped and restarted', () => {
  let servers: RunningHelloServer[] = [];
  let strict: HelloClient;
  let failover: HelloClient;
  before(async () => {
    register();
    servers = await startHelloServers(3);
    const target = `static:///${servers.map((s) => s.address).join(',')}`;
    strict = createHelloClient(
      target,
      [{ consistent_hash: { hashHeader: HEADER, affinity: 'strict' } }],
      FAST_BACKOFF,
    );
    failover = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }], FAST_BACKOFF);
  });
  after(async () => {
    strict.close();
    failover.close();
    await stopAll(servers);
  });

  it('moves only the stopped server keys (failover), fails them naming the owner (strict), and brings them back', async () => {
    const before = await route(failover);
    assert.deepEqual(await route(strict), before);
    const victim = servers[1]!;
    const victimKeys = KEYS.filter((k) => before.get(k) === victim.serverId);
    const otherKeys = KEYS.filter((k) => before.get(k) !== victim.serverId);
    assert.ok(victimKeys.length > 0 && otherKeys.length > 0);

    await victim.stop();
    const moved = await route(failover);
    const failed = await route(strict);
    for (const key of otherKeys) {
      assert.equal(moved.get(key), before.get(key), `failover: ${key} stays`);
      assert.equal(failed.get(key), before.get(key), `strict: ${key} stays`);
    }
    for (const key of victimKeys) {
      assert.match(moved.get(key)!, /^server-[02]$/, `failover: ${key} moves to a live server`);
      assert.match(
        failed.get(key)!,
        new RegExp(
          `^UNAVAILABLE: consistent_hash: endpoint ${victim.address.replace(/\./g, '\\.')}, which owns this key`,
        ),
        `strict: ${key}`,
      );
      assert.ok(!failed.get(key)!.includes(key), 'details never carry the key');
    }

    // strict + waitForReady: the call waits for the owner instead of failing.
    const waiting = sayWithKey(strict, HEADER, victimKeys[0], {
      waitForReady: true,
      deadline: Date.now() + 8000,
    });
    servers[1] = await startHelloServer({ serverId: victim.serverId, port: victim.port });
    const waited = await waiting;
    assert.equal(waited.serverId, victim.serverId, `waitForReady call: ${waited.error?.details}`);

    await waitFor(
      async () => (await sayWithKey(failover, HEADER, victimKeys[0])).serverId === victim.serverId,
      'failover keys to return to the restarted server',
    );
    assert.deepEqual(await route(failover), before);
    assert.deepEqual(await route(strict), before);
  });

  it('with every endpoint down: calls fail UNAVAILABLE with the last error, and the channel goes TRANSIENT_FAILURE', async () => {
    const dead = await startHelloServers(2);
    await stopAll(dead); // two ports that refuse connections
    const client = createHelloClient(`static:///${dead.map((s) => s.address).join(',')}`, [
      { consistent_hash: { hashHeader: HEADER } },
    ]);
    try {
      const r = await sayWithKey(client, HEADER, 'k');
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(r.error!.details, /ECONNREFUSED/);
      await waitFor(
        () => client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE,
        'aggregate TRANSIENT_FAILURE',
      );
    } finally {
      client.close();
    }
  });
});
