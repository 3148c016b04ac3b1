import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import {
  ConsistentHashConfigError,
  MAX_ENDPOINT_WEIGHT,
  parseStaticTarget,
  ResolverError,
  register,
  validateConfig,
} from '../../src';
import {
  CONSISTENT_HASH_FIELDS,
  ConsistentHashConfig,
  InvalidHashPolicyConfig,
} from '../../src/balancer/config';
import { ConsistentHashLoadBalancer } from '../../src/balancer/load-balancer';
import { RingHashExperimentalConfig } from '../../src/balancer/ring-hash-experimental-config';
import type { DiscoveredEndpoint } from '../../src/endpoint';
import { parseConsulTarget } from '../../src/exports/consul';
import { parseEtcdTarget } from '../../src/exports/etcd';
import { buildRing, KETAMA_POINT_BUDGET, ketamaPointCounts } from '../../src/rings';
import type { RingAlgorithm } from '../../src/rings/types';
import { createControlledResolver, endpointOf } from '../support/controlled-resolver';
import { FakeChannelHelper, flushEvents } from '../support/fake-channel-helper';
import { captureErrorLog } from '../support/grpc-log';
import {
  createHelloClient,
  type RunningHelloServer,
  sayWithKey,
  startHelloServer,
  startHelloServers,
  stopAll,
} from '../support/hello-servers';

// Bad input, tried systematically: every call here has a deadline, so "never a hang" is checked by
// each call ending; "never an exception into grpc-js" by driving the real policy's picker directly.

const HEADER = 'x-user-id';
const { PickResultType } = grpc.experimental;
const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev'];
const CONFIG_FIELDS = CONSISTENT_HASH_FIELDS;
const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A real `ConsistentHashLoadBalancer` over fake subchannels, every endpoint connected (eager). */
async function connectedPolicy(
  endpoints: DiscoveredEndpoint[],
  json: object = {},
): Promise<{ helper: FakeChannelHelper; lb: ConsistentHashLoadBalancer; accepted: boolean }> {
  const helper = new FakeChannelHelper();
  const lb = new ConsistentHashLoadBalancer(helper);
  const config = ConsistentHashConfig.parse({
    hashHeader: HEADER,
    connect: 'eager',
    missingKey: 'random',
    ...json,
  });
  const accepted = lb.updateAddressList(grpc.experimental.statusOrFromValue(endpoints), config, {}, '');
  await flushEvents();
  return { helper, lb, accepted };
}

function fakeEndpoints(count: number): DiscoveredEndpoint[] {
  return Array.from({ length: count }, (_, i) => endpointOf(`10.0.0.${i + 1}:50051`));
}

/** Metadata-like object whose header has arbitrary values (grpc-js's Metadata would refuse some). */
function rawMetadata(values: unknown[]): grpc.Metadata {
  const m = new grpc.Metadata();
  (m as unknown as { get: (key: string) => unknown[] }).get = (key) => (key === HEADER ? values : []);
  return m;
}

describe('hash key header values: the real policy picker never throws', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: any bytes, any length, Buffers and several values route deterministically`, async () => {
      const { helper, lb } = await connectedPolicy(fakeEndpoints(5), { algorithm });
      try {
        assert.equal(helper.state, grpc.connectivityState.READY);
        const value = fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.constantFrom('', ' ', ',', '\u0000', '\ud800', 'x'.repeat(65536)),
        );
        fc.assert(
          fc.property(fc.array(value, { maxLength: 4 }), (values) => {
            const first = helper.pick(rawMetadata(values));
            const second = helper.pick(rawMetadata(values));
            if (values.length === 0) {
              // missingKey "random": a keyless call still goes to a READY endpoint.
              assert.equal(first.pickResultType, PickResultType.COMPLETE);
              return;
            }
            assert.equal(first.pickResultType, PickResultType.COMPLETE, first.status?.details);
            assert.ok(helper.subchannels.includes(first.subchannel as never));
            assert.equal(second.subchannel, first.subchannel, 'same key, same endpoint');
          }),
          { numRuns: 400 },
        );
        // Values grpc-js's Metadata accepts take the same route through a real Metadata.
        fc.assert(
          fc.property(fc.string({ maxLength: 200 }), (text) => {
            const m = new grpc.Metadata();
            try {
              m.set(HEADER, text);
            } catch {
              return; // Metadata refuses non-printable values itself: the picker never sees them.
            }
            assert.equal(helper.pick(m).subchannel, helper.pick(rawMetadata([text])).subchannel);
          }),
          { numRuns: 200 },
        );
      } finally {
        lb.destroy();
      }
    });
  }

  it('metadata that throws, or returns non-arrays, becomes an INTERNAL failure, never an exception', async () => {
    const { helper, lb } = await connectedPolicy(fakeEndpoints(3));
    try {
      const hostile = [
        new Proxy(new grpc.Metadata(), {
          get: () => {
            throw new TypeError('hostile');
          },
        }),
        rawMetadata(null as unknown as unknown[]),
        { get: () => 'not-an-array' } as unknown as grpc.Metadata,
        { get: () => [{ toString: () => 'weird' }] } as unknown as grpc.Metadata,
      ];
      for (const m of hostile) {
        const r = helper.pick(m);
        assert.ok(typeof r.pickResultType === 'number');
        if (r.pickResultType !== PickResultType.COMPLETE) {
          assert.equal(r.status?.code, grpc.status.INTERNAL);
          assert.match(r.status!.details, /^consistent_hash: /);
        }
      }
    } finally {
      lb.destroy();
    }
  });
});

describe('hash key header values end to end', () => {
  let servers: RunningHelloServer[] = [];
  let client: ReturnType<typeof createHelloClient>;
  before(async () => {
    register();
    servers = await startHelloServers(3);
    client = createHelloClient(`static:///${servers.map((s) => s.address).join(',')}`, [
      { consistent_hash: { hashHeader: HEADER } },
    ]);
  });
  after(async () => {
    client.close();
    await stopAll(servers);
  });

  it('printable values of any length route to one server each; every call ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
          maxLength: 2000,
        }),
        async (key) => {
          const a = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 3000 });
          const b = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 3000 });
          assert.equal(a.error, undefined, a.error?.details);
          assert.equal(a.serverId, b.serverId);
        },
      ),
      { numRuns: 40 },
    );
    const empty = await sayWithKey(client, HEADER, '');
    assert.equal(empty.error, undefined, 'an empty value is a key like any other');
  });

  it('a 64 KiB value routes like any key, to one server, well within its deadline', async () => {
    const key = 'k'.repeat(65536);
    const started = Date.now();
    const a = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 3000 });
    const b = await sayWithKey(client, HEADER, key, { deadline: Date.now() + 3000 });
    assert.ok(Date.now() - started < 3000, 'ended by its deadline');
    assert.equal(a.error, undefined, a.error?.details);
    assert.equal(a.serverId, b.serverId);
  });

  it('non-ASCII values and Buffers on a text header are refused by Metadata before any call', () => {
    const m = new grpc.Metadata();
    assert.throws(() => m.set(HEADER, 'schlüssel'), /not a legal non-binary|legal/i);
    assert.throws(() => m.set(HEADER, Buffer.from([0xff, 0xfe]) as unknown as string), /String values/);
  });

  it('a -bin header in the config is refused, naming the field, and logged at ERROR', async () => {
    for (const config of [
      { consistent_hash: { hashHeader: 'x-user-id-bin' } },
      { ring_hash_experimental: { requestHashHeader: 'key-BIN' } },
    ]) {
      assert.throws(
        () => validateConfig(config),
        (e: Error) =>
          e instanceof ConsistentHashConfigError && /"(hashHeader|requestHashHeader)".*-bin/i.test(e.message),
      );
    }
    const bin = createHelloClient(`static:///${servers[0]!.address}`, [
      { consistent_hash: { hashHeader: 'k-bin' } },
    ]);
    try {
      const { lines } = await captureErrorLog(() => sayWithKey(bin, 'k-bin', undefined));
      assert.ok(
        lines.some((l) => /consistent_hash.*"hashHeader".*"k-bin"/.test(l)),
        JSON.stringify(lines),
      );
    } finally {
      bin.close();
    }
  });
});

describe('endpoints: duplicates, IPv6, unix sockets', () => {
  let servers: RunningHelloServer[] = [];
  let dir = '';
  before(async () => {
    register();
    servers = await startHelloServers(2);
    dir = mkdtempSync(join(tmpdir(), 'ch-unix-'));
  });
  after(async () => {
    await stopAll(servers);
    rmSync(dir, { recursive: true, force: true });
  });

  it('duplicate endpoints become one ring member (static target and resolver lists)', async () => {
    const [a, b] = servers.map((s) => s.address) as [string, string];
    assert.equal(parseStaticTarget(`${a},${a};${b},${a}`).length, 2);
    const { helper, lb } = await connectedPolicy([a, a, b, a].map((x) => endpointOf(x)));
    try {
      assert.equal(helper.subchannels.length, 2, 'one subchannel per distinct endpoint');
    } finally {
      lb.destroy();
    }
    const client = createHelloClient(`static:///${a},${a},${b}`, [
      { consistent_hash: { hashHeader: HEADER } },
    ]);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await sayWithKey(client, HEADER, `dup-${i}`);
        assert.equal(r.error, undefined, r.error?.details);
        seen.add(r.serverId!);
      }
      assert.equal(seen.size, 2);
    } finally {
      client.close();
    }
  });

  it('many duplicates with the largest weight do not build a huge ring (bounded build time)', async () => {
    // 200 copies of one endpoint at the weight cap: their weights add up. Unbounded, ketama would
    // build 200 × 1000 × 64 = 12.8 M points (seconds of MD5 on the event loop, hundreds of MB).
    const copies = Array.from({ length: 200 }, () =>
      endpointOf(servers[0]!.address, { weight: MAX_ENDPOINT_WEIGHT }),
    );
    const resolver = createControlledResolver([...copies, endpointOf(servers[1]!.address)]);
    const client = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
    try {
      const started = performance.now();
      const r = await sayWithKey(client, HEADER, 'dup-heavy', { deadline: Date.now() + 1500 });
      const took = performance.now() - started;
      assert.equal(r.error, undefined, r.error?.details);
      assert.ok(took < 1000, `first call took ${took.toFixed(0)} ms`);
    } finally {
      client.close();
    }
    for (const algorithm of ALGORITHMS) {
      const { helper, lb, accepted } = await connectedPolicy(copies, { algorithm });
      try {
        assert.ok(accepted);
        assert.equal(helper.pick(rawMetadata(['k'])).pickResultType, PickResultType.COMPLETE);
      } finally {
        lb.destroy();
      }
    }
  });

  it('IPv6 loopback: static:///[::1]:port and ipv6: targets route', async (t) => {
    let v6: RunningHelloServer;
    try {
      v6 = await startHelloServer({ serverId: 'v6', host: '::1' });
    } catch (e) {
      t.skip(`no IPv6 loopback here: ${(e as Error).message}`);
      return;
    }
    try {
      for (const target of [
        `static:///[::1]:${v6.port}`,
        `ipv6:[::1]:${v6.port}`,
        `static:///[::1]:${v6.port},${servers[0]!.address}`,
      ]) {
        const client = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }]);
        try {
          const served = new Set<string>();
          for (let i = 0; i < 12; i++) {
            const r = await sayWithKey(client, HEADER, `v6-${i}`);
            assert.equal(r.error, undefined, `${target}: ${r.error?.details}`);
            served.add(r.serverId!);
          }
          assert.ok(served.has('v6'), `${target} reaches the IPv6 server`);
        } finally {
          client.close();
        }
      }
    } finally {
      await v6.stop();
    }
  });

  it('unix sockets: a unix: target, and unix endpoints from a resolver, route by socket path', async () => {
    const paths = [join(dir, 'a.sock'), join(dir, 'b.sock')];
    const unixServers: grpc.Server[] = [];
    try {
      for (const [i, path] of paths.entries()) {
        const s = await startHelloServer({ serverId: `unix-${i}`, host: '127.0.0.1', port: 0 });
        // Re-bind the same service on a unix socket as well.
        await new Promise<void>((resolve, reject) =>
          s.server.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (e) =>
            e ? reject(e) : resolve(),
          ),
        );
        unixServers.push(s.server);
      }
      const single = createHelloClient(`unix:${paths[0]}`, [{ consistent_hash: { hashHeader: HEADER } }]);
      try {
        const r = await sayWithKey(single, HEADER, 'u');
        assert.equal(r.serverId, 'unix-0', r.error?.details);
      } finally {
        single.close();
      }
      const resolver = createControlledResolver(paths.map((path) => ({ addresses: [{ path }] })));
      const both = createHelloClient(resolver.target, [{ consistent_hash: { hashHeader: HEADER } }]);
      try {
        const ring = buildRing(
          'ketama',
          paths.map((id) => ({ id })),
        );
        for (let i = 0; i < 16; i++) {
          const key = `unix-key-${i}`;
          const r = await sayWithKey(both, HEADER, key);
          const owner = ring.members[ring.memberAt(ring.locateKey(key))]!.id;
          assert.equal(r.serverId, `unix-${paths.indexOf(owner)}`, r.error?.details);
        }
      } finally {
        both.close();
      }
    } finally {
      for (const s of unixServers) s.forceShutdown();
    }
  });
});

describe('endpoint weights of any value', () => {
  const weightValue = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.constantFrom(
      0,
      -0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e308,
      Number.MIN_VALUE,
      1e-300,
      2 ** 53,
    ),
    fc.string({ maxLength: 5 }),
    fc.constantFrom(null, undefined, {}, [], true),
  );

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: every list is accepted, and every key routes`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(weightValue, { minLength: 1, maxLength: 6 }), async (weights) => {
          const endpoints = weights.map((weight, i) =>
            endpointOf(`10.0.1.${i + 1}:50051`, { weight: weight as number }),
          );
          const { helper, lb, accepted } = await connectedPolicy(endpoints, { algorithm });
          try {
            assert.ok(accepted, 'update accepted');
            assert.equal(helper.state, grpc.connectivityState.READY);
            for (let k = 0; k < 20; k++) {
              const r = helper.pick(rawMetadata([`w-${k}`]));
              assert.equal(
                r.pickResultType,
                PickResultType.COMPLETE,
                `weights ${String(weights)}: ${r.status?.details}`,
              );
            }
          } finally {
            lb.destroy();
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('maglev builds at once with a weight so small that its next claim lies beyond 2^53', () => {
    for (const weights of [
      [Number.MIN_VALUE, 1],
      [1e-300, 1000],
      [1e-200, 1, 1],
    ]) {
      const started = performance.now();
      const ring = buildRing(
        'maglev',
        weights.map((weight, i) => ({ id: `m${i}`, weight })),
        { tableSize: 1021 },
      );
      assert.equal(ring.size, 1021);
      assert.ok(performance.now() - started < 1000, `${String(weights)}: ${performance.now() - started} ms`);
    }
  });

  it('the rings build a usable ring from any finite weights > 0, or refuse a huge ketama ring at once', () => {
    const anyWeight = fc.oneof(
      fc.double({ min: Number.MIN_VALUE, max: 1e308, noNaN: true }),
      fc.constantFrom(Number.MIN_VALUE, 1e308, Number.MAX_VALUE),
    );
    // ketama places round(w × vnodes) points per member: moderate weights build, huge ones are refused.
    const cases = [
      { algorithm: 'ring_hash', weight: anyWeight },
      { algorithm: 'maglev', weight: anyWeight },
      {
        algorithm: 'ketama',
        weight: fc.oneof(
          fc.double({ min: Number.MIN_VALUE, max: 1000, noNaN: true }),
          fc.constant(Number.MIN_VALUE),
        ),
      },
    ] as const;
    for (const { algorithm, weight } of cases) {
      fc.assert(
        fc.property(fc.array(weight, { minLength: 1, maxLength: 5 }), (weights) => {
          const ring = buildRing(
            algorithm,
            weights.map((w, i) => ({ id: `m${i}`, weight: w })),
            { maxRingSize: 4096, tableSize: 1021 },
          );
          assert.ok(ring.size > 0, `${algorithm} ${String(weights)}: empty ring`);
          const p = ring.locateKey('k');
          assert.ok(p >= 0 && p < ring.size && ring.members[ring.memberAt(p)] !== undefined);
        }),
        { numRuns: 150 },
      );
    }
    // A huge weight scales the ring into ketama's point budget instead of failing it.
    for (const huge of [1e6, 1e308, Number.MAX_VALUE]) {
      const counts = ketamaPointCounts(Float64Array.of(huge, 1, huge / 2), 64);
      const points = [...counts].reduce((sum, c) => sum + Math.ceil(c / 4) * 4, 0);
      assert.ok(
        points <= KETAMA_POINT_BUDGET && points > KETAMA_POINT_BUDGET * 0.9,
        `${huge}: ${points} points`,
      );
      assert.equal(counts[1], 1, `${huge}: the small member keeps one digest`);
      assert.ok(
        Math.abs(counts[0]! / counts[2]! - 2) < 0.01,
        `${huge}: proportional (${counts[0]} vs ${counts[2]})`,
      );
    }
  });

  it('end to end: weights 0, negative, NaN, Infinity, huge, tiny and strings still serve every call', async () => {
    const servers = await startHelloServers(3);
    const odd = [0, -5, Number.NaN, Number.POSITIVE_INFINITY, 1e308, Number.MIN_VALUE, '7'];
    try {
      for (const algorithm of ALGORITHMS) {
        const resolver = createControlledResolver(
          odd.map((weight, i) =>
            endpointOf(servers[i % 3]!.address, { weight: weight as number, hashKey: `e${i}` }),
          ),
        );
        const client = createHelloClient(resolver.target, [
          { consistent_hash: { hashHeader: HEADER, algorithm } },
        ]);
        try {
          for (let k = 0; k < 10; k++) {
            const r = await sayWithKey(client, HEADER, `odd-${k}`, { deadline: Date.now() + 3000 });
            assert.equal(r.error, undefined, `${algorithm}: ${r.error?.details}`);
          }
        } finally {
          client.close();
        }
      }
    } finally {
      await stopAll(servers);
    }
  });
});

describe('config fields with wrong types and out-of-range values', () => {
  const anyValue = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.double(),
    fc.integer({ min: -10, max: 10_000_000 }),
    fc.constantFrom(
      'ketama',
      'ring_hash',
      'maglev',
      'strict',
      'failover',
      'random',
      'fail',
      'lazy',
      'eager',
      'x-key',
      'X-Key',
      'a-bin',
      'grpc-x',
      '',
      '65537',
      '1e3',
      0,
      1,
      1.25,
      65537,
      2 ** 31,
    ),
  );
  const field = fc.constantFrom(
    ...CONFIG_FIELDS,
    ...CONFIG_FIELDS.map(snake),
    'requestHashHeader',
    'unknownField',
  );

  it('validateConfig returns settings or throws ConsistentHashConfigError naming a field it was given', () => {
    fc.assert(
      fc.property(fc.dictionary(field, anyValue, { maxKeys: 4 }), fc.boolean(), (json, wrapped) => {
        const input = wrapped ? { consistent_hash: json } : json;
        let error: unknown = null;
        try {
          const settings = validateConfig(input);
          assert.ok(['ketama', 'ring_hash', 'maglev'].includes(settings.algorithm));
          return;
        } catch (e) {
          error = e;
        }
        assert.ok(
          error instanceof ConsistentHashConfigError,
          `not a ConsistentHashConfigError: ${String(error)}`,
        );
        const message = (error as Error).message;
        assert.match(message, /^consistent_hash: /);
        // A snake_case field is named in its lowerCamelCase spelling, the one the docs use.
        const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        const named = Object.keys(json).some((k) => message.includes(k) || message.includes(camel(k)));
        assert.ok(named, `message names none of ${Object.keys(json)}: ${message}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('ring_hash_experimental: the same for A76 fields', () => {
    const a76 = fc.constantFrom(
      'minRingSize',
      'maxRingSize',
      'requestHashHeader',
      'min_ring_size',
      'request_hash_header',
    );
    fc.assert(
      fc.property(fc.dictionary(a76, anyValue, { maxKeys: 3 }), (json) => {
        try {
          validateConfig({ ring_hash_experimental: json });
        } catch (e) {
          assert.ok(e instanceof ConsistentHashConfigError, String(e));
          assert.match(e.message, /^ring_hash_experimental: /);
          assert.ok(
            Object.keys(json).some(
              (k) =>
                e.message.includes(k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())) ||
                e.message.includes(k),
            ),
            e.message,
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('non-object configs are refused clearly; grpc-js parsing never throws a config error', async () => {
    for (const raw of [42, true]) {
      assert.throws(() => validateConfig(raw), /consistent_hash: the config must be a JSON object/);
    }
    // A string is a whole service config (grpc.service_config); a list is loadBalancingConfig.
    assert.throws(() => validateConfig('x'), /service config: not valid JSON/);
    assert.throws(() => validateConfig('[]'), /service config: must be a JSON object/);
    assert.throws(() => validateConfig([]), /loadBalancingConfig: has no "consistent_hash"/);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...CONFIG_FIELDS), anyValue, { minKeys: 1, maxKeys: 3 }),
        (json) => {
          const parsed = ConsistentHashConfig.createFromJson(json);
          let expected: Error | null = null;
          try {
            validateConfig(json);
          } catch (e) {
            expected = e as Error;
          }
          if (expected === null) assert.ok(parsed instanceof ConsistentHashConfig);
          else
            assert.ok(parsed instanceof InvalidHashPolicyConfig && parsed.error.message === expected.message);
        },
      ),
      { numRuns: 300 },
    );
    const a76 = RingHashExperimentalConfig.createFromJson({ minRingSize: -1 });
    assert.ok(a76 instanceof InvalidHashPolicyConfig && /minRingSize/.test(a76.error.message));
  });

  it('a channel given a bad config reports the logged error instead of silently using pick_first', async () => {
    const [server] = await startHelloServers(1);
    try {
      const bad: Record<string, unknown>[] = [
        { algorithm: 'jump_hash' },
        { vnodes: 0 },
        { vnodes: '12x' },
        { minRingSize: 10, maxRingSize: 5 },
        { tableSize: 65536 },
        { hashHeader: 'bad header' },
        { missingKey: true },
        { affinity: null },
        { connect: 1 },
        { boundedLoad: 0.5 },
      ];
      for (const json of bad) {
        const client = createHelloClient(`static:///${server!.address}`, [{ consistent_hash: json }]);
        try {
          const { lines } = await captureErrorLog(() =>
            sayWithKey(client, HEADER, 'k', { deadline: Date.now() + 2000 }),
          );
          const fieldName = Object.keys(json)[0]!;
          assert.ok(
            lines.some((l) => l.includes('consistent_hash') && l.includes(fieldName)),
            `${JSON.stringify(json)}: ${JSON.stringify(lines)}`,
          );
        } finally {
          client.close();
        }
      }
    } finally {
      await server!.stop();
    }
  });
});

describe('malformed static targets', () => {
  it('parseStaticTarget returns entries or throws ResolverError (INVALID_TARGET), for any string', () => {
    const piece = fc.constantFrom(
      '127.0.0.1',
      '[::1]',
      '::1',
      'host',
      'a..b',
      ':',
      '[',
      ']',
      ',',
      ';',
      '80',
      '65536',
      '0',
      '-1',
      ' ',
      '%',
      '/',
      'static:',
      '//',
      'é',
      '\u0000',
      '',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.array(piece, { maxLength: 10 }).map((p) => p.join('')),
        ),
        (text) => {
          try {
            const entries = parseStaticTarget(text);
            assert.ok(entries.length > 0);
            for (const e of entries) assert.ok(e.port >= 1 && e.port <= 65535 && e.host.length > 0);
          } catch (e) {
            assert.ok(e instanceof ResolverError, `${JSON.stringify(text)}: ${String(e)}`);
            assert.equal(e.code, 'INVALID_TARGET');
            assert.match(e.message, /^static:/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a channel on a malformed static target fails calls fast with UNAVAILABLE naming the problem', async () => {
    register();
    const cases: [string, RegExp][] = [
      ['static:///', /lists no addresses/],
      ['static:///,', /lists no addresses/],
      ['static:///;,;', /lists no addresses/],
      ['static:///127.0.0.1', /has no port/],
      ['static:///127.0.0.1:99999', /bad port "99999"/],
      ['static:///127.0.0.1:0', /bad port "0"/],
      ['static:///::1:80', /put an IPv6 address in brackets/],
      ['static:///[::1:80', /unclosed "\["/],
      ['static:///[fe80::zz]:80', /is not an IPv6 address/],
      ['static:///bad_host!:80', /is not a valid hostname/],
      ['static:///127.0.0.1:80,,127.0.0.2:80', /entry 2 is empty/],
    ];
    for (const [target, expected] of cases) {
      const client = createHelloClient(target, [{ consistent_hash: { hashHeader: HEADER } }]);
      try {
        const started = Date.now();
        const r = await sayWithKey(client, HEADER, 'k', { deadline: Date.now() + 3000 });
        assert.equal(r.error?.code, grpc.status.UNAVAILABLE, `${target}: ${r.error?.details}`);
        assert.match(r.error!.details, expected, target);
        assert.ok(Date.now() - started < 1000, `${target} failed fast`);
      } finally {
        client.close();
      }
    }
  });
});

describe('malformed consul: and etcd: targets (parsers only; registry faults are tested elsewhere)', () => {
  const piece = fc.constantFrom(
    'consul:',
    'etcd:',
    '//',
    '/',
    '127.0.0.1:8500',
    '[::1]:2379',
    ':',
    '?',
    '&',
    '=',
    'tag=a',
    'wait=5m',
    'wait=x',
    'dc=',
    'scheme=ftp',
    'passing=maybe',
    'user:pw@',
    '%',
    '%zz',
    ' ',
    '\u0000',
    ',',
    'svc',
    'é',
  );
  const text = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.array(piece, { maxLength: 10 }).map((p) => p.join('')),
  );

  it('parseConsulTarget returns a target or throws ResolverError (INVALID_TARGET)', () => {
    fc.assert(
      fc.property(text, (raw) => {
        try {
          parseConsulTarget(raw.startsWith('consul:') ? raw : `consul:${raw}`, {});
        } catch (e) {
          assert.ok(e instanceof ResolverError, `${JSON.stringify(raw)}: ${String(e)}`);
          assert.equal(e.code, 'INVALID_TARGET');
          assert.match(e.message, /^consul:/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseEtcdTarget returns a target or throws ResolverError (INVALID_TARGET) naming the target', () => {
    fc.assert(
      fc.property(text, (raw) => {
        try {
          parseEtcdTarget(raw.startsWith('etcd:') ? raw : `etcd:${raw}`);
        } catch (e) {
          assert.ok(e instanceof ResolverError, `${JSON.stringify(raw)}: ${String(e)}`);
          assert.equal(e.code, 'INVALID_TARGET');
          assert.match(e.message, /^etcd:/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
