import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { registerConsistentHashPolicy } from '../../src/balancer';
import { sharedEtcdClientCount } from '../../src/etcd/client';
import { type EtcdRegistration, registerWithEtcd } from '../../src/registration/etcd';
import { registerEtcdResolver } from '../../src/resolvers/etcd';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';

const FAST_RESYNC = {
  'grpc-consistent-hash.etcd.initial_backoff_ms': 50,
  'grpc-consistent-hash.etcd.max_backoff_ms': 500,
};

let etcd: EtcdServer;
let servers: RunningHelloServer[] = [];
const registrations: EtcdRegistration[] = [];

before(async () => {
  registerEtcdResolver();
  registerConsistentHashPolicy();
  etcd = await startEtcd();
  servers = await startHelloServers(4);
});

after(async () => {
  await Promise.all(registrations.map((r) => r.deregister()));
  await stopAll(servers);
  await etcd?.destroy();
});

function register(server: RunningHelloServer): EtcdRegistration {
  const registration = registerWithEtcd({
    target: 'restart-svc',
    id: server.serverId,
    addr: server.address,
    ttl: 4,
    endpoints: etcd.endpoint,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  registrations.push(registration);
  return registration;
}

/** Calls in a loop with distinct keys, recording who answered and every failure. */
function callLoop(client: HelloClient) {
  const state = { running: true, ok: 0, failures: [] as string[], recent: [] as string[] };
  const done = (async () => {
    for (let i = 0; state.running && i < 50_000; i++) {
      const outcome = await sayWithKey(client, 'x-key', `user-${i % 97}`, { waitForReady: true });
      if (outcome.error) state.failures.push(outcome.error.message);
      else {
        state.ok++;
        state.recent = [...state.recent.slice(-59), outcome.serverId];
      }
    }
  })();
  return {
    state,
    stop: async () => {
      state.running = false;
      await done;
    },
  };
}

describe('etcd killed and restarted mid-run', () => {
  it('calls keep working on the last good list; the resolver re-syncs; registrations survive', async () => {
    await Promise.all(servers.slice(0, 3).map((s) => register(s).ready));
    const client = createHelloClient(
      `etcd://${etcd.endpoint}/restart-svc`,
      [{ consistent_hash: { hashHeader: 'x-key' } }],
      FAST_RESYNC,
    );
    const loop = callLoop(client);
    try {
      await waitFor(() => new Set(loop.state.recent).size === 3, 'calls reach all three servers');

      await etcd.kill();
      const okBefore = loop.state.ok;
      await waitFor(() => loop.state.ok >= okBefore + 50, 'calls served while etcd is down', 5000);

      await etcd.restart();
      // A server registered after the restart shows up: the resolver re-synced (new Range + Watch).
      await register(servers[3]!).ready;
      await waitFor(() => new Set(loop.state.recent).size === 4, 'the new server receives calls', 15_000);
      // The three registrations kept their keys (lease kept alive across the restart).
      const admin = new EtcdAdmin(etcd.endpoint);
      try {
        for (const s of servers.slice(0, 3))
          assert.ok(await admin.get(`restart-svc/${s.serverId}`), s.serverId);
      } finally {
        admin.close();
      }
    } finally {
      await loop.stop();
      client.close();
    }
    assert.deepEqual(loop.state.failures, []);
  });

  it('registrations come back after etcd loses its data; the resolver converges again', async () => {
    const client = createHelloClient(
      `etcd://${etcd.endpoint}/restart-svc`,
      [{ round_robin: {} }],
      FAST_RESYNC,
    );
    const loop = callLoop(client);
    try {
      await waitFor(() => new Set(loop.state.recent).size === 4, 'calls reach all four servers');
      await etcd.kill();
      rmSync(etcd.dataDir, { recursive: true, force: true });
      await etcd.restart();
      const admin = new EtcdAdmin(etcd.endpoint);
      try {
        // Every registration notices its lease is gone and writes its key again.
        await waitFor(
          async () => {
            for (const s of servers) if (!(await admin.get(`restart-svc/${s.serverId}`))) return false;
            return true;
          },
          'all four keys back in the fresh etcd',
          15_000,
          100,
        );
      } finally {
        admin.close();
      }
      loop.state.recent = [];
      await waitFor(
        () => new Set(loop.state.recent).size === 4,
        'calls reach all four servers again',
        15_000,
      );
    } finally {
      await loop.stop();
      client.close();
    }
    // waitForReady calls may wait while the fresh etcd is empty, but none may fail.
    assert.deepEqual(loop.state.failures, []);
  });

  it('leaves no etcd client behind once channels and registrations are gone', async () => {
    await Promise.all(registrations.splice(0).map((r) => r.deregister()));
    await waitFor(() => sharedEtcdClientCount() === 0, 'etcd clients closed', 5000);
    assert.equal(sharedEtcdClientCount(), 0);
  });
});
