import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register } from '../../src';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServer,
  startHelloServers,
  stopAll,
  waitFor,
} from '../support/hello-servers';

const HEADER = 'x-user-id';

describe('endpoint list updates', () => {
  let servers: RunningHelloServer[] = [];
  let proxies: CountingProxy[] = [];
  before(async () => {
    register();
    servers = await startHelloServers(3);
    proxies = await Promise.all(servers.map((s) => startCountingProxy(s.port)));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await stopAll(servers);
  });

  it('an update that adds one endpoint does not reconnect the others', async () => {
    const resolver = createControlledResolver([
      endpointOf(proxies[0]!.address),
      endpointOf(proxies[1]!.address),
    ]);
    const client = createHelloClient(resolver.target, [
      { consistent_hash: { hashHeader: HEADER, connect: 'eager' } },
    ]);
    try {
      assert.equal((await sayWithKey(client, HEADER, 'a')).error, undefined);
      await waitFor(
        () => proxies[0]!.connections === 1 && proxies[1]!.connections === 1,
        'eager connections',
      );
      resolver.push(proxies.map((p) => endpointOf(p.address)));
      await waitFor(() => proxies[2]!.connections === 1, 'the new endpoint to be connected');
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 3; i++)
        seen.add((await sayWithKey(client, HEADER, `key-${i}`)).serverId!);
      assert.equal(seen.size, 3, 'the new endpoint takes keys');
      assert.equal(proxies[0]!.connections, 1, 'endpoint 0 kept its connection');
      assert.equal(proxies[1]!.connections, 1, 'endpoint 1 kept its connection');
    } finally {
      client.close();
    }
  });

  it('lazy: a call connects only the endpoint that owns its key', async () => {
    const first = await startCountingProxy(servers[0]!.port);
    const second = await startCountingProxy(servers[1]!.port);
    const resolver = createControlledResolver([endpointOf(first.address), endpointOf(second.address)]);
    const client = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    try {
      const r = await sayWithKey(client, HEADER, 'lazy-key');
      assert.equal(r.error, undefined);
      assert.equal(first.connections + second.connections, 1, 'one call opened exactly one connection');
      assert.equal((r.serverId === 'server-0' ? first : second).connections, 1, 'to the owner');
    } finally {
      client.close();
      await first.close();
      await second.close();
    }
  });

  it('keeps serving on a resolver error; an empty list or a first error fails calls clearly', async () => {
    const resolver = createControlledResolver([endpointOf(servers[0]!.address)]);
    const client = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    try {
      assert.equal((await sayWithKey(client, HEADER, 'k')).serverId, 'server-0');
      resolver.push({
        code: grpc.status.UNAVAILABLE,
        details: 'registry down',
        metadata: new grpc.Metadata(),
      });
      await new Promise((r) => setImmediate(r));
      assert.equal((await sayWithKey(client, HEADER, 'k')).serverId, 'server-0', 'last good list kept');
      resolver.push([]);
      await waitFor(
        async () =>
          /resolver returned no endpoints/.test((await sayWithKey(client, HEADER, 'k')).error?.details ?? ''),
        'calls to fail on an empty list',
      );
    } finally {
      client.close();
    }
    const failing = createControlledResolver({
      code: grpc.status.UNAVAILABLE,
      details: 'registry down',
      metadata: new grpc.Metadata(),
    });
    const client2 = createHelloClient(failing.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    try {
      const r = await sayWithKey(client2, HEADER, 'k');
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(r.error!.details, /registry down/);
    } finally {
      client2.close();
    }
  });

  it('asks for re-resolution when a connected endpoint goes down', async () => {
    const extra = await startHelloServer({ serverId: 'extra' });
    const resolver = createControlledResolver([endpointOf(servers[0]!.address), endpointOf(extra.address)]);
    const client = createHelloClient(resolver.target, [
      { consistent_hash: { hashHeader: HEADER, connect: 'eager' } },
    ]);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++)
        seen.add((await sayWithKey(client, HEADER, `r-${i}`)).serverId!);
      assert.equal(seen.size, 2);
      const requestsBefore = resolver.resolutionRequests;
      await extra.stop();
      await waitFor(() => resolver.resolutionRequests > requestsBefore, 're-resolution request');
    } finally {
      client.close();
      await extra.stop();
    }
  });
});
