// static: hostnames looked up again on an interval, so a headless Service's new pods are used
// without any connection failing first. DNS is replaced by an injected lookup whose answer the test
// changes (what a headless Service's name returns as pods come and go); the channel, the policy and
// the servers are real.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  registerConsistentHashPolicy,
  STATIC_ENDPOINT_PER_ADDRESS_OPTION,
  STATIC_RE_RESOLUTION_INTERVAL_OPTION,
} from '../../src';
import { StaticResolver } from '../../src/resolvers/static/static-resolver';
import { createHelloClient, startBackgroundCalls, waitFor } from '../support/hello-servers';
import { expectedOwners, ownerProbe } from '../support/key-owners';
import { type Pod, startPods } from '../support/kubernetes-env';

const SCHEME = 'static-dns-double';
const HOST = 'pods.web.default.svc.cluster.local';
const HEADER = 'x-user-id';
const LB = [{ consistent_hash: { hashHeader: HEADER, algorithm: 'ketama' } }];
const KEYS = Array.from({ length: 60 }, (_, i) => `user-${i}`);

/** What the name resolves to now, and when each lookup happened. */
const dns = { addresses: [] as string[], lookups: [] as number[] };

/** The static resolver with the injected lookup, under its own scheme. */
class StaticResolverWithDnsDouble extends StaticResolver {
  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    super(target, listener, options, async (host) => {
      assert.equal(host, HOST);
      dns.lookups.push(Date.now());
      return [...dns.addresses];
    });
  }
}

const lookupsSince = (since: number) => dns.lookups.filter((t) => t >= since).length;

describe('static: periodic re-resolution', () => {
  let pods: Pod[];
  let port: number;

  before(async () => {
    registerConsistentHashPolicy();
    grpc.experimental.registerResolver(SCHEME, StaticResolverWithDnsDouble);
    pods = await startPods('dns', 3, 110);
    port = pods[0]!.server.port;
  });

  after(async () => {
    await Promise.all(pods.map((p) => p.server.stop()));
  });

  const ownersOf = (ready: readonly Pod[]) =>
    expectedOwners(
      ready.map((p) => ({ address: `${p.ip}:${port}`, serverId: p.name })),
      KEYS,
      'ketama',
    );

  it('picks up a scale-out within the interval, with no call failing', async () => {
    dns.addresses = [pods[0]!.ip, pods[1]!.ip];
    const client = createHelloClient(`${SCHEME}:///${HOST}:${port}`, LB, {
      [STATIC_RE_RESOLUTION_INTERVAL_OPTION]: 300,
      [STATIC_ENDPOINT_PER_ADDRESS_OPTION]: true,
      'grpc.dns_min_time_between_resolutions_ms': 200,
    });
    const probe = ownerProbe(client, HEADER, KEYS, 5000);
    try {
      await probe.converge(ownersOf(pods.slice(0, 2)), 'two pods', 10_000, 50);
      const background = startBackgroundCalls(client, HEADER, KEYS, 50_000);
      const scaledAt = Date.now();
      dns.addresses = pods.map((p) => p.ip);
      // Nothing fails, so without the interval the channel would never look again (see below).
      await probe.converge(ownersOf(pods), 'the third pod', 8000, 25);
      console.log(
        `# static re-resolution: a scale-out picked up ${Date.now() - scaledAt} ms after DNS changed (interval 300 ms)`,
      );
      await background.stop();
      assert.deepEqual(background.failures, [], 'no call failed');
      // Every 300 ms: about 5 lookups in 1.5 s.
      const window = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const count = lookupsSince(window);
      assert.ok(count >= 3 && count <= 7, `${count} lookups in 1.5 s at a 300 ms interval`);
    } finally {
      client.close();
    }
  });

  it('never looks up faster than grpc.dns_min_time_between_resolutions_ms', async () => {
    dns.addresses = pods.map((p) => p.ip);
    const client = createHelloClient(`${SCHEME}:///${HOST}:${port}`, LB, {
      [STATIC_RE_RESOLUTION_INTERVAL_OPTION]: 20,
      [STATIC_ENDPOINT_PER_ADDRESS_OPTION]: true,
      'grpc.dns_min_time_between_resolutions_ms': 500,
    });
    try {
      const started = Date.now();
      await ownerProbe(client, HEADER, KEYS, 5000).converge(ownersOf(pods), 'three pods', 10_000, 50);
      await new Promise((r) => setTimeout(r, 1600 - (Date.now() - started)));
      const count = lookupsSince(started);
      // 1 + 1.6 s / 0.5 s = 4 at most; at the 20 ms asked for it would be ~80.
      assert.ok(count >= 2 && count <= 5, `${count} lookups in 1.6 s with a 500 ms minimum`);
    } finally {
      client.close();
    }
  });

  it('without the option, looks up only when the channel asks', async () => {
    dns.addresses = pods.map((p) => p.ip);
    const client = createHelloClient(`${SCHEME}:///${HOST}:${port}`, LB, {
      [STATIC_ENDPOINT_PER_ADDRESS_OPTION]: true,
      'grpc.dns_min_time_between_resolutions_ms': 100,
    });
    try {
      await ownerProbe(client, HEADER, KEYS, 5000).converge(ownersOf(pods), 'three pods', 10_000, 50);
      // A re-resolution the channel asked for while connecting runs at most one minimum interval
      // (100 ms) later; after that nothing fails, so the channel does not ask: no lookup in a second.
      await new Promise((r) => setTimeout(r, 250));
      const settled = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(lookupsSince(settled), 0, 'no lookup while every connection is fine');
    } finally {
      client.close();
    }
  });

  it('refuses bad option values naming the option', async () => {
    const cases: [grpc.ChannelOptions, RegExp][] = [
      [
        { [STATIC_RE_RESOLUTION_INTERVAL_OPTION]: 0 },
        /re_resolution_interval_ms" must be a number of milliseconds > 0/,
      ],
      [{ [STATIC_RE_RESOLUTION_INTERVAL_OPTION]: '5s' }, /re_resolution_interval_ms" must be a number/],
      [{ [STATIC_ENDPOINT_PER_ADDRESS_OPTION]: 'yes' }, /endpoint_per_address" must be true or false/],
    ];
    for (const [options, pattern] of cases) {
      const errors: string[] = [];
      const resolver = new StaticResolver(
        { scheme: 'static', authority: '', path: `${HOST}:1` },
        (list) => {
          if (!list.ok) errors.push(list.error.details);
          return true;
        },
        options,
      );
      resolver.updateResolution();
      await waitFor(() => errors.length > 0, 'the error');
      resolver.destroy();
      assert.match(errors[0]!, pattern);
    }
  });
});
