import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { register } from '../../src';
import type { DiscoveredEndpoint } from '../../src/endpoint';
import { buildRing } from '../../src/rings';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import { createHelloClient, type HelloClient, sayWithKey } from '../support/hello-servers';

const HEADER = 'x-user-id';
const ENDPOINTS = 10_000;
const REAL_SERVERS = 4;
const UPDATES = 20;
const WORKERS = 8;
const KEYS_PER_SERVER = 6;

/** Closed loopback endpoint i: nothing listens on port 1, and lazy connect never dials it. */
function closedAddress(i: number): string {
  return `127.1.${(i >> 8) & 255}.${i & 255}:1`;
}

/** Starts the real servers in a child process, so that they answer while this loop is busy. */
function startServerChild(count: number): Promise<{ child: ChildProcess; addresses: string[] }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '..', 'support', 'hello-servers-child.ts'), String(count)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server child did not start within 20 s'));
    }, 20_000);
    child.once('exit', (code) => reject(new Error(`the server child exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, addresses: JSON.parse(line) as string[] });
    });
  });
}

describe('calls never stall behind an update', () => {
  let serverChild: ChildProcess | undefined;
  let real: string[] = [];
  let client: HelloClient | undefined;
  before(async () => {
    register();
    const started = await startServerChild(REAL_SERVERS);
    serverChild = started.child;
    real = started.addresses;
  });
  after(async () => {
    client?.close();
    if (serverChild && serverChild.exitCode === null) {
      const exited = new Promise((resolve) => serverChild!.once('exit', resolve));
      serverChild.stdin!.end();
      await exited;
    }
  });

  it('10,000 endpoints, 20 updates while 1 s-deadline calls run: no deadline missed, every key at its owner', async (t) => {
    const closed = Array.from({ length: ENDPOINTS - REAL_SERVERS }, (_, i) => closedAddress(i));
    // The real servers spread through the list, as a registry would list them.
    const addresses = [...closed];
    real.forEach((address, r) => {
      addresses.splice(((r + 1) * ENDPOINTS) / (REAL_SERVERS + 1), 0, address);
    });
    const serverIdOf = new Map(real.map((address, i) => [address, `server-${i}`]));

    // Keys the ring gives to the real servers. Update u leaves out closed endpoint u (and puts
    // back the one the previous update left out): removing a ketama member moves only its own
    // keys, so these keys keep their owners in every list.
    const ring = buildRing(
      'ketama',
      addresses.map((id) => ({ id })),
    );
    const keys: string[] = [];
    const expected = new Map<string, string>();
    const perServer = new Map<string, number>();
    for (let k = 0; keys.length < REAL_SERVERS * KEYS_PER_SERVER && k < 2_000_000; k++) {
      const key = `user-${k}`;
      const owner = ring.members[ring.memberAt(ring.locateKey(key))]!.id;
      const serverId = serverIdOf.get(owner);
      if (serverId === undefined || (perServer.get(serverId) ?? 0) >= KEYS_PER_SERVER) continue;
      perServer.set(serverId, (perServer.get(serverId) ?? 0) + 1);
      keys.push(key);
      expected.set(key, serverId);
    }
    assert.equal(keys.length, REAL_SERVERS * KEYS_PER_SERVER);

    const listWithout = (left: number): DiscoveredEndpoint[] =>
      addresses.filter((a) => a !== closedAddress(left)).map((a) => endpointOf(a));
    const resolver = createControlledResolver(addresses.map((a) => endpointOf(a)));
    client = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    const channelClient = client;
    // Warm-up, outside the measured phase: the first list and the owners' connections.
    for (const key of keys) {
      const r = await sayWithKey(channelClient, HEADER, key, {
        deadline: Date.now() + 20_000,
        waitForReady: true,
      });
      assert.equal(r.serverId, expected.get(key), `warm-up ${key}: ${r.error?.details}`);
    }

    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    let updating = true;
    let calls = 0;
    const failures: string[] = [];
    const worker = async (w: number) => {
      for (let i = w; updating && calls < 20_000; i += WORKERS) {
        const key = keys[i % keys.length]!;
        const r = await sayWithKey(channelClient, HEADER, key, { deadline: Date.now() + 1000 });
        calls++;
        if (r.error) failures.push(`${key}: ${r.error.code} ${r.error.details}`);
        else if (r.serverId !== expected.get(key)) failures.push(`${key}: answered by ${r.serverId}`);
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    for (let u = 0; u < UPDATES; u++) {
      // Every update is a fresh list of fresh objects, as a resolver parses an answer.
      resolver.push(listWithout(u));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    // A few more calls after the last update, then stop.
    const settled = calls + WORKERS * 4;
    while (calls < settled) await new Promise((resolve) => setTimeout(resolve, 5));
    updating = false;
    await Promise.all(workers);
    delay.disable();
    t.diagnostic(
      `${calls} calls during ${UPDATES} updates of ${ENDPOINTS} endpoints; max event-loop delay ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
    );
    assert.deepEqual(failures, []);
    assert.ok(calls >= UPDATES, `calls ran during the updates (${calls})`);
  });
});
