import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src';
import { ringEndpoints } from '../../src/balancer/ring-members';
import { formatInspection } from '../../src/cli/inspect';
import { parseRouteArgs } from '../../src/cli/route';
import { parseSimulateArgs } from '../../src/cli/simulate';
import { MAX_BARS, MAX_SVG_BYTES, renderDistributionSvg } from '../../src/cli/svg-chart';
import { UsageError } from '../../src/cli/usage-error';
import { createRingBuilder } from '../../src/rings';
import type { DistributionReport } from '../../src/rings/distribution';
import { MAX_TABLE_SIZE } from '../../src/rings/ring-options';
import { checkWellFormedXml, runCli } from '../support/cli-process';
import { endpointOf } from '../support/controlled-resolver';

describe('CLI help, version and number parsing', () => {
  it('--version prints the package version', async () => {
    const { version } = require('../../package.json') as { version: string };
    for (const result of await Promise.all([runCli(['--version']), runCli(['-v'])])) {
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `grpc-consistent-hash ${version}\n`);
    }
  });

  it("help <command> and <command> --help print that command's help", async () => {
    for (const command of ['route', 'simulate', 'inspect']) {
      const [viaHelp, viaFlag] = await Promise.all([runCli(['help', command]), runCli([command, '--help'])]);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.match(viaHelp.stdout, new RegExp(`^usage: grpc-consistent-hash ${command} `));
      assert.equal(viaHelp.stdout, viaFlag.stdout);
    }
    const general = await runCli(['help']);
    assert.match(general.stdout, /commands:[\s\S]*--version/);
    const unknown = await runCli(['help', 'rout']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'rout'/);
  });

  const numbers: [string[], RegExp][] = [
    [
      ['route', '--algorithm', 'ketama', '--backends', 'a,b', '--vnodes', '-3'],
      /--vnodes must be an integer in \[1, 65536\], got '-3', which is negative/,
    ],
    [
      ['route', '--algorithm', 'ketama', '--backends', 'a,b', '--vnodes', '0'],
      /--vnodes must be an integer in \[1, 65536\], got '0'$/,
    ],
    [
      ['route', '--algorithm', 'ketama', '--backends', 'a,b', '--vnodes', '2.5'],
      /--vnodes must be an integer in \[1, 65536\], got '2\.5', which is not a whole number/,
    ],
    [
      ['route', '--algorithm', 'ring_hash', '--backends', 'a,b', '--min-ring-size', '-1'],
      /--min-ring-size must be an integer in \[1, 8388608\], got '-1', which is negative/,
    ],
    [
      ['route', '--algorithm', 'maglev', '--backends', 'a,b', '--table-size', '0'],
      new RegExp(`--table-size must be an integer in \\[1, ${MAX_TABLE_SIZE}\\], got '0'`),
    ],
    [
      ['route', '--algorithm', 'ketama', '--backends', 'a,b', '--weights', '-1,2'],
      /--weights entry 1 must be a finite number > 0, got '-1'/,
    ],
    [
      ['simulate', '--algorithm', 'ketama', '--backends', '3', '--keys', '-5'],
      /--keys must be an integer in \[1, 10000000\], got '-5', which is negative/,
    ],
    [
      ['simulate', '--algorithm', 'ketama', '--backends', '3', '--keys', '1e3x'],
      /--keys must be an integer .*got '1e3x', which is not a number/,
    ],
    [
      ['simulate', '--algorithm', 'ketama', '--backends', '3', '--zipf', '-1.5'],
      /--zipf must be a number in \(0, 10\], got '-1\.5'/,
    ],
  ];
  for (const [args, message] of numbers) {
    it(`${args.slice(-2).join(' ')}: a clear message naming the flag and the range`, () => {
      const parse = args[0] === 'route' ? parseRouteArgs : parseSimulateArgs;
      assert.throws(
        () => parse(args.slice(1)),
        (e: Error) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }

  it('from the command line: one line on stderr, exit 2, never "ambiguous"', async () => {
    const results = await Promise.all(numbers.slice(0, 2).map(([args]) => runCli(args)));
    results.forEach((result, i) => {
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /ambiguous/);
      assert.match(result.stderr.trimEnd(), numbers[i]![1]);
    });
  });
});

describe('route predicts the balancer, clamped weights included', () => {
  it('weights above the maximum are clamped exactly as the balancer clamps them, and route says so', async () => {
    const backends = ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051'];
    const weights = [5000, 2000, 1];
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const result = await runCli(
      ['route', '--algorithm', 'ketama', '--backends', backends.join(','), '--weights', weights.join(',')],
      `${keys.join('\n')}\n`,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /weight 5000 of 10\.0\.0\.1:50051 is above the balancer's maximum 1000; using 1000, as the balancer does/,
    );
    assert.match(result.stderr, /weight 2000 of 10\.0\.0\.2:50051/);
    const routed = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t')[1]);
    // The balancer's ring, from endpoints as a resolver delivers them.
    const members = ringEndpoints(backends.map((b, i) => endpointOf(b, { weight: weights[i]! })));
    const balancer = createRingBuilder('ketama', {}).build(
      members.map((m) => ({ id: m.hashKey, weight: m.weight })),
    );
    const expected = keys.map((k) => balancer.members[balancer.memberAt(balancer.locateKey(k))]!.id);
    assert.deepEqual(routed, expected);
    // Unclamped weights would route differently: the comparison can fail.
    const unclamped = createRingBuilder('ketama', {}).build(
      backends.map((id, i) => ({ id, weight: weights[i]! })),
    );
    assert.ok(
      keys.some((k, i) => unclamped.members[unclamped.memberAt(unclamped.locateKey(k))]!.id !== expected[i]),
    );
  });

  it('inspect shows a clamped weight as clamped', () => {
    const text = formatInspection(
      { target: 'static:///x', keys: [], config: validateConfig({}), timeoutMs: 1000 },
      {
        endpoints: [endpointOf('10.0.0.1:1', { weight: 5000 }), endpointOf('10.0.0.2:1', { weight: 3 })],
        note: '',
      },
    );
    assert.match(text, /10\.0\.0\.1:1 +10\.0\.0\.1:1 +1000 \(clamped from 5000\)/);
    assert.match(text, /10\.0\.0\.2:1 +10\.0\.0\.2:1 +3 /);
  });

  it('simulate says so too', async () => {
    const result = await runCli([
      'simulate',
      '--algorithm',
      'ketama',
      '--backends',
      'a:1,b:1',
      '--weights',
      '1500,1',
      '--keys',
      '1000',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /simulate: weight 1500 of a:1 is above the balancer's maximum 1000; using 1000/,
    );
  });
});

/** A report for `count` backends with ids from `idOf`; shares vary a little so ranks are defined. */
function syntheticReport(count: number, idOf: (i: number) => string): DistributionReport {
  const members = Array.from({ length: count }, (_, i) => {
    const share = (1 + ((i * 7919) % 101) / 1000) / count;
    return {
      id: idOf(i),
      weight: 1,
      requests: Math.round(share * 1e6),
      share,
      idealShare: 1 / count,
      ownedShare: share,
      movedOnLeave: share,
    };
  });
  return {
    algorithm: 'ketama',
    ringSize: count * 64,
    requests: 1e6,
    distinctKeys: 1e6,
    zipf: null,
    boundedLoad: null,
    spillOrder: 'walk',
    inFlight: null,
    offFirstChoice: 0,
    members,
    maxOverMean: 1.1,
    cv: 0.03,
    ownedMaxOverMean: 1.1,
    ownedCv: 0.03,
    leave: {
      measured: count,
      moved: 1 / count,
      ideal: 1 / count,
      ratio: 1,
      spread: 1,
      worstSpread: 1,
      maxOverMean: 1,
      offFirstChoice: 0,
    },
    join: { id: 'joiner', moved: 0.01, ideal: 0.01, ratio: 1 },
  };
}

function textOf(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

describe('the simulate SVG stays readable and bounded', () => {
  it('10 backends: a bar and the whole id under it for each; long ids go to a numbered key, never cut', () => {
    const short = renderDistributionSvg(
      syntheticReport(10, (i) => `10.0.0.${i + 1}:50051`),
      'test',
    );
    checkWellFormedXml(short);
    assert.equal(short.match(/class="share-bar"/g)?.length, 10);
    const labels = [...short.matchAll(/class="label"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.equal(labels.length, 20, 'each id under its bar, in both panels');
    for (let i = 0; i < 10; i++) assert.ok(labels.includes(`10.0.0.${i + 1}:50051`));
    const longId = (i: number) => `payments-backend-${i}.eu-west-1.internal.example.com:50051`;
    const long = renderDistributionSvg(syntheticReport(10, longId), 'test');
    checkWellFormedXml(long);
    const text = textOf(long);
    for (let i = 0; i < 10; i++)
      assert.ok(text.includes(`${i + 1}  ${longId(i)}`), `whole id ${i + 1} in the key`);
    assert.doesNotMatch(long, /…/, 'no id is cut');
  });

  it('100 backends: a bar each, the most and least loaded named in full', () => {
    const report = syntheticReport(100, (i) => `backend-${i}.example.com:50051`);
    const svg = renderDistributionSvg(report, 'test');
    checkWellFormedXml(svg);
    assert.equal(svg.match(/class="share-bar"/g)?.length, 100);
    const most = [...report.members].sort((a, b) => b.share - a.share)[0]!;
    const least = [...report.members].sort((a, b) => a.share - b.share)[0]!;
    const text = textOf(svg).join('\n');
    assert.match(text, new RegExp(`most loaded: ${most.id.replace(/\./g, '\\.')} `));
    assert.match(text, new RegExp(`least loaded: ${least.id.replace(/\./g, '\\.')} `));
    assert.match(text, /moves most when leaving: /);
  });

  it('10,000 backends: aggregated into a bounded number of bars, under the size cap, extremes named', () => {
    const report = syntheticReport(10_000, (i) => `backend-${i}.example.com:50051`);
    const svg = renderDistributionSvg(report, 'test');
    checkWellFormedXml(svg);
    assert.ok(Buffer.byteLength(svg) <= MAX_SVG_BYTES, `${Buffer.byteLength(svg)} bytes`);
    assert.ok(Buffer.byteLength(svg) < 200_000, `${Buffer.byteLength(svg)} bytes`);
    assert.equal(svg.match(/class="share-bar"/g)?.length, MAX_BARS);
    assert.match(svg, /mean of 50 backends \(line: min to max\)/);
    const most = [...report.members].sort((a, b) => b.share - a.share)[0]!;
    assert.ok(textOf(svg).some((t) => t.startsWith(`most loaded: ${most.id} `)));
  });

  it('even absurdly long ids cannot push the file over the cap', () => {
    const svg = renderDistributionSvg(
      syntheticReport(150, (i) => `${'x'.repeat(5000)}-${i}`),
      'test',
    );
    checkWellFormedXml(svg);
    assert.ok(Buffer.byteLength(svg) <= MAX_SVG_BYTES, `${Buffer.byteLength(svg)} bytes`);
    assert.match(svg, /left out to keep the file small/);
  });
});
