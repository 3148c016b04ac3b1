import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { registerConsistentHashPolicy } from '../../src/balancer';
import {
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  registerConsulResolver,
} from '../../src/exports/consul';
import { type ConsulRegistration, registerWithConsul } from '../../src/registration/consul';
import { highestSubchannelId } from '../support/channelz-probe';
import { ConsulDouble, type ConsulRegistryFault } from '../support/consul-double';
import { createHelloClient, type HelloClient, startBackgroundCalls } from '../support/hello-servers';
import { expectedOwners, ownerProbe } from '../support/key-owners';
import {
  backendConnections,
  type ProxiedBackend,
  startProxiedBackends,
  stopProxiedBackends,
} from '../support/proxied-backends';
import { joinThenLeave, type RegistryMembership } from '../support/registry-membership';

// Issue 7 item 2, Consul side: registry faults against the Consul double, with calls running the
// whole time. Builds on test/consul/end-to-end.test.ts (which proves each fault in isolation) by
// adding the wrong-shape fault, flapping membership, continuous load, and counting what a storm
// would show: health queries at the double, connections accepted by a counting proxy in front of
// each backend (= subchannel connects), and the highest channelz subchannel id (= subchannels created).

const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER, algorithm: 'ketama' } }];
const KEYS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const HEALTH = 'GET /v1/health/service/:name';
const QPS = 5;
const SERVICE = 'reliable';
const OPTIONS: grpc.ChannelOptions = {
  [CONSUL_QUERIES_PER_SECOND_OPTION]: QPS,
  [CONSUL_INITIAL_BACKOFF_OPTION]: 200,
  [CONSUL_MAX_BACKOFF_OPTION]: 1000,
};

describe('consul registry faults under load', () => {
  let double: ConsulDouble;
  let backends: ProxiedBackend[];
  let client: HelloClient;
  const registrations = new Map<string, ConsulRegistration>();

  const join = async (b: ProxiedBackend) => {
    registrations.set(
      b.serverId,
      await registerWithConsul({
        agent: double.address,
        service: SERVICE,
        id: `${SERVICE}-${b.serverId}`,
        address: b.host,
        port: b.port,
      }),
    );
  };
  const leave = async (b: ProxiedBackend) => {
    await registrations.get(b.serverId)?.deregister();
    registrations.delete(b.serverId);
  };
  const converge = (members: readonly ProxiedBackend[], what: string) =>
    ownerProbe(client, HEADER, KEYS).converge(expectedOwners(members, KEYS), what, 15_000, 100);
  const membership: RegistryMembership<ProxiedBackend> = { join, leave, converge };

  before(async () => {
    registerConsistentHashPolicy();
    registerConsulResolver();
    double = await ConsulDouble.start({ runGrpcChecks: false });
    backends = await startProxiedBackends(4);
    for (const b of backends.slice(0, 3)) await join(b);
    client = createHelloClient(`consul://${double.address}/${SERVICE}?wait=2s`, LB, OPTIONS);
    await converge(backends.slice(0, 3), 'baseline: keys on the 3-member ring');
  });
  after(async () => {
    client?.close();
    for (const r of registrations.values()) await r.deregister().catch(() => {});
    await stopProxiedBackends(backends ?? []);
    await double?.stop();
  });

  it('every fault in turn: calls keep working on the last good list, bounded queries, no subchannel storm, recovery', async () => {
    const live = backends.slice(0, 3);
    const expected = expectedOwners(live, KEYS);
    const faults: [string, ConsulRegistryFault][] = [
      ['HTTP 500', { kind: 'status', status: 500, body: 'rpc error: No cluster leader' }],
      ['connection refused', 'refused'],
      ['slow answers (0.8 s)', { kind: 'slow', delayMs: 800 }],
      ['malformed JSON', { kind: 'malformed-json' }],
      ['wrong JSON shape', { kind: 'wrong-shape' }],
      ['index backwards', 'index-backwards'],
      ['index 0 at once', { kind: 'index-zero' }],
      ['every blocking query answered at once', { kind: 'immediate' }],
    ];
    const connectionsBefore = backendConnections(backends);
    const rows: string[] = [];
    const load = startBackgroundCalls(client, HEADER, KEYS, 20_000, 3000);
    try {
      for (const [what, fault] of faults) {
        const queriesBefore = double.count(HEALTH);
        const connsBefore = backendConnections(backends);
        const t0 = Date.now();
        await double.startFault(fault);
        // A change the resolver must not act on while the fault lasts (an instance with no address).
        double.addCatalogService({
          id: `${SERVICE}-ghost`,
          name: SERVICE,
          address: '',
          port: 1,
          node: { Node: 'ghost', Address: '' },
        });
        if (fault !== 'refused') await double.waitForCount(HEALTH, queriesBefore + 2, 10_000);
        // Calls for at least 1 s under the fault, every key on its owner.
        await ownerProbe(client, HEADER, KEYS).assertHeld(expected, t0 + 1000, 1000, `during ${what}`);
        const seconds = (Date.now() - t0) / 1000;
        const queries = double.count(HEALTH) - queriesBefore;
        await double.endFault(fault);
        double.removeCatalogService(`${SERVICE}-ghost`);
        // Convergence after the fault: a real change is seen, then undone.
        const convergeSeconds = await joinThenLeave(
          membership,
          live,
          backends[3]!,
          `after ${what}: join seen`,
          `after ${what}: leave seen`,
        );
        const conns = backendConnections(backends) - connsBefore;
        rows.push(
          `${what.padEnd(40)} ${seconds.toFixed(2)} s  health queries ${String(queries).padStart(3)}  join+leave converged in ${convergeSeconds.toFixed(2)} s  backend connections +${conns}`,
        );
        // Token bucket: burst 2 plus QPS per second (and one in flight when the fault began).
        assert.ok(queries <= 3 + Math.ceil(seconds * QPS), `${what}: ${queries} queries in ${seconds} s`);
        // Only server-3's join may open a connection (one per join), nothing else reconnects.
        assert.ok(conns <= 1, `${what}: ${conns} new backend connections`);
      }
    } finally {
      await load.stop();
    }
    const subchannels = highestSubchannelId([client.getChannel() as grpc.Channel]);
    const connections = backendConnections(backends) - connectionsBefore;
    console.log(
      `consul faults:\n  ${rows.join('\n  ')}\n  background calls ${load.calls}, failed ${load.failures.length}; backend connections during faults ${connections}; highest subchannel id ${subchannels}; health queries in all ${double.count(HEALTH)}`,
    );
    assert.ok(load.calls > 100, `${load.calls} background calls`);
    assert.deepEqual(load.failures, []);
    // 4 backends, server-3 joining 8 times: a storm would make hundreds.
    assert.ok(connections <= faults.length, `${connections} backend connections`);
    assert.ok(subchannels <= 4 + faults.length, `highest subchannel id ${subchannels}`);
  });

  it('flapping: a server registered and deregistered 50 times in a burst', async () => {
    const live = backends.slice(0, 3);
    const flapper = backends[3]!;
    const queriesBefore = double.count(HEALTH);
    const connsBefore = flapper.proxy.connections;
    const subchannelsBefore = highestSubchannelId([client.getChannel() as grpc.Channel]);
    const load = startBackgroundCalls(client, HEADER, KEYS, 20_000, 3000);
    const t0 = Date.now();
    let flaps = 0;
    try {
      // Through the registration helper (PUT register / PUT deregister), bounded at 50 and 5 s (about 0.1 s on an idle machine).
      for (; flaps < 50 && Date.now() - t0 < 5000; flaps++) {
        await join(flapper);
        await leave(flapper);
      }
      const flapSeconds = (Date.now() - t0) / 1000;
      // The truth after the flapping: the server is not registered.
      await converge(live, 'after flapping: back to the 3 members');
      // And it converges to "registered" when that is the truth.
      await joinThenLeave(
        membership,
        live,
        flapper,
        'after flapping: the flapper registered for good',
        'after flapping: flapper gone again',
      );
      const seconds = (Date.now() - t0) / 1000;
      const queries = double.count(HEALTH) - queriesBefore;
      const conns = flapper.proxy.connections - connsBefore;
      const subchannels = highestSubchannelId([client.getChannel() as grpc.Channel]) - subchannelsBefore;
      await load.stop();
      console.log(
        `consul flapping: ${flaps} register/deregister cycles in ${flapSeconds.toFixed(2)} s; ${queries} health queries in ${seconds.toFixed(2)} s; flapper connections ${conns}; new subchannel ids ${subchannels}; background calls ${load.calls}, failed ${load.failures.length}`,
      );
      assert.equal(flaps, 50, `only ${flaps} flaps within 5 s`);
      assert.ok(queries <= 3 + Math.ceil(seconds * QPS), `${queries} queries in ${seconds} s`);
      // Each list the client saw with the flapper may connect to it once; the lists are rate-limited.
      assert.ok(conns <= 1 + queries, `${conns} connections to the flapper for ${queries} queries`);
      assert.ok(subchannels <= queries, `${subchannels} new subchannels for ${queries} queries`);
      assert.deepEqual(load.failures, []);
    } finally {
      await load.stop();
    }
  });
});
