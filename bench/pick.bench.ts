// Pick cost: our consistent_hash picker (header read + hash + ring lookup) against grpc-js's
// round_robin picker and grpc-js-xds's ring_hash picker on an identical ring, all hosted with fake
// READY subchannels and called directly; plus the require time of the package.
// Run: npm run bench:pick
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { register } from '../src';
import { xxh64String } from '../src/rings/xxhash64';
import { benchEndpoints, type HostedPolicy, hostPolicy } from './support/hosted-picker';
import {
  interleavedMedians,
  median,
  printTable,
  type Row,
  uuidLikeKeys,
  writeResults,
} from './support/table';

const SIZES = [3, 100, 1000] as const;
const ROUNDS = 9;
const PICKS = 200_000;
const HEADER = 'x-user-id';
/** Repeating keys: a pool that fits the picker's key cache (real keys repeat: users, sessions). */
const REPEATING = 1024;
/** Non-repeating keys: a pool 16× the cache's capacity, cycled, so (almost) every pick misses. */
const DISTINCT = 65_536;
// Same ring for ours and xDS's ring_hash: defaults min 1024, max 4096 entries.
const RING_SIZE = { minRingSize: 1024, maxRingSize: 4096 };

type PickArgs = grpc.experimental.PickArgs;

/** Pick arguments carrying the key both ways: in the header (ours) and as xDS's precomputed hash. */
function pickArgsFor(keys: readonly string[]): PickArgs[] {
  const halves = new Uint32Array(2);
  return keys.map((key) => {
    const metadata = new grpc.Metadata();
    metadata.set(HEADER, key);
    xxh64String(key, 0, halves);
    const hash = ((BigInt(halves[0]!) << 32n) | BigInt(halves[1]!)).toString();
    return { metadata, extraPickInfo: { hash } };
  });
}

let sink = 0;

/** ns per pick of `picker` over `args`, cycling. With `hooks`, also runs the call-started/ended hooks. */
function pickLoop(policy: HostedPolicy, args: readonly PickArgs[], hooks = false): () => number {
  const mask = args.length - 1;
  const ok = grpc.status.OK;
  const trailers = new grpc.Metadata();
  const run = (count: number) => {
    const picker = policy.picker;
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const result = picker.pick(args[i & mask]!);
      if (hooks) {
        result.onCallStarted?.();
        result.onCallEnded?.(ok, '', trailers);
      }
      sink += result.pickResultType;
    }
    return Number(process.hrtime.bigint() - start) / count;
  };
  run(50_000);
  return () => run(PICKS);
}

/** Require time in fresh child processes: grpc-js alone, then ours or grpc-js-xds on top. */
function requireTimes(rounds = 7): Row[] {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'gch-require-'));
  try {
    // Compile the package as published (dist/src), so that TypeScript transpiling is not measured.
    execFileSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        path.join(__dirname, '..', 'tsconfig.build.json'),
        '--outDir',
        outDir,
        '--declaration',
        'false',
        '--sourceMap',
        'false',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    // tsc exits non-zero on type errors elsewhere in the tree but still emits.
  }
  const ours = path.join(outDir, 'src', 'index.js');
  const script = (extra: string) =>
    `const h=process.hrtime.bigint;const a=h();require('@grpc/grpc-js');const b=h();require(${JSON.stringify(extra)});const c=h();` +
    `console.log(JSON.stringify({grpc:Number(b-a)/1e6,extra:Number(c-b)/1e6}))`;
  const env = { ...process.env, NODE_PATH: path.join(__dirname, '..', 'node_modules') };
  const run = (extra: string) =>
    JSON.parse(execFileSync(process.execPath, ['-e', script(extra)], { env, encoding: 'utf8' })) as {
      grpc: number;
      extra: number;
    };
  const grpcMs: number[] = [];
  const oursMs: number[] = [];
  const xdsMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = run(ours);
    const b = run('@grpc/grpc-js-xds');
    grpcMs.push(a.grpc, b.grpc);
    oursMs.push(a.extra);
    xdsMs.push(b.extra);
  }
  rmSync(outDir, { recursive: true, force: true });
  const base = median(grpcMs);
  return [
    { module: '@grpc/grpc-js', 'require ms': base, 'vs grpc-js': 1 },
    {
      module: 'grpc-consistent-hash (on top)',
      'require ms': median(oursMs),
      'vs grpc-js': median(oursMs) / base,
    },
    { module: '@grpc/grpc-js-xds (on top)', 'require ms': median(xdsMs), 'vs grpc-js': median(xdsMs) / base },
  ];
}

async function main(): Promise<void> {
  register();
  require('@grpc/grpc-js-xds').register(); // registers xDS's ring_hash (on unless GRPC_XDS_EXPERIMENTAL_ENABLE_RING_HASH=false)
  const repeating = pickArgsFor(uuidLikeKeys(REPEATING));
  const distinct = pickArgsFor(uuidLikeKeys(DISTINCT));
  const rows: Row[] = [];
  const raw: Record<string, Record<string, number>> = {};
  for (const n of SIZES) {
    const endpoints = benchEndpoints(n);
    const ours = (algorithm: string, extra: object = {}) =>
      hostPolicy(
        { consistent_hash: { algorithm, hashHeader: HEADER, connect: 'eager', ...RING_SIZE, ...extra } },
        endpoints,
        repeating,
      );
    const policies = {
      roundRobin: await hostPolicy({ round_robin: {} }, endpoints, repeating),
      xdsRingHash: await hostPolicy(
        { ring_hash: { min_ring_size: RING_SIZE.minRingSize, max_ring_size: RING_SIZE.maxRingSize } },
        endpoints,
        distinct,
      ),
      ketama: await ours('ketama'),
      ringHash: await ours('ring_hash'),
      maglev: await ours('maglev'),
      ketamaBounded: await ours('ketama', { boundedLoad: 1.25 }),
    };
    const cases: Record<string, () => number> = {
      'grpc-js round_robin': pickLoop(policies.roundRobin, repeating),
      'grpc-js-xds ring_hash (hash given)': pickLoop(policies.xdsRingHash, distinct),
      'ours ketama, repeating keys': pickLoop(policies.ketama, repeating),
      'ours ketama, non-repeating keys': pickLoop(policies.ketama, distinct),
      'ours ring_hash, repeating keys': pickLoop(policies.ringHash, repeating),
      'ours ring_hash, non-repeating keys': pickLoop(policies.ringHash, distinct),
      'ours maglev, repeating keys': pickLoop(policies.maglev, repeating),
      'ours maglev, non-repeating keys': pickLoop(policies.maglev, distinct),
      'ours ketama + boundedLoad 1.25 (with call hooks), repeating': pickLoop(
        policies.ketamaBounded,
        repeating,
        true,
      ),
    };
    const medians = interleavedMedians(cases, ROUNDS);
    raw[`N=${n}`] = medians;
    const xds = medians['grpc-js-xds ring_hash (hash given)']!;
    const rr = medians['grpc-js round_robin']!;
    for (const [name, ns] of Object.entries(medians)) {
      rows.push({
        N: n,
        picker: name,
        'ns/pick': Math.round(ns * 10) / 10,
        'xds ring_hash / this': xds / ns,
        'this / round_robin': ns / rr,
      });
    }
    for (const policy of Object.values(policies)) policy.destroy();
  }
  printTable(`Pick cost, median of ${ROUNDS} interleaved rounds of ${PICKS} picks`, rows);
  const requireRows = requireTimes();
  printTable('Require time in a fresh process, median of 7 (ms)', requireRows);
  if (sink === -1) console.log(sink);
  console.log(`\nwrote ${writeResults('pick', { pick: rows, require: requireRows, raw })}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
