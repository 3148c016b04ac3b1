import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  ConsistentHashConfig,
  parseConsistentHashSettings,
  RING_SIZE_CAP_OPTION,
} from '../../src/balancer/config';
import { ConsistentHashLoadBalancer } from '../../src/balancer/load-balancer';
import { buildRing } from '../../src/rings';
import { runCli } from '../support/cli-process';
import { FakeChannelHelper, flushEvents } from '../support/fake-channel-helper';
import { type KetamaVectors, type RingHashVectors, readVectors } from '../support/ring-vectors';

const ketama = readVectors<KetamaVectors>('ketama-seed-3.json');
const ringHash = readVectors<RingHashVectors>('ring-hash-grpc-3.json');
const rendezvous = readVectors<{
  sets: {
    members: { id: string; weight?: number }[];
    cases: { key: string; crc32: number; owner: string }[];
  }[];
}>('rendezvous-v1.json');

function parseOutput(stdout: string): [string, string][] {
  assert.ok(stdout.endsWith('\n'), 'output ends with a newline');
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const parts = line.split('\t');
      assert.equal(parts.length, 2, `line ${JSON.stringify(line)}`);
      return [parts[0]!, parts[1]!];
    });
}

describe('route command', () => {
  it('reproduces the ketama vectors from raw keys and from strings', async () => {
    const raw = await runCli(
      ['route', '--algorithm', 'ketama', '--backends', ketama.backends.join(','), '--key-format', 'raw'],
      ketama.cases.map((c) => `${c.key}\n`).join(''),
    );
    assert.equal(raw.stderr, '');
    assert.equal(raw.code, 0);
    assert.deepEqual(
      parseOutput(raw.stdout),
      ketama.cases.map((c) => [String(c.key), c.backend]),
    );
    const strings = await runCli(
      ['route', '--algorithm', 'ketama', '--backends', ketama.backends.join(',')],
      ketama.stringCases.map((c) => `${c.keyString}\r\n`).join(''),
    );
    assert.equal(strings.code, 0);
    assert.deepEqual(
      parseOutput(strings.stdout),
      ketama.stringCases.map((c) => [c.keyString, c.backend]),
    );
  });

  it('reproduces the ring_hash vectors from raw uint64 keys and from strings (no trailing newline)', async () => {
    const args = ['route', '--algorithm', 'ring_hash', '--backends', ringHash.backends.join(',')];
    const raw = await runCli([...args, '--key-format', 'raw'], ringHash.cases.map((c) => c.hash).join('\n'));
    assert.equal(raw.code, 0);
    assert.deepEqual(
      parseOutput(raw.stdout),
      ringHash.cases.map((c) => [c.hash, c.backend]),
    );
    const withKeys = ringHash.cases.filter((c) => c.keyString !== undefined);
    const strings = await runCli(args, withKeys.map((c) => `${c.keyString}\n`).join(''));
    assert.equal(strings.code, 0);
    assert.deepEqual(
      parseOutput(strings.stdout),
      withKeys.map((c) => [c.keyString!, c.backend]),
    );
  });

  it('routes maglev keys with weights, consistently between raw and string forms', async () => {
    // XXH64("key-0") = 1358662563146998643 (from the ring_hash vectors).
    const args = [
      'route',
      '--algorithm',
      'maglev',
      '--backends',
      'a:1,b:2,c:3',
      '--weights',
      '1,2,1',
      '--table-size',
      '65537',
    ];
    const viaString = await runCli(args, 'key-0\n');
    const viaRaw = await runCli([...args, '--key-format', 'raw'], '1358662563146998643\n');
    assert.equal(viaString.code, 0);
    assert.equal(viaRaw.code, 0);
    const [[, a]] = parseOutput(viaString.stdout) as [[string, string]];
    const [[, b]] = parseOutput(viaRaw.stdout) as [[string, string]];
    assert.equal(a, b);
    assert.match(a, /^[abc]:\d$/);
  });

  it('reproduces the rendezvous vectors (weighted set) from strings and from raw CRC-32 keys', async () => {
    const set = rendezvous.sets[1]!;
    const args = [
      'route',
      '--algorithm',
      'rendezvous',
      '--backends',
      set.members.map((m) => m.id).join(','),
      '--weights',
      set.members.map((m) => m.weight ?? 1).join(','),
    ];
    // The empty key cannot be a line of its own at the end; skip it here (the ring tests cover it).
    const cases = set.cases.filter((c) => c.key !== '' && !c.key.includes('\n'));
    const viaString = await runCli(args, cases.map((c) => `${c.key}\n`).join(''));
    const viaRaw = await runCli([...args, '--key-format', 'raw'], cases.map((c) => `${c.crc32}\n`).join(''));
    assert.equal(viaString.code, 0, viaString.stderr);
    assert.equal(viaRaw.code, 0, viaRaw.stderr);
    assert.deepEqual(
      parseOutput(viaString.stdout),
      cases.map((c) => [c.key, c.owner]),
    );
    assert.deepEqual(
      parseOutput(viaRaw.stdout).map(([, owner]) => owner),
      cases.map((c) => c.owner),
    );
  });

  it('predicts the policy when ring_hash sizes exceed the ring-size cap, raised or not', async () => {
    const ports = Array.from({ length: 30 }, (_, i) => 7000 + i);
    const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const sizes = ['--min-ring-size', '16384', '--max-ring-size', '16384'];
    const routed = new Map<number, string[]>();
    for (const cap of [4096, 16384]) {
      const capFlag = cap === 4096 ? [] : ['--ring-size-cap', String(cap)];
      const backends = ports.map((p) => `127.0.0.1:${p}`).join(',');
      const r = await runCli(
        ['route', '--algorithm', 'ring_hash', '--backends', backends, ...sizes, ...capFlag],
        `${keys.join('\n')}\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      if (cap === 4096) {
        assert.match(r.stderr, /--max-ring-size 16384 is above the ring-size cap 4096; using 4096/);
        assert.match(r.stderr, /grpc\.lb\.ring_hash\.ring_size_cap/);
      } else assert.equal(r.stderr, '');
      const owners = parseOutput(r.stdout).map(([, owner]) => owner);
      routed.set(cap, owners);

      // The policy, fed the same endpoints, config and (default or raised) channel cap.
      const helper = new FakeChannelHelper();
      const lb = new ConsistentHashLoadBalancer(helper);
      const settings = parseConsistentHashSettings({
        algorithm: 'ring_hash',
        hashHeader: 'x-key',
        connect: 'eager',
        minRingSize: 16384,
        maxRingSize: 16384,
      });
      lb.updateAddressList(
        grpc.experimental.statusOrFromValue(
          ports.map((port) => ({ addresses: [{ host: '127.0.0.1', port }] })),
        ),
        new ConsistentHashConfig(settings),
        cap === 4096 ? {} : { [RING_SIZE_CAP_OPTION]: cap },
        '',
      );
      await flushEvents();
      keys.forEach((key, i) => {
        const metadata = new grpc.Metadata();
        metadata.set('x-key', key);
        const pick = helper.pick(metadata);
        assert.equal(pick.pickResultType, grpc.experimental.PickResultType.COMPLETE);
        assert.equal(pick.subchannel!.getAddress(), owners[i], `${key} with cap ${cap}`);
      });
      lb.destroy();
    }
    const moved = keys.filter((_, i) => routed.get(4096)![i] !== routed.get(16384)![i]).length;
    assert.ok(
      moved > 0,
      'the cap changes placement, so the test tells a capped prediction from one that is not',
    );
  });

  it('routes 100,000 keys in one run, one line per key (its speed is in docs/cli.md)', async () => {
    const backends = Array.from({ length: 50 }, (_, i) => `10.0.${i}.1:50051`).join(',');
    const keys = Array.from(
      { length: 100_000 },
      (_, i) => `user-${String(i).padStart(8, '0')}-0123456789abcdefghijklm\n`,
    ).join('');
    const empty = await runCli(['route', '--algorithm', 'ring_hash', '--backends', backends], '');
    const full = await runCli(['route', '--algorithm', 'ring_hash', '--backends', backends], keys);
    assert.equal(full.code, 0);
    const routed = parseOutput(full.stdout);
    assert.equal(routed.length, 100_000);
    assert.equal(empty.stdout, '');
    // Every 997th key routes where the ring API puts it.
    const ring = buildRing(
      'ring_hash',
      backends.split(',').map((id) => ({ id })),
    );
    for (let i = 0; i < routed.length; i += 997) {
      const [key, backend] = routed[i]!;
      assert.equal(backend, ring.members[ring.memberAt(ring.locateKey(key))]!.id, key);
    }
  });

  const failures: [string, string[], string, RegExp][] = [
    [
      'an unknown flag',
      ['--algorithm', 'ketama', '--backends', 'a', '--bogus'],
      '',
      /Unknown option '--bogus'/,
    ],
    ['a missing algorithm', ['--backends', 'a'], '', /--algorithm is required/],
    [
      'an unknown algorithm',
      ['--algorithm', 'jump_hash', '--backends', 'a'],
      '',
      /--algorithm must be one of .* got 'jump_hash'/,
    ],
    ['an empty backend list', ['--algorithm', 'ketama', '--backends', ''], '', /--backends is empty/],
    [
      'an empty backend entry',
      ['--algorithm', 'ketama', '--backends', 'a,,b'],
      '',
      /empty entry at position 2/,
    ],
    ['a duplicate backend', ['--algorithm', 'ketama', '--backends', 'a,a'], '', /--backends lists 'a' twice/],
    [
      'a weights count mismatch',
      ['--algorithm', 'ketama', '--backends', 'a,b', '--weights', '1'],
      '',
      /--weights has 1 entries but --backends has 2/,
    ],
    [
      'a bad weight',
      ['--algorithm', 'ketama', '--backends', 'a,b', '--weights', '1,-2'],
      '',
      /--weights entry 2 must be a finite number > 0, got '-2'/,
    ],
    [
      'a non-numeric flag value',
      ['--algorithm', 'ketama', '--backends', 'a', '--vnodes', 'lots'],
      '',
      /--vnodes must be an integer in \[1, \d+\], got 'lots'/,
    ],
    [
      'a non-prime table size',
      ['--algorithm', 'maglev', '--backends', 'a', '--table-size', '65536'],
      '',
      /--table-size must be a prime, got 65536/,
    ],
    [
      'min > max ring size',
      ['--algorithm', 'ring_hash', '--backends', 'a', '--min-ring-size', '9', '--max-ring-size', '8'],
      '',
      /--min-ring-size \(9\) must not exceed --max-ring-size \(8\)/,
    ],
    [
      'a flag of another algorithm',
      ['--algorithm', 'ketama', '--backends', 'a', '--table-size', '7'],
      '',
      /--table-size applies only to --algorithm maglev/,
    ],
    [
      'the ring-size cap with another algorithm',
      ['--algorithm', 'maglev', '--backends', 'a', '--ring-size-cap', '8192'],
      '',
      /--ring-size-cap applies only to --algorithm ring_hash/,
    ],
    [
      'a ring-size cap of 0',
      ['--algorithm', 'ring_hash', '--backends', 'a', '--ring-size-cap', '0'],
      '',
      /--ring-size-cap must be an integer in \[1, 8388608\], got '0'/,
    ],
    [
      'a bad key format',
      ['--algorithm', 'ketama', '--backends', 'a', '--key-format', 'hex'],
      '',
      /--key-format must be raw or string, got 'hex'/,
    ],
    [
      'a non-numeric raw key',
      ['--algorithm', 'ketama', '--backends', 'a', '--key-format', 'raw'],
      '1\nabc\n',
      /line 2: raw key 'abc' is not a decimal uint32/,
    ],
    [
      'an out-of-range raw uint32',
      ['--algorithm', 'ketama', '--backends', 'a', '--key-format', 'raw'],
      '4294967296\n',
      /line 1: raw key '4294967296' is not a decimal uint32/,
    ],
    [
      'an out-of-range raw uint64',
      ['--algorithm', 'maglev', '--backends', 'a', '--key-format', 'raw'],
      '18446744073709551616\n',
      /line 1: raw key '18446744073709551616' is not a decimal uint64/,
    ],
  ];
  for (const [what, args, input, message] of failures) {
    it(`exits 2 with a one-line error for ${what}`, async () => {
      const r = await runCli(['route', ...args], input);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^grpc-consistent-hash route: [^\n]+\n$/, 'exactly one line, no stack trace');
    });
  }

  it('writes the lines before a bad raw key', async () => {
    const r = await runCli(
      ['route', '--algorithm', 'ketama', '--backends', 'a', '--key-format', 'raw'],
      '1\nabc\n',
    );
    assert.equal(r.stdout, '1\ta\n');
  });

  it('prints help with exit 0 and a usage error for an unknown command', async () => {
    const help = await runCli(['route', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--key-format raw/);
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });
});
