import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import { createRingBuilder } from '../../src/rings';
import type { RingAlgorithm } from '../../src/rings/types';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import { createHelloClient, type HelloClient, type SayOutcome, waitFor } from '../support/hello-servers';
import { type HoldingServers, startHoldingServers } from '../support/holding-hello-servers';

const HEADER = 'x-key';
const CALLS = 48;
const FACTOR = 1.25;

/** Keys (from a fixed, bounded candidate list) whose owner on the ring is `owner`. */
function keysOwnedBy(
  algorithm: RingAlgorithm,
  ids: string[],
  owner: string,
  count: number,
  weights: number[] = [],
): string[] {
  const ring = createRingBuilder(algorithm).build(ids.map((id, i) => ({ id, weight: weights[i] ?? 1 })));
  const keys: string[] = [];
  for (let i = 0; i < 10_000 && keys.length < count; i++) {
    const key = `user-${i}`;
    if (ring.members[ring.memberAt(ring.locateKey(key))]!.id === owner) keys.push(key);
  }
  assert.equal(keys.length, count, `found ${count} keys owned by ${owner}`);
  return keys;
}

/** A `Say` call with text `text` and, unless undefined, the key in the header. Never rejects. */
function say(
  client: HelloClient,
  key: string | undefined,
  text: string,
  timeoutMs = 10_000,
): Promise<SayOutcome> {
  const metadata = new (require('@grpc/grpc-js') as typeof grpc).Metadata();
  if (key !== undefined) metadata.set(HEADER, key);
  return new Promise((resolve) => {
    client.say({ text }, metadata, { deadline: Date.now() + timeoutMs }, (error, reply) => {
      if (error) resolve({ error });
      else resolve({ serverId: reply?.serverId ?? '' });
    });
  });
}

describe('bounded load (consistent_hash boundedLoad)', () => {
  let holding: HoldingServers;
  let ids: string[];
  let target: string;

  before(async () => {
    register();
    holding = await startHoldingServers(3);
    ids = holding.servers.map((s) => s.running.address);
    target = `static:///${ids.join(',')}`;
  });
  after(async () => {
    await holding.stopAll();
  });

  /**
   * Connects every endpoint (a quick call to a key each server owns), then starts CALLS held calls
   * spread over a few hot keys that all belong to server-0, waits until the servers hold them all,
   * releases them, and returns the outcomes and the servers' peak concurrency.
   */
  async function skewedRound(
    client: HelloClient,
    algorithm: RingAlgorithm,
    live = holding.servers,
    hotKeys = keysOwnedBy(algorithm, ids, ids[0]!, 4),
    warmKeys = live.map((s) => keysOwnedBy(algorithm, ids, s.running.address, 1)[0]!),
  ): Promise<{ outcomes: SayOutcome[]; peaks: number[]; received: number[] }> {
    for (const key of warmKeys) {
      const outcome = await say(client, key, 'warm');
      assert.equal(outcome.error, undefined, `warm-up call for ${key}: ${outcome.error?.message}`);
    }
    holding.resetCounts();
    const calls: Promise<SayOutcome>[] = [];
    for (let i = 0; i < CALLS; i++) calls.push(say(client, hotKeys[i % hotKeys.length], `hold-${i}`));
    await waitFor(() => holding.totalReceived() === CALLS, `${CALLS} held calls to arrive`, 10_000, 5);
    const peaks = holding.servers.map((s) => s.maxActive);
    const received = holding.servers.map((s) => s.received);
    holding.releaseAll();
    return { outcomes: await Promise.all(calls), peaks, received };
  }

  for (const algorithm of ['ketama', 'ring_hash', 'maglev'] as const) {
    it(`${algorithm}: no backend holds more than ⌈c·total/N⌉ under hot keys (failover)`, async () => {
      const client = createHelloClient(target, [
        { consistent_hash: { algorithm, hashHeader: HEADER, boundedLoad: FACTOR, connect: 'eager' } },
      ]);
      try {
        const { outcomes, peaks, received } = await skewedRound(client, algorithm);
        assert.ok(outcomes.every((o) => o.error === undefined));
        const bound = Math.ceil((FACTOR * CALLS) / 3);
        for (const peak of peaks) assert.ok(peak <= bound, `peaks ${peaks} within bound ${bound}`);
        // The hot keys' owner is filled to its bound; the rest spills along the ring.
        assert.equal(received[0], bound, `owner received ${received}`);
      } finally {
        client.close();
      }
    });
  }

  it('without boundedLoad, the same load piles onto the hot keys owner (behaviour unchanged)', async () => {
    const client = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER, connect: 'eager' } }]);
    try {
      const { outcomes, peaks } = await skewedRound(client, 'ketama');
      assert.ok(outcomes.every((o) => o.error === undefined));
      assert.deepEqual(peaks, [CALLS, 0, 0]);
    } finally {
      client.close();
    }
  });

  it('strict: a READY owner at its limit spills to the next READY endpoint', async () => {
    const client = createHelloClient(target, [
      { consistent_hash: { hashHeader: HEADER, boundedLoad: FACTOR, affinity: 'strict', connect: 'eager' } },
    ]);
    try {
      const { outcomes, peaks } = await skewedRound(client, 'ketama');
      assert.ok(outcomes.every((o) => o.error === undefined));
      const bound = Math.ceil((FACTOR * CALLS) / 3);
      for (const peak of peaks) assert.ok(peak <= bound, `peaks ${peaks} within bound ${bound}`);
      assert.equal(peaks[0], bound);
    } finally {
      client.close();
    }
  });

  it('weighted: each endpoint is capped at ⌈c·total·w/W⌉', async () => {
    const weights = [2, 1, 1];
    const resolver = createControlledResolver(ids.map((id, i) => endpointOf(id, { weight: weights[i]! })));
    const client = createHelloClient(resolver.target, [
      { consistent_hash: { hashHeader: HEADER, boundedLoad: FACTOR, connect: 'eager' } },
    ]);
    try {
      const hotKeys = keysOwnedBy('ketama', ids, ids[0]!, 4, weights);
      const warmKeys = ids.map((id) => keysOwnedBy('ketama', ids, id, 1, weights)[0]!);
      const { outcomes, peaks } = await skewedRound(client, 'ketama', holding.servers, hotKeys, warmKeys);
      assert.ok(outcomes.every((o) => o.error === undefined));
      const bounds = weights.map((w) => Math.ceil((FACTOR * CALLS * w) / 4));
      assert.equal(peaks[0], bounds[0], `peaks ${peaks}, bounds ${bounds}`);
      for (const [i, peak] of peaks.entries()) {
        assert.ok(peak <= bounds[i]!, `peaks ${peaks}, bounds ${bounds}`);
      }
    } finally {
      client.close();
    }
  });

  it('keyless calls (missingKey random) respect the bound too', async () => {
    const client = createHelloClient(target, [
      { consistent_hash: { hashHeader: HEADER, boundedLoad: 1, connect: 'eager', missingKey: 'random' } },
    ]);
    try {
      const warmKeys = holding.servers.map((s) => keysOwnedBy('ketama', ids, s.running.address, 1)[0]!);
      for (const key of warmKeys) assert.equal((await say(client, key, 'warm')).error, undefined);
      holding.resetCounts();
      const calls: Promise<SayOutcome>[] = [];
      for (let i = 0; i < CALLS; i++) calls.push(say(client, undefined, `hold-${i}`));
      await waitFor(() => holding.totalReceived() === CALLS, 'held keyless calls', 10_000, 5);
      const peaks = holding.servers.map((s) => s.maxActive);
      holding.releaseAll();
      assert.ok((await Promise.all(calls)).every((o) => o.error === undefined));
      // c = 1: at most ⌈48/3⌉ = 16 each, so exactly 16 each.
      assert.deepEqual(peaks, [16, 16, 16]);
    } finally {
      client.close();
    }
  });
});

describe('bounded load with an endpoint down', () => {
  let holding: HoldingServers;
  let ids: string[];
  before(async () => {
    register();
    holding = await startHoldingServers(3);
    ids = holding.servers.map((s) => s.running.address);
  });
  after(async () => {
    await holding.stopAll();
  });

  it('failover skips failed and over-limit endpoints; the bound counts READY endpoints only', async () => {
    const hotKeys = keysOwnedBy('ketama', ids, ids[0]!, 4);
    const client = createHelloClient(`static:///${ids.join(',')}`, [
      { consistent_hash: { hashHeader: HEADER, boundedLoad: FACTOR } },
    ]);
    try {
      await holding.servers[2]!.running.stop();
      for (const s of holding.servers.slice(0, 2)) {
        const key = keysOwnedBy('ketama', ids, s.running.address, 1)[0]!;
        assert.equal((await say(client, key, 'warm')).error, undefined);
      }
      holding.resetCounts();
      const calls: Promise<SayOutcome>[] = [];
      for (let i = 0; i < CALLS; i++) calls.push(say(client, hotKeys[i % hotKeys.length], `hold-${i}`));
      await waitFor(() => holding.totalReceived() === CALLS, 'held calls', 10_000, 5);
      const peaks = holding.servers.map((s) => s.maxActive);
      holding.releaseAll();
      assert.ok((await Promise.all(calls)).every((o) => o.error === undefined));
      const bound = Math.ceil((FACTOR * CALLS) / 2);
      assert.deepEqual(peaks, [bound, CALLS - bound, 0]);
    } finally {
      client.close();
    }
  });

  it('strict: an owner that is down still fails its keys (no failover), bound or not', async () => {
    // server-2 is down (previous test); find keys it owns.
    const key = keysOwnedBy('ketama', ids, ids[2]!, 1)[0]!;
    const client = createHelloClient(`static:///${ids.join(',')}`, [
      { consistent_hash: { hashHeader: HEADER, boundedLoad: FACTOR, affinity: 'strict' } },
    ]);
    try {
      const outcome = await say(client, key, 'warm', 5000);
      assert.equal(outcome.error?.code, 14 /* UNAVAILABLE */);
      assert.match(outcome.error?.details ?? '', /owns this key.*strict/);
    } finally {
      client.close();
    }
  });
});
