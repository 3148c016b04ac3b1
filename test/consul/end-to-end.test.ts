import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { registerConsistentHashPolicy } from '../../src/balancer';
import {
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  registerConsulResolver,
} from '../../src/exports/consul';
import { type ConsulRegistration, registerWithConsul } from '../../src/registration/consul';
import { addHealthService } from '../../src/registration/health';
import type { ConsulRegistryFault } from '../support/consul-double';
import { type ConsulUnderTest, NEEDS_DOUBLE, openConsul, uniqueServiceName } from '../support/consul-env';
import {
  createHelloClient,
  type HelloClient,
  type RunningHelloServer,
  sayWithKey,
  startBackgroundCalls,
  startHelloServer,
} from '../support/hello-servers';
import { expectedOwners as expectedKeyOwners, ownerProbe } from '../support/key-owners';
import { joinThenLeave, type RegistryMembership } from '../support/registry-membership';
import { runTsxChild } from '../support/tsx-child';

const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER, algorithm: 'ketama' } }];
const KEYS = Array.from({ length: 120 }, (_, i) => `user-${i}`);
const HEALTH = 'GET /v1/health/service/:name';
const QPS = 5;
const CLIENT_OPTIONS: grpc.ChannelOptions = {
  [CONSUL_QUERIES_PER_SECOND_OPTION]: QPS,
  [CONSUL_INITIAL_BACKOFF_OPTION]: 200,
  [CONSUL_MAX_BACKOFF_OPTION]: 1000,
};

/** The server id that the ketama ring says owns each key, for the given live servers. */
const expectedOwners = (
  servers: readonly RunningHelloServer[],
  weights: Readonly<Record<string, number>> = {},
) => expectedKeyOwners(servers, KEYS, 'ketama', weights);

describe('consul end to end with consistent_hash', () => {
  let consul: ConsulUnderTest;
  const servers: RunningHelloServer[] = [];
  const registrations = new Map<string, ConsulRegistration>();
  const service = uniqueServiceName('e2e');
  let client: HelloClient;
  // Each call carries sayWithKey's default 5 s deadline.
  const owners = () => ownerProbe(client, HEADER, KEYS, 5000);

  const join = async (server: RunningHelloServer, weight?: number) => {
    registrations.set(
      server.serverId,
      await registerWithConsul({
        agent: consul.address,
        service,
        id: `${service}-${server.serverId}`,
        address: server.host,
        port: server.port,
        ...(weight !== undefined && { weight }),
        check: { type: 'grpc', interval: '1s', timeout: '1s' },
      }),
    );
  };
  const leave = async (server: RunningHelloServer) => {
    await registrations.get(server.serverId)?.deregister();
    registrations.delete(server.serverId);
  };

  const membership: RegistryMembership<RunningHelloServer> = {
    join,
    leave,
    converge: (members, what) => owners().converge(expectedOwners(members), what, 20_000, 100),
  };

  before(async () => {
    registerConsistentHashPolicy();
    registerConsulResolver();
    consul = await openConsul();
    for (let i = 0; i < 5; i++) {
      servers.push(
        await startHelloServer({ serverId: `server-${i}`, configure: (s) => addHealthService(s) }),
      );
    }
    for (const s of servers.slice(0, 3)) await join(s);
    client = createHelloClient(`consul://${consul.address}/${service}?wait=2s`, LB, CLIENT_OPTIONS);
  });
  after(async () => {
    client?.close();
    for (const r of registrations.values()) await r.deregister().catch(() => {});
    for (const s of servers) await s.stop();
    await consul.close();
  });

  it('routes every key to the owner the ring names', async () => {
    await owners().converge(expectedOwners(servers.slice(0, 3)), 'keys on the 3-member ring', 20_000, 100);
  });

  it('servers joining and leaving while calls run: keys move only as the ring says, no call fails', async () => {
    const calls = startBackgroundCalls(client, HEADER, KEYS, 5000);
    try {
      const three = expectedOwners(servers.slice(0, 3));
      await join(servers[3]!);
      const four = expectedOwners(servers.slice(0, 4));
      for (const k of KEYS) if (three.get(k) !== four.get(k)) assert.equal(four.get(k), 'server-3');
      await owners().converge(four, 'keys on the 4-member ring', 20_000, 100);
      // Leave: deregister first (the server stays up until clients moved away), as a graceful shutdown does.
      await leave(servers[0]!);
      const left = expectedOwners(servers.slice(1, 4));
      for (const k of KEYS) if (four.get(k) !== 'server-0') assert.equal(left.get(k), four.get(k));
      await owners().converge(left, 'keys on the ring without server-0', 20_000, 100);
    } finally {
      await calls.stop();
    }
    assert.ok(calls.calls > 0);
    assert.deepEqual(calls.failures, []);
  });

  const faults: [string, ConsulRegistryFault][] = [
    ['HTTP 500', { kind: 'status', status: 500, body: 'rpc error: No cluster leader' }],
    ['a query hanging past the client timeout', { kind: 'hang' }],
    ['malformed JSON', { kind: 'malformed-json' }],
    ['the index going backwards', 'index-backwards'],
    ['index 0 answered at once', { kind: 'index-zero' }],
    ['connection refused', 'refused'],
    ['slow responses', { kind: 'slow', delayMs: 400 }],
  ];
  for (const [what, fault] of faults) {
    it(`calls keep working on the last good list through ${what}, with no request storm, then recover`, {
      skip: NEEDS_DOUBLE,
    }, async () => {
      const double = consul.double!;
      const live = servers.slice(1, 4);
      const expected = expectedOwners(live);
      await owners().converge(expected, 'baseline', 20_000, 100);
      const before = double.count(HEALTH);
      const t0 = Date.now();
      await double.startFault(fault);
      // A change that the resolver must not see while the fault lasts wakes its blocking query.
      double.addCatalogService({
        id: `${service}-ghost`,
        name: service,
        address: '',
        port: 1,
        node: { Node: 'x', Address: '' },
      });
      // Let the fault bite: two queries under it (for a hang, the second comes after the client's timeout).
      if (fault !== 'refused') await double.waitForCount(HEALTH, before + 2, 10_000);
      // Calls during the fault, for at least a second.
      await owners().assertHeld(expected, t0 + 1000, 20, 'calls served by the last good list');
      const elapsed = (Date.now() - t0) / 1000;
      const requests = double.count(HEALTH) - before;
      assert.ok(
        requests <= 2 + Math.ceil(elapsed * QPS) + 2,
        `${requests} health queries in ${elapsed.toFixed(2)} s`,
      );
      await double.endFault(fault);
      double.removeCatalogService(`${service}-ghost`);
      // Recovery: a server joins and the client follows, then it leaves again.
      await joinThenLeave(membership, live, servers[4]!, 'recovery: join seen', 'recovery: leave seen');
    });
  }

  it('Weights.Passing reaches the ring: a weight-3 server owns the keys a weight-3 ring gives it', async () => {
    const live = servers.slice(1, 4);
    await join(servers[4]!, 3);
    try {
      const weighted = expectedOwners([...live, servers[4]!], { 'server-4': 3 });
      assert.notDeepEqual(
        weighted,
        expectedOwners([...live, servers[4]!]),
        'the weight matters for these keys',
      );
      await owners().converge(weighted, 'keys on the weighted ring', 20_000, 100);
    } finally {
      await leave(servers[4]!);
    }
    await owners().converge(expectedOwners(live), 'back to three', 20_000, 100);
  });

  it('fails calls fast with UNAVAILABLE naming Consul when there never was a list', async () => {
    const missing = createHelloClient(`consul://127.0.0.1:1/${service}`, LB, CLIENT_OPTIONS);
    try {
      const t0 = Date.now();
      const r = await sayWithKey(missing, HEADER, 'k', { deadline: Date.now() + 10_000 });
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      // The target, then the agent named once, then the cause.
      assert.equal(
        r.error!.details,
        `consul://127.0.0.1:1/${service}: Consul at http://127.0.0.1:1: ECONNREFUSED`,
      );
      assert.ok(Date.now() - t0 < 3000, 'failed fast, not at the deadline');
    } finally {
      missing.close();
    }
  });

  for (const mode of ['close', 'leave-open']) {
    it(`a process whose consul:// channel is ${mode === 'close' ? 'closed' : 'left open but unused'} exits by itself`, async () => {
      const { code, signal, stdout } = await runTsxChild(
        joinPath(__dirname, '../support/consul-client-exit-child.ts'),
        [consul.address, service],
        { stderr: 'inherit', killAfterMs: 20_000 },
      );
      assert.equal(signal, null, 'exited by itself, not killed');
      assert.equal(code, 0);
      assert.match(stdout, /^server-\d\n$/);
    });
  }
});
