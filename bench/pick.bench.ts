// Pick cost: our consistent_hash picker (header read + hash + ring lookup) against grpc-js's
// round_robin picker and grpc-js-xds's ring_hash picker on an identical ring, all hosted with fake
// READY subchannels and called directly. (The package's require time is bench/require.bench.ts.)
// Run: npm run bench:pick
import * as grpc from '@grpc/grpc-js';
import { register } from '../src';
import { xxh64String } from '../src/rings/xxhash64';
import { benchEndpoints, type HostedPolicy, hostPolicy } from './support/hosted-picker';
import { interleavedMedians, printTable, type Row, uuidLikeKeys, writeResults } from './support/table';

// 10 and 50: the rendezvous targets (vs ketama); 200: around its crossover.
const SIZES = [3, 10, 50, 100, 200, 1000] as const;
const ROUNDS = 9;
const PICKS = 200_000;
const HEADER = 'x-user-id';
/** Repeating keys: a pool that fits the picker's key cache (real keys repeat: users, sessions). */
const REPEATING = 1024;
/** Non-repeating keys: a pool 16× the cache's capacity, cycled, so (almost) every pick misses. */
const DISTINCT = 65_536;
/** Mixed keys: a quarter of the picks (at random) on 256 hot keys, the rest non-repeating. */
const HOT_SHARE = 0.25;
const HOT_KEYS = 256;
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

/** DISTINCT keys: with probability HOT_SHARE one of HOT_KEYS hot keys, else a fresh one (deterministic). */
function mixedKeys(): string[] {
  const hot = uuidLikeKeys(HOT_KEYS).map((k) => Buffer.from(`hot-${k}`).toString());
  const cold = uuidLikeKeys(2 * DISTINCT).slice(DISTINCT);
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  return cold.map((key) => (random() < HOT_SHARE ? hot[Math.floor(random() * HOT_KEYS)]! : key));
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

async function main(): Promise<void> {
  register();
  require('@grpc/grpc-js-xds').register(); // registers xDS's ring_hash (on unless GRPC_XDS_EXPERIMENTAL_ENABLE_RING_HASH=false)
  const repeating = pickArgsFor(uuidLikeKeys(REPEATING));
  const distinct = pickArgsFor(uuidLikeKeys(DISTINCT));
  const mixed = pickArgsFor(mixedKeys());
  const rows: Row[] = [];
  const rendezvousRows: Row[] = [];
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
      // One policy (so one key cache) per key stream: a stream of fresh keys must not leave the
      // cache of the repeating-keys case cleared or sampling.
      ketama: await ours('ketama'),
      ketamaCold: await ours('ketama'),
      ketamaMixed: await ours('ketama'),
      ringHash: await ours('ring_hash'),
      ringHashCold: await ours('ring_hash'),
      ringHashMixed: await ours('ring_hash'),
      maglev: await ours('maglev'),
      maglevCold: await ours('maglev'),
      rendezvous: await ours('rendezvous'),
      rendezvousCold: await ours('rendezvous'),
      ketamaBounded: await ours('ketama', { boundedLoad: 1.25 }),
    };
    const cases: Record<string, () => number> = {
      'grpc-js round_robin': pickLoop(policies.roundRobin, repeating),
      'grpc-js-xds ring_hash (hash given)': pickLoop(policies.xdsRingHash, distinct),
      'ours ketama, repeating keys': pickLoop(policies.ketama, repeating),
      'ours ketama, non-repeating keys': pickLoop(policies.ketamaCold, distinct),
      'ours ring_hash, repeating keys': pickLoop(policies.ringHash, repeating),
      'ours ring_hash, non-repeating keys': pickLoop(policies.ringHashCold, distinct),
      'ours maglev, repeating keys': pickLoop(policies.maglev, repeating),
      'ours maglev, non-repeating keys': pickLoop(policies.maglevCold, distinct),
      'ours rendezvous, repeating keys': pickLoop(policies.rendezvous, repeating),
      'ours rendezvous, non-repeating keys': pickLoop(policies.rendezvousCold, distinct),
      'ours ketama, 25 % hot keys': pickLoop(policies.ketamaMixed, mixed),
      'ours ring_hash, 25 % hot keys': pickLoop(policies.ringHashMixed, mixed),
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
    const ns = (name: string) => medians[name]!;
    rendezvousRows.push({
      N: n,
      'repeating: rendezvous / ketama':
        ns('ours rendezvous, repeating keys') / ns('ours ketama, repeating keys'),
      'non-repeating: rendezvous / ketama':
        ns('ours rendezvous, non-repeating keys') / ns('ours ketama, non-repeating keys'),
      'non-repeating: rendezvous / xds ring_hash': ns('ours rendezvous, non-repeating keys') / xds,
    });
    for (const policy of Object.values(policies)) policy.destroy();
  }
  printTable(`Pick cost, median of ${ROUNDS} interleaved rounds of ${PICKS} picks`, rows);
  // Targets: repeating within 1.2× of ketama; non-repeating ≤ 1.5× at N = 10 and ≤ 2.5× at N = 50.
  // Crossover: where an uncached rendezvous pick costs more than grpc-js-xds's ring_hash pick.
  printTable('Rendezvous against ketama and grpc-js-xds ring_hash (same run)', rendezvousRows);
  if (sink === -1) console.log(sink);
  console.log(`\nwrote ${writeResults('pick', { pick: rows, rendezvous: rendezvousRows, raw })}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
