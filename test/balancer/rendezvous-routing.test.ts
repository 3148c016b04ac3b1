// End to end: the rendezvous balancer over real loopback grpc-js servers routes every key exactly as
// `grpc-consistent-hash route --algorithm rendezvous` predicts, weights included, and a stopped
// server's keys go to the owner `route` predicts for the survivors (their next-highest score).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register } from '../../src';
import { runCli } from '../support/cli-process';
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
const KEYS = Array.from({ length: 80 }, (_, i) => `user-${i * 37}`);
const WEIGHTS = [1, 3, 1, 2, 1];
const FAST_BACKOFF = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 200 };

/** key → backend address, as `route` prints it. */
async function routePrediction(
  backends: readonly string[],
  weights: readonly number[],
): Promise<Map<string, string>> {
  const result = await runCli(
    ['route', '--algorithm', 'rendezvous', '--backends', backends.join(','), '--weights', weights.join(',')],
    `${KEYS.join('\n')}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, KEYS.length);
  return new Map(lines.map((line) => line.split('\t') as [string, string]));
}

async function served(client: HelloClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of KEYS) {
    const r = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 5000 });
    assert.equal(r.error, undefined, `call for ${key}: ${r.error?.details}`);
    out.set(key, r.serverId!);
  }
  return out;
}

describe('rendezvous on real servers', () => {
  let servers: RunningHelloServer[] = [];
  let client: HelloClient;
  const idOf = (address: string) => servers.find((s) => s.address === address)!.serverId;
  before(async () => {
    register();
    servers = await startHelloServers(WEIGHTS.length);
    const resolver = createControlledResolver(
      servers.map((s, i) => endpointOf(s.address, { weight: WEIGHTS[i] })),
    );
    client = createHelloClient(
      resolver.target,
      [{ consistent_hash: { algorithm: 'rendezvous', hashHeader: HEADER } }],
      FAST_BACKOFF,
    );
  });
  after(async () => {
    client.close();
    await stopAll(servers);
  });

  it('routes every key as `route` predicts; a stopped server’s keys go where `route` predicts for the survivors', async () => {
    const addresses = servers.map((s) => s.address);
    const predicted = await routePrediction(addresses, WEIGHTS);
    const got = await served(client);
    for (const key of KEYS) assert.equal(got.get(key), idOf(predicted.get(key)!), `owner of ${key}`);
    assert.equal(new Set(got.values()).size, servers.length, 'keys reach every server');

    const victim = servers[1]!; // the weight-3 server: the most keys to hand over
    const victimKeys = KEYS.filter((k) => got.get(k) === victim.serverId);
    assert.ok(victimKeys.length >= 10, `${victimKeys.length} keys on the victim`);
    await victim.stop();
    const survivors = addresses.filter((a) => a !== victim.address);
    const survivorWeights = WEIGHTS.filter((_, i) => i !== 1);
    const next = await routePrediction(survivors, survivorWeights);
    await waitFor(
      async () =>
        (await sayWithKey(client, HEADER, victimKeys[0]!, { deadline: Date.now() + 3000 })).serverId !==
        undefined,
      'the victim’s keys to fail over',
    );
    const moved = await served(client);
    for (const key of KEYS) {
      const expected = victimKeys.includes(key) ? idOf(next.get(key)!) : got.get(key);
      assert.equal(moved.get(key), expected, `after the stop: ${key}`);
    }
    assert.ok(
      new Set(victimKeys.map((k) => moved.get(k))).size >= 3,
      'the victim’s keys spread over several survivors',
    );
  });
});
