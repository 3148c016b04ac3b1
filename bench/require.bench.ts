// Require time: what `require('grpc-consistent-hash')` (then `register()`, and each subpath entry
// point) adds on top of `@grpc/grpc-js`, against grpc-js's own require time and @grpc/grpc-js-xds.
// Each sample is a fresh process; the cases take turns (interleaved). The package is compiled and
// installed as published, so TypeScript transpiling is not measured.
// Run: npm run bench:require
//      npm run bench:require -- --root <other checkout>   (e.g. an older commit, for before/after)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildPackage, REPO_ROOT } from '../test/support/built-package';
import { median, printTable, type Row, writeResults } from './support/table';

const ROUNDS = 21;
/** grpc-js-xds takes ~0.5 s a process; fewer rounds keep the bench short. */
const XDS_ROUNDS = 7;
/** A one-file package whose package.json has `exports`; see the note on the first case below. */
const PROBE = 'exports-probe';

interface Case {
  /** Runs after grpc-js and before the clock starts. */
  setup?: string;
  /** What is timed. */
  timed: string;
  /** The package subpath it needs (skipped when the package does not export it). */
  subpath?: string;
  rounds?: number;
}

const CASES: Record<string, Case> = {
  // Node 20 loads its ESM resolver the first time any package's `exports` is resolved (~1.3 ms
  // here), whichever package that is; every package with `exports` pays it in a bare process.
  [`${PROBE} (any package with exports, first one)`]: { timed: `require('${PROBE}')` },
  'grpc-consistent-hash': { timed: "require('grpc-consistent-hash')" },
  'grpc-consistent-hash + register()': { timed: "require('grpc-consistent-hash').register()" },
  'grpc-consistent-hash + register(), exports resolver loaded': {
    setup: `require('${PROBE}')`,
    timed: "require('grpc-consistent-hash').register()",
  },
  'grpc-consistent-hash/consul': { timed: "require('grpc-consistent-hash/consul')", subpath: './consul' },
  'grpc-consistent-hash/etcd': { timed: "require('grpc-consistent-hash/etcd')", subpath: './etcd' },
  'grpc-consistent-hash/rings': { timed: "require('grpc-consistent-hash/rings')", subpath: './rings' },
  '@grpc/grpc-js-xds': { timed: "require('@grpc/grpc-js-xds')", rounds: XDS_ROUNDS },
};

function sample(cwd: string, c: Case): { grpc: number; timed: number } {
  const script =
    `const h=process.hrtime.bigint;const a=h();require('@grpc/grpc-js');const b=h();${c.setup ?? ''};` +
    `const c=h();${c.timed};const d=h();` +
    'console.log(JSON.stringify({grpc:Number(b-a)/1e6,timed:Number(d-c)/1e6}))';
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' }));
}

function main(): void {
  const { values } = parseArgs({ options: { root: { type: 'string' } } });
  const root = path.resolve(values.root ?? REPO_ROOT);
  const built = buildPackage(false, root);
  try {
    const probeDir = path.join(built.consumerDir, 'node_modules', PROBE);
    mkdirSync(probeDir);
    writeFileSync(
      path.join(probeDir, 'package.json'),
      JSON.stringify({ name: PROBE, exports: './index.js' }),
    );
    writeFileSync(path.join(probeDir, 'index.js'), '');
    const exported = Object.keys(
      JSON.parse(readFileSync(path.join(built.packageDir, 'package.json'), 'utf8')).exports,
    );
    const cases = Object.entries(CASES).filter(
      ([, c]) => c.subpath === undefined || exported.includes(c.subpath),
    );
    const grpcMs: number[] = [];
    const timedMs: Record<string, number[]> = {};
    for (const [name] of cases) timedMs[name] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, c] of cases) {
        if (round >= (c.rounds ?? ROUNDS)) continue;
        const { grpc, timed } = sample(built.consumerDir, c);
        grpcMs.push(grpc);
        timedMs[name]!.push(timed);
      }
    }
    const base = median(grpcMs);
    const rows: Row[] = [
      { module: '@grpc/grpc-js', samples: grpcMs.length, 'require ms': base, 'vs grpc-js': 1 },
    ];
    for (const [name, ms] of Object.entries(timedMs)) {
      rows.push({
        module: `${name} (on top)`,
        samples: ms.length,
        'require ms': median(ms),
        'vs grpc-js': median(ms) / base,
      });
    }
    printTable(`Require time of ${root}, fresh processes, interleaved, medians (ms)`, rows);
    const name = values.root === undefined ? 'require' : 'require-other';
    console.log(`\nwrote ${writeResults(name, { root, require: rows, raw: { grpcMs, timedMs } })}`);
  } finally {
    built.remove();
  }
}

if (require.main === module) main();
