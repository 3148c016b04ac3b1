import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { createProgress } from '../../src/cli/simulate';
import { type CliResult, checkWellFormedXml, runCli } from '../support/cli-process';

interface SimulateRow {
  backend: string;
  weight: number;
  requests: number;
  share: number;
  ideal: number;
  owned: number;
  moved: number | null;
}

interface SimulateOutput {
  rows: SimulateRow[];
  maxOverMean: number;
  cv: number;
  ownedMaxOverMean: number;
  leaveRatio: number;
  joinMoved: number;
  joinIdeal: number;
}

const fraction = (text: string) => Number(text.replace('%', '')) / 100;

/** Parses `simulate`'s table and summary. */
function parseSimulate(result: CliResult): SimulateOutput {
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('backend '));
  assert.ok(header > 0, `table header in:\n${result.stdout}`);
  const rows: SimulateRow[] = [];
  for (let i = header + 2; i < lines.length && lines[i] !== ''; i++) {
    const c = lines[i]!.trim().split(/\s{2,}/);
    assert.equal(c.length, 9, `row ${lines[i]}`);
    rows.push({
      backend: c[0]!,
      weight: Number(c[1]),
      requests: Number(c[2]),
      share: fraction(c[3]!),
      ideal: fraction(c[4]!),
      owned: fraction(c[6]!),
      moved: c[7] === '-' ? null : fraction(c[7]!),
    });
  }
  const figure = (label: string, re: RegExp) => {
    const line = lines.find((l) => l.startsWith(label));
    assert.ok(line, `summary line ${label}`);
    const m = re.exec(line);
    assert.ok(m, `${label}: ${line}`);
    return m.slice(1).map(Number);
  };
  const [maxOverMean] = figure('load max/mean', /([0-9.]+)/);
  const [cv] = figure('load CV', /([0-9.]+)/);
  const [ownedMaxOverMean] = figure('ring owned', /([0-9.]+), /);
  const [leaveRatio] = figure('moved on leave', /\(([0-9.]+)x\)/);
  const [joinMoved, joinIdeal] = figure('moved on join', /([0-9.]+)% of requests vs ideal ([0-9.]+)%/);
  return {
    rows,
    maxOverMean: maxOverMean!,
    cv: cv!,
    ownedMaxOverMean: ownedMaxOverMean!,
    leaveRatio: leaveRatio!,
    joinMoved: joinMoved! / 100,
    joinIdeal: joinIdeal! / 100,
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'simulate-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('simulate command', () => {
  it('prints a consistent table for ketama: shares sum to 1, ideal 1/N, moves about 1/N', async () => {
    const result = await runCli(['simulate', '--algorithm', 'ketama', '--backends', '10', '--keys', '50000']);
    // Progress lines only (a loaded machine may take over a second); nothing else on stderr.
    assert.match(result.stderr, /^(simulate: [^\n]*\n)*$/, 'stderr holds progress lines only');
    const out = parseSimulate(result);
    assert.equal(out.rows.length, 10);
    assert.equal(out.rows[0]!.backend, '10.0.0.1:50051');
    assert.equal(sum(out.rows.map((r) => r.requests)), 50000);
    assert.ok(Math.abs(sum(out.rows.map((r) => r.share)) - 1) < 0.001);
    assert.ok(Math.abs(sum(out.rows.map((r) => r.owned)) - 1) < 0.001);
    for (const r of out.rows) {
      assert.equal(r.ideal, 0.1);
      // ketama moves exactly the leaving member's keys.
      assert.equal(r.moved, r.share);
    }
    assert.ok(out.maxOverMean > 1 && out.maxOverMean < 1.6, `max/mean ${out.maxOverMean}`);
    assert.ok(out.cv > 0 && out.cv < 0.3, `cv ${out.cv}`);
    assert.ok(out.leaveRatio >= 0.95 && out.leaveRatio <= 1.05, `leave ratio ${out.leaveRatio}`);
    assert.ok(Math.abs(out.joinIdeal - 1 / 11) < 0.0001);
    assert.ok(out.joinMoved > 0.5 / 11 && out.joinMoved < 2 / 11, `join moved ${out.joinMoved}`);
  });

  it('shows maglev balanced: max/mean about 1', async () => {
    const out = parseSimulate(
      await runCli([
        'simulate',
        '--algorithm',
        'maglev',
        '--backends',
        '10',
        '--keys',
        '100000',
        '--table-size',
        '65537',
      ]),
    );
    assert.ok(out.ownedMaxOverMean <= 1.001, `owned ${out.ownedMaxOverMean}`);
    assert.ok(out.maxOverMean < 1.05, `max/mean ${out.maxOverMean}`);
    assert.ok(out.leaveRatio >= 0.95 && out.leaveRatio < 1.5, `leave ratio ${out.leaveRatio}`);
  });

  it('caps max/mean near c with bounded load under Zipf keys', async () => {
    const base = [
      'simulate',
      '--algorithm',
      'ring_hash',
      '--backends',
      '10',
      '--keys',
      '20000',
      '--zipf',
      '1.1',
    ];
    const [plain, bounded] = await Promise.all([runCli(base), runCli([...base, '--bounded-load', '1.25'])]);
    const p = parseSimulate(plain);
    const b = parseSimulate(bounded);
    assert.ok(p.maxOverMean > 1.6, `unbounded Zipf max/mean ${p.maxOverMean}`);
    assert.ok(b.maxOverMean <= 1.25 + 10 / 20000 + 0.001, `bounded max/mean ${b.maxOverMean}`);
    assert.match(bounded.stdout, /bounded load c = 1\.25/);
    assert.equal(sum(b.rows.map((r) => r.requests)), 20000);
  });

  it('honours weights and explicit backends', async () => {
    const out = parseSimulate(
      await runCli([
        'simulate',
        '--algorithm',
        'maglev',
        '--backends',
        'a:1,b:1,c:1',
        '--weights',
        '1,2,1',
        '--keys',
        '40000',
      ]),
    );
    assert.deepEqual(
      out.rows.map((r) => [r.backend, r.weight, r.ideal]),
      [
        ['a:1', 1, 0.25],
        ['b:1', 2, 0.5],
        ['c:1', 1, 0.25],
      ],
    );
    for (const r of out.rows) assert.ok(Math.abs(r.owned - r.ideal) < 0.01, `${r.backend} owns ${r.owned}`);
  });

  it('is deterministic for a seed and changes with it', async () => {
    const args = ['simulate', '--algorithm', 'ketama', '--backends', '5', '--keys', '5000', '--zipf', '1.1'];
    const [a, b, c] = await Promise.all([
      runCli([...args, '--seed', '42']),
      runCli([...args, '--seed', '42']),
      runCli([...args, '--seed', '43']),
    ]);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
  });

  it('rendezvous: balanced, ideal moves, an even spread of a leaver, and a well-formed SVG', async () => {
    const file = path.join(tmp, 'rendezvous.svg');
    const result = await runCli([
      'simulate',
      '--algorithm',
      'rendezvous',
      '--backends',
      '8',
      '--weights',
      '1,1,1,1,3,1,1,1',
      '--keys',
      '40000',
      '--svg',
      file,
    ]);
    const out = parseSimulate(result);
    assert.match(result.stdout, /rendezvous, 8 backends, ring of 8 members/);
    assert.ok(out.maxOverMean < 1.05, `max/mean ${out.maxOverMean}`);
    assert.ok(Math.abs(out.leaveRatio - 1) < 0.005, `leave ratio ${out.leaveRatio}`);
    const heavy = out.rows[4]!;
    assert.ok(
      Math.abs(heavy.owned - 0.3) < 1e-9 && Math.abs(heavy.share / 0.3 - 1) < 0.03,
      `weight 3: ${heavy.share}`,
    );
    const spread = /leaver's spread\s+([0-9.]+) mean, ([0-9.]+) worst/.exec(result.stdout);
    assert.ok(spread, result.stdout);
    assert.ok(Number(spread[2]) < 1.15, `worst spread ${spread[2]}`);
    const svg = readFileSync(file, 'utf8');
    assert.equal(checkWellFormedXml(svg)[0], 'svg');
    assert.match(svg, /expected shares exactly w\/W \(rendezvous\)/);
    assert.match(svg, /spread [0-9.]+× fair share at worst/);
  });

  it('bounded load: prints the share off first choice for either spill order, and calls in flight', async () => {
    const base = [
      'simulate',
      '--algorithm',
      'ketama',
      '--backends',
      '10',
      '--keys',
      '20000',
      '--zipf',
      '1.1',
    ];
    const [walk, seeded] = await Promise.all([
      runCli([...base, '--bounded-load', '1.25', '--in-flight', '200']),
      runCli([...base, '--bounded-load', '1.25', '--in-flight', '200', '--spill', 'seeded']),
    ]);
    for (const [result, order] of [
      [walk, 'walk'],
      [seeded, 'seeded'],
    ] as const) {
      parseSimulate(result);
      assert.match(
        result.stdout,
        new RegExp(`bounded load c = 1\\.25, ${order} spill, 200 requests in flight`),
      );
      const off = /off first choice\s+([0-9.]+)% of requests/.exec(result.stdout);
      assert.ok(off && Number(off[1]) > 1, result.stdout);
      assert.match(result.stdout, /after a leave\s+load max\/mean [0-9.]+, off first choice [0-9.]+%/);
    }
    assert.notEqual(walk.stdout, seeded.stdout);
  });

  it('writes a well-formed SVG with one bar per backend in each panel', async () => {
    const file = path.join(tmp, 'chart.svg');
    const result = await runCli([
      'simulate',
      '--algorithm',
      'ring_hash',
      '--backends',
      '10.0.0.1:1,10.0.0.2:1,10.0.0.3:1,<odd&name>:1',
      '--keys',
      '5000',
      '--svg',
      file,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /wrote .*chart\.svg/);
    const svg = readFileSync(file, 'utf8');
    const elements = checkWellFormedXml(svg);
    assert.equal(elements[0], 'svg');
    assert.equal(svg.match(/class="share-bar"/g)?.length, 4);
    assert.equal(svg.match(/class="moved-bar"/g)?.length, 4);
    assert.ok((svg.match(/class="ideal"/g)?.length ?? 0) >= 2, 'ideal marks in both panels');
    assert.match(svg, /<title>Key distribution: ring_hash/);
    assert.match(svg, /&#60;odd&#38;name&#62;:1/, 'ids are escaped');
    assert.match(svg, /Share of requests per backend/);
    assert.match(svg, /Requests moved when each backend leaves/);
  });

  it('draws thin bars without labels for many backends', async () => {
    const file = path.join(tmp, 'many.svg');
    const result = await runCli([
      'simulate',
      '--algorithm',
      'ketama',
      '--backends',
      '120',
      '--keys',
      '5000',
      '--svg',
      file,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const svg = readFileSync(file, 'utf8');
    checkWellFormedXml(svg);
    assert.equal(svg.match(/class="share-bar"/g)?.length, 120);
    assert.equal(svg.match(/class="label"/g), null);
  });

  it('writes progress to stderr only when the run takes over a second', async () => {
    const result = await runCli([
      'simulate',
      '--algorithm',
      'maglev',
      '--backends',
      '400',
      '--keys',
      '2000',
      '--leaving',
      'all',
    ]);
    assert.equal(result.code, 0, result.stderr);
    if (result.ms > 2500) assert.match(result.stderr, /simulate: \d+\/402 ring builds/);
    assert.equal(parseSimulate(result).rows.filter((r) => r.moved !== null).length, 400);
  });

  it('progress: silent before the delay, a line per update after it on a pipe', () => {
    const written: string[] = [];
    const stream = {
      isTTY: false,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const quiet = createProgress(stream, 'simulate', 60_000);
    quiet.update(1, 10);
    quiet.finish();
    assert.deepEqual(written, []);
    const loud = createProgress(stream, 'simulate', 0);
    loud.update(3, 10);
    loud.update(4, 10); // throttled: at most one line a second on a pipe
    loud.finish();
    assert.deepEqual(written, ['simulate: 3/10 ring builds (30%)\n']);
  });

  it('measures a sample of leaving backends when asked', async () => {
    const out = parseSimulate(
      await runCli([
        'simulate',
        '--algorithm',
        'ketama',
        '--backends',
        '20',
        '--keys',
        '2000',
        '--leaving',
        '4',
      ]),
    );
    assert.equal(out.rows.filter((r) => r.moved !== null).length, 4);
  });

  it('prints help', async () => {
    const result = await runCli(['simulate', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: grpc-consistent-hash simulate/);
    assert.match(result.stdout, /--bounded-load/);
    const top = await runCli(['--help']);
    assert.match(top.stdout, /simulate/);
    assert.match(top.stdout, /inspect/);
  });

  for (const [args, message] of [
    [['--backends', '3'], /--algorithm is required/],
    [['--algorithm', 'jump_hash', '--backends', '3'], /--algorithm must be one of/],
    [['--algorithm', 'ketama'], /--backends is required/],
    [['--algorithm', 'ketama', '--backends', '0'], /--backends must be an integer in \[1, 100000\], got '0'/],
    [['--algorithm', 'ketama', '--backends', 'a:1,a:1'], /lists 'a:1' twice/],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--bounded-load', '0.5'],
      /--bounded-load must be a finite number >= 1, got '0.5'/,
    ],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--zipf=-1'],
      /--zipf must be a number in \(0, 10\], got '-1'/,
    ],
    [['--algorithm', 'ketama', '--backends', '3', '--keys', 'many'], /--keys must be an integer/],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--table-size', '7'],
      /--table-size applies only to --algorithm maglev/,
    ],
    [['--algorithm', 'maglev', '--backends', '3', '--table-size', '100'], /--table-size must be a prime/],
    [['--algorithm', 'ketama', '--backends', 'a:1,b:1', '--weights', '1'], /--weights has 1 entries/],
    [['--algorithm', 'ketama', '--backends', '3', '--frobnicate'], /Unknown option '--frobnicate'/],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--bounded-load', '1.25', '--spill', 'random'],
      /--spill must be one of walk, seeded, got 'random'/,
    ],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--spill', 'seeded'],
      /--spill applies only with --bounded-load/,
    ],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--in-flight', '10'],
      /--in-flight applies only with --bounded-load/,
    ],
    [
      ['--algorithm', 'ketama', '--backends', '3', '--bounded-load', '2', '--in-flight', '0'],
      /--in-flight must be an integer in \[1, /,
    ],
    [
      ['--algorithm', 'rendezvous', '--backends', '3', '--vnodes', '8'],
      /--vnodes applies only to --algorithm ketama/,
    ],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line and exit 2`, async () => {
      const result = await runCli(['simulate', ...args]);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^grpc-consistent-hash simulate: /);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    });
  }
});
