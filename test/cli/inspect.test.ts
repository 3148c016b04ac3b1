import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { membersOf } from '../../src/cli/inspect';
import { type CliResult, runCli } from '../support/cli-process';
import { ConsulDouble } from '../support/consul-double';

interface InspectOutput {
  ring: string;
  endpoints: { id: string; weight: number; share: number }[];
  keys: Map<string, { hash: string; endpoint: string; failover: string }>;
}

/** Splits a printed table (header, dashes, rows up to a blank line) into cells. */
function tableAfter(lines: string[], headerStart: string): string[][] {
  const at = lines.findIndex((l) => l.startsWith(headerStart));
  if (at < 0) return [];
  const rows: string[][] = [];
  for (let i = at + 2; i < lines.length && lines[i] !== ''; i++) rows.push(lines[i]!.trim().split(/\s{2,}/));
  return rows;
}

function parseInspect(result: CliResult): InspectOutput {
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  const ring = lines.find((l) => l.startsWith('ring: '));
  assert.ok(ring, result.stdout);
  return {
    ring,
    endpoints: tableAfter(lines, 'endpoint ').map((c) => ({
      id: c[0]!,
      weight: Number(c[2]),
      share: Number(c[4]!.replace('%', '')) / 100,
    })),
    keys: new Map(
      tableAfter(lines, 'key ').map((c) => [c[0]!, { hash: c[1]!, endpoint: c[3]!, failover: c[4]! }]),
    ),
  };
}

/** A loopback port with nothing listening on it (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const TARGET = 'static:///127.0.0.1:1,127.0.0.1:2';
const KEYS = ['alice', 'bob', 'carol', 'dave', 'user-42', 'x'];

describe('inspect command', () => {
  it('shows the members the balancer builds: summed weights capped, reused addresses left out', () => {
    const at = (port: number, extra: object) => ({ addresses: [{ host: '10.0.0.1', port }], ...extra });
    const members = membersOf([
      at(1, { weight: 900, tags: ['a'] }),
      at(1, { weight: 900 }),
      at(2, { hashKey: 'db-1' }),
      at(2, { hashKey: 'db-2' }),
    ]);
    assert.deepEqual(
      members.map((m) => [m.id, m.weight, m.addresses.join(','), m.tags.join(',')]),
      [
        ['10.0.0.1:1', 1000, '10.0.0.1:1', 'a'],
        ['db-1', 1, '10.0.0.1:2', ''],
      ],
    );
  });

  for (const algorithm of ['ketama', 'ring_hash', 'maglev', 'rendezvous'] as const) {
    it(`resolves a static target; ${algorithm} shares sum to 1 and key owners match route`, async () => {
      const keyArgs = KEYS.flatMap((k) => ['--key', k]);
      const [inspected, routed] = await Promise.all([
        runCli(['inspect', TARGET, '--config', JSON.stringify({ algorithm }), ...keyArgs]),
        runCli(
          ['route', '--algorithm', algorithm, '--backends', '127.0.0.1:1,127.0.0.1:2'],
          KEYS.map((k) => `${k}\n`).join(''),
        ),
      ]);
      const out = parseInspect(inspected);
      assert.match(out.ring, new RegExp(`^ring: ${algorithm}, 2 endpoints`));
      assert.deepEqual(
        out.endpoints.map((e) => [e.id, e.weight]),
        [
          ['127.0.0.1:1', 1],
          ['127.0.0.1:2', 1],
        ],
      );
      const total = out.endpoints.reduce((a, e) => a + e.share, 0);
      assert.ok(Math.abs(total - 1) <= 0.0001, `shares sum to ${total}`);
      if (algorithm === 'maglev' || algorithm === 'rendezvous') {
        for (const e of out.endpoints) assert.ok(Math.abs(e.share - 0.5) < 0.0001);
      }
      assert.equal(routed.code, 0, routed.stderr);
      const routeOwners = new Map(
        routed.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t') as [string, string]),
      );
      assert.equal(out.keys.size, KEYS.length);
      for (const key of KEYS) {
        assert.equal(out.keys.get(key)?.endpoint, routeOwners.get(key), `owner of ${key}`);
        assert.match(out.keys.get(key)!.hash, /^[0-9]+$/);
        // Two endpoints: if the owner is down, the key goes to the other one.
        const other = ['127.0.0.1:1', '127.0.0.1:2'].find((id) => id !== routeOwners.get(key));
        assert.equal(out.keys.get(key)?.failover, other, `failover order of ${key}`);
      }
    });
  }

  it('accepts a loadBalancingConfig entry and a service config', async () => {
    const entry = parseInspect(
      await runCli([
        'inspect',
        TARGET,
        '--config',
        '{"consistent_hash":{"algorithm":"ring_hash","minRingSize":16}}',
      ]),
    );
    assert.match(entry.ring, /^ring: ring_hash, 2 endpoints, 16 entries/);
    const service = parseInspect(
      await runCli([
        'inspect',
        TARGET,
        '--config',
        '{"loadBalancingConfig":[{"ring_hash_experimental":{"minRingSize":32,"maxRingSize":64}},{"round_robin":{}}]}',
      ]),
    );
    assert.match(service.ring, /^ring: ring_hash, 2 endpoints, 32 entries/);
  });

  it('resolves through grpc-js resolvers too (ipv4:)', async () => {
    const out = parseInspect(await runCli(['inspect', 'ipv4:127.0.0.1:7,127.0.0.1:8,127.0.0.1:9']));
    assert.deepEqual(
      out.endpoints.map((e) => e.id),
      ['127.0.0.1:7', '127.0.0.1:8', '127.0.0.1:9'],
    );
  });

  it('shows Consul weights and tags, and never prints the ACL token', async () => {
    const secret = 'secret-token-5f0c1d2e';
    const consul = await ConsulDouble.start({
      acl: { tokens: { [secret]: { serviceRead: true, nodeRead: true } } },
    });
    try {
      consul.addCatalogService({
        id: 'a',
        name: 'svc',
        address: '127.0.0.1',
        port: 7001,
        tags: ['v2'],
        weight: 3,
      });
      consul.addCatalogService({
        id: 'b',
        name: 'svc',
        address: '127.0.0.1',
        port: 7002,
        tags: ['v2', 'eu'],
      });
      const target = `consul://${consul.address}/svc`;
      const env = { ...process.env, CONSUL_HTTP_TOKEN: secret };
      const ok = await runCli(['inspect', target, '--config', '{"algorithm":"maglev"}'], '', 30_000, env);
      const out = parseInspect(ok);
      assert.deepEqual(out.endpoints.map((e) => [e.id, e.weight]).sort(), [
        ['127.0.0.1:7001', 3],
        ['127.0.0.1:7002', 1],
      ]);
      const heavy = out.endpoints.find((e) => e.id === '127.0.0.1:7001')!;
      assert.ok(Math.abs(heavy.share - 0.75) < 0.001, `weight 3 of 4 owns ${heavy.share}`);
      assert.match(ok.stdout, /v2,eu/);
      const denied = await runCli(['inspect', target, '--timeout', '3s'], '', 30_000, {
        ...process.env,
        CONSUL_HTTP_TOKEN: `${secret}-wrong`,
      });
      assert.equal(denied.code, 1);
      assert.ok(denied.stderr.startsWith(`grpc-consistent-hash inspect: ${target}: `), denied.stderr);
      assert.match(denied.stderr, /403: ACL not found/);
      for (const r of [ok, denied]) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), 'token printed');
    } finally {
      await consul.stop();
    }
  });

  it('fails with exit 1 and one line naming the target for an unreachable Consul agent', async () => {
    const port = await closedPort();
    const target = `consul://127.0.0.1:${port}/svc`;
    const result = await runCli(['inspect', target, '--timeout', '3s']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.ok(result.stderr.startsWith(`grpc-consistent-hash inspect: ${target}: `), result.stderr);
    assert.match(result.stderr, /ECONNREFUSED/);
    assert.ok(result.ms < 10_000, `took ${result.ms} ms`);
  });

  it('times out with exit 1 when the registry never answers', async () => {
    // Accepts connections and never replies.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const target = `consul://127.0.0.1:${port}/svc`;
      const result = await runCli(['inspect', target, '--timeout', '400ms']);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `grpc-consistent-hash inspect: ${target}: no answer from the resolver within 400 ms\n`,
      );
      assert.ok(result.ms < 8000, `took ${result.ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports a target the resolver rejects with exit 1', async () => {
    const result = await runCli(['inspect', 'static:///127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^grpc-consistent-hash inspect: static:\/\/\/127\.0\.0\.1: .*has no port/);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1);
  });

  for (const [args, message] of [
    [['foo://x/y'], /unknown scheme 'foo' in target 'foo:\/\/x\/y'/],
    [[], /a target is required/],
    [['a:1', 'b:2'], /expected one target, got 2/],
    [[TARGET, '--config', '{nope'], /--config is not valid JSON/],
    [
      [TARGET, '--config', '{"affinity":"sticky"}'],
      /--config: consistent_hash: field "affinity" must be one of/,
    ],
    [[TARGET, '--timeout', 'soon'], /--timeout must be a duration/],
    [[TARGET, '--verbose'], /Unknown option '--verbose'/],
  ] as const) {
    it(`rejects ${args.join(' ') || 'no target'} with exit 2`, async () => {
      const result = await runCli(['inspect', ...args]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^grpc-consistent-hash inspect: /);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    });
  }

  it('prints help', async () => {
    const result = await runCli(['inspect', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: grpc-consistent-hash inspect <target>/);
    assert.match(result.stdout, /--key K/);
  });
});
