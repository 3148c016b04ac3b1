import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { parseStaticTarget, ResolverError, register } from '../../src';
import { StaticResolver } from '../../src/resolvers/static/static-resolver';
import { createHelloClient, sayWithKey, startHelloServers, stopAll, waitFor } from '../support/hello-servers';

type Update = { endpoints?: grpc.experimental.Endpoint[]; error?: grpc.StatusObject; note: string };

/** A resolver on `path` with a recording listener. */
function resolverFor(path: string, options: grpc.ChannelOptions = {}) {
  const updates: Update[] = [];
  const listener: grpc.experimental.ResolverListener = (list, _attrs, _sc, note) => {
    updates.push(
      list.ok ? { endpoints: list.value, note } : { error: list.error as grpc.StatusObject, note },
    );
    return true;
  };
  const resolver = new StaticResolver({ scheme: 'static', authority: '', path }, listener, options);
  return { resolver, updates };
}

const addressesOf = (u: Update | undefined) =>
  u?.endpoints?.map((e) => e.addresses.map(grpc.experimental.subchannelAddressToString).join('|'));

describe('parseStaticTarget', () => {
  it('parses IPv4, bracketed IPv6 and hostnames, with , or ; between entries', () => {
    const entries = parseStaticTarget('static:///127.0.0.1:5001;[::1]:5002,LocalHost:5003');
    assert.deepEqual(
      entries.map((e) => [e.host, e.port, e.ipVersion, e.hostPort]),
      [
        ['127.0.0.1', 5001, 4, '127.0.0.1:5001'],
        ['::1', 5002, 6, '[::1]:5002'],
        ['localhost', 5003, 0, 'localhost:5003'],
      ],
    );
    assert.equal(parseStaticTarget('127.0.0.1:1,127.0.0.1:1').length, 1);
  });

  const bad: [string, RegExp][] = [
    ['static:///', /lists no addresses/],
    [
      'static://10.0.0.1:50051',
      /"10\.0\.0\.1:50051" is in the authority position.*write static:\/\/\/10\.0\.0\.1:50051 \(three slashes\)/,
    ],
    ['127.0.0.1', /entry "127.0.0.1" has no port/],
    ['127.0.0.1:1,,127.0.0.1:2', /entry 2 is empty/],
    ['127.0.0.1:0', /bad port "0"/],
    ['127.0.0.1:65536', /bad port "65536"/],
    ['127.0.0.1:http', /bad port "http"/],
    ['::1:5000', /IPv6 address in brackets/],
    ['[::1', /unclosed/],
    ['[127.0.0.1]:5', /not an IPv6 address/],
    ['bad host!:5', /not a valid hostname/],
  ];
  for (const [target, message] of bad) {
    it(`refuses "${target}" naming the problem`, () => {
      assert.throws(
        () => parseStaticTarget(target),
        (e: Error) => e instanceof ResolverError && e.code === 'INVALID_TARGET' && message.test(e.message),
      );
    });
  }
});

describe('StaticResolver', () => {
  it('never calls the listener synchronously, and delivers IP lists once per start', async () => {
    const { resolver, updates } = resolverFor('127.0.0.1:5001,[::1]:5002');
    resolver.updateResolution();
    assert.equal(updates.length, 0);
    await waitFor(() => updates.length === 1, 'the first update');
    assert.deepEqual(addressesOf(updates[0]), ['127.0.0.1:5001', '[::1]:5002']);
    resolver.updateResolution();
    await new Promise((r) => setImmediate(r));
    assert.equal(updates.length, 1, 'an unchanged list is not pushed again');
    resolver.destroy();
    resolver.updateResolution();
    assert.equal(updates.length, 1);
    await waitFor(() => updates.length === 2, 'the update after destroy()');
    resolver.destroy();
  });

  it('reports a bad target to the listener as UNAVAILABLE naming the entry', async () => {
    const { resolver, updates } = resolverFor('127.0.0.1:5001,localhost');
    resolver.updateResolution();
    await waitFor(() => updates.length === 1, 'the error');
    assert.equal(updates[0]!.error?.code, grpc.status.UNAVAILABLE);
    assert.match(updates[0]!.error!.details, /entry "localhost" has no port/);
    resolver.destroy();
  });

  it('resolves hostnames: one endpoint per entry, keyed by the entry', async () => {
    const { resolver, updates } = resolverFor('localhost:5003,127.0.0.1:5004');
    resolver.updateResolution();
    await waitFor(() => updates.length === 1, 'the lookup');
    const [local, ip] = updates[0]!.endpoints! as (grpc.experimental.Endpoint & { hashKey?: string })[];
    assert.equal(local!.hashKey, 'localhost:5003');
    assert.ok(local!.addresses.length >= 1);
    for (const a of local!.addresses)
      assert.match(grpc.experimental.subchannelAddressToString(a), /^(127\.0\.0\.1|\[::1\]):5003$/);
    assert.equal(ip!.hashKey, undefined);
    resolver.destroy();
  });

  it('rate-limits lookups: a re-resolution within the minimum interval waits for its end, and requests coalesce', async () => {
    const MIN_INTERVAL_MS = 200;
    /** When each lookup started (performance.now()), and a waiter for the next one. */
    const lookupsAt: number[] = [];
    let onLookup: (() => void) | null = null;
    // The resolver's timer is unref'd (it must not hold a process open), so the wait holds a ref'd
    // timer of its own, which also bounds it.
    const nextLookup = () =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('no lookup within 5 s')), 5000);
        onLookup = () => {
          clearTimeout(guard);
          resolve();
        };
      });
    const countingLookup = async (): Promise<string[]> => {
      lookupsAt.push(performance.now());
      onLookup?.();
      return ['127.0.0.1'];
    };
    const updates: Update[] = [];
    const resolver = new StaticResolver(
      { scheme: 'static', authority: '', path: 'backend.test:5005' },
      (list) => {
        updates.push(
          list.ok
            ? { endpoints: list.value, note: '' }
            : { error: list.error as grpc.StatusObject, note: '' },
        );
        return true;
      },
      { 'grpc.dns_min_time_between_resolutions_ms': MIN_INTERVAL_MS },
      countingLookup,
    );
    try {
      resolver.updateResolution();
      await waitFor(() => updates.length === 1, 'the first lookup pushed its list');
      // The channel asks again at once (a connection dropped), three times: one lookup, deferred
      // until the interval since the first lookup has passed.
      const second = nextLookup();
      resolver.updateResolution();
      resolver.updateResolution();
      resolver.updateResolution();
      assert.equal(lookupsAt.length, 1, 'no lookup within the interval');
      await second;
      const gap = lookupsAt[1]! - lookupsAt[0]!;
      // Timers never fire early; 1 ms allows for performance.now() against the timer's rounding.
      assert.ok(gap >= MIN_INTERVAL_MS - 1, `second lookup ${gap.toFixed(1)} ms after the first`);
      // The three requests made one lookup. No event marks "no further lookup": a leaked one would
      // run at the end of the next interval (the resolver's token bucket refills at one per
      // interval), so watch for six intervals after the second lookup.
      await new Promise((resolve) => setTimeout(resolve, 6 * MIN_INTERVAL_MS));
      assert.equal(lookupsAt.length, 2, 'the coalesced requests made one lookup');
      // The list did not change, so nothing more was pushed.
      assert.equal(updates.length, 1);
    } finally {
      resolver.destroy();
    }
  });

  it('reports a hostname that does not resolve, naming it; later keeps the last good addresses', async () => {
    let fail = true;
    let lookups = 0;
    const lookup = async (host: string): Promise<string[]> => {
      lookups++;
      if (fail) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return ['127.0.0.1'];
    };
    class ScriptedResolver extends StaticResolver {
      constructor(
        target: grpc.experimental.GrpcUri,
        listener: grpc.experimental.ResolverListener,
        options: grpc.ChannelOptions,
      ) {
        super(target, listener, options, lookup);
      }
    }
    const updates: Update[] = [];
    const resolver = new ScriptedResolver(
      { scheme: 'static', authority: '', path: 'backend.test:5005,127.0.0.1:5006' },
      (list, _a, _s, note) => {
        updates.push(
          list.ok ? { endpoints: list.value, note } : { error: list.error as grpc.StatusObject, note },
        );
        return true;
      },
      { 'grpc.dns_min_time_between_resolutions_ms': 0 },
    );
    resolver.updateResolution();
    await waitFor(() => updates.length === 1, 'the first lookup');
    // The IP entry is served; the note names the hostname that failed.
    assert.deepEqual(addressesOf(updates[0]), ['127.0.0.1:5006']);
    assert.match(updates[0]!.note, /cannot resolve "backend.test" \(entry "backend.test:5005"\): ENOTFOUND/);
    fail = false;
    resolver.updateResolution();
    await waitFor(() => updates.length === 2, 'the second lookup');
    assert.deepEqual(addressesOf(updates[1]), ['127.0.0.1:5005', '127.0.0.1:5006']);
    fail = true;
    resolver.updateResolution();
    await waitFor(() => lookups === 3, 'the third lookup');
    await new Promise((r) => setImmediate(r));
    // The failed lookup keeps the last good addresses: the list is unchanged, so nothing is pushed.
    assert.equal(updates.length, 2, 'last good addresses kept');
    resolver.destroy();

    const only = new ScriptedResolver(
      { scheme: 'static', authority: '', path: 'backend.test:5005' },
      (list) => {
        updates.push(
          list.ok
            ? { endpoints: list.value, note: '' }
            : { error: list.error as grpc.StatusObject, note: '' },
        );
        return true;
      },
      {},
    );
    only.updateResolution();
    await waitFor(() => updates.length === 3, 'the error');
    assert.equal(updates[2]!.error?.code, grpc.status.UNAVAILABLE);
    assert.match(updates[2]!.error!.details, /cannot resolve "backend.test"/);
    only.destroy();
  });
});

describe('static: targets on a real channel', () => {
  let servers: Awaited<ReturnType<typeof startHelloServers>> = [];
  before(async () => {
    register();
    servers = await startHelloServers(2);
  });
  after(() => stopAll(servers));

  it('routes over the listed servers, hostnames included', async () => {
    const target = `static:///${servers[0]!.address};localhost:${servers[1]!.port}`;
    const client = createHelloClient(target, [{ round_robin: {} }]);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 20 && seen.size < 2; i++) {
        const r = await sayWithKey(client, 'x', undefined);
        assert.equal(r.error, undefined);
        seen.add(r.serverId!);
      }
      assert.deepEqual([...seen].sort(), ['server-0', 'server-1']);
    } finally {
      client.close();
    }
  });

  it('fails calls fast with the parse error', async () => {
    const client = createHelloClient('static:///127.0.0.1:notaport', [{ consistent_hash: {} }]);
    try {
      const started = Date.now();
      const r = await sayWithKey(client, 'x-hash-key', 'k');
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.match(r.error!.details, /bad port "notaport"/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      client.close();
    }
  });
});
