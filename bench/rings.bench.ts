// Ring build time, incremental rebuild time (one member replaced, through the warm builder) and
// lookup cost (including hashing a 36-character key) for N = 10, 100, 1000, 10000 members of each
// algorithm. Run: npm run bench:rings
import { createRingBuilder, type HashRing, type RingAlgorithm, type RingMember } from '../src/rings';
import { measureHashes } from './hash.bench';
import {
  interleavedMedians,
  median,
  printTable,
  type Row,
  uuidLikeKeys,
  writeResults,
} from './support/table';

const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev'];
const SIZES = [10, 100, 1000, 10000] as const;
const ROUNDS = 9;
const KEYS = uuidLikeKeys(4096);
const MASK = KEYS.length - 1;
const LOOKUPS = 200_000;

function members(n: number, salt = ''): RingMember[] {
  return Array.from({ length: n }, (_, i) => ({ id: `10.${(i >> 8) & 255}.${i & 255}.${salt}1:50051` }));
}

function timeMs(f: () => void): number {
  const start = performance.now();
  f();
  return performance.now() - start;
}

/** Median ms of a fresh build, and of a rebuild after replacing one member (builder warm). */
function buildTimes(algorithm: RingAlgorithm, n: number): { build: number; incremental: number } {
  const base = members(n);
  const full: number[] = [];
  const incremental: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const builder = createRingBuilder(algorithm);
    full.push(timeMs(() => builder.build(base)));
    const changed = base.slice();
    changed[n >> 1] = { id: `10.99.${r}.1:50051` };
    incremental.push(timeMs(() => builder.build(changed)));
  }
  return { build: median(full), incremental: median(incremental) };
}

function lookupCase(ring: HashRing, withHash: boolean): () => number {
  const hashes = new Uint32Array(KEYS.length * 2);
  for (let i = 0; i < KEYS.length; i++) {
    hashes[2 * i] = Math.imul(i + 3, 2654435761) >>> 0;
    hashes[2 * i + 1] = Math.imul(i + 5, 40503) >>> 0;
  }
  let sink = 0;
  const run = withHash
    ? () => {
        for (let i = 0; i < LOOKUPS; i++) sink += ring.memberAt(ring.locateKey(KEYS[i & MASK]!));
      }
    : () => {
        for (let i = 0; i < LOOKUPS; i++) {
          const j = (i & MASK) << 1;
          sink += ring.memberAt(ring.locate(hashes[j]!, hashes[j + 1]!));
        }
      };
  run();
  return () => {
    const start = process.hrtime.bigint();
    run();
    if (sink === -1) console.log(sink);
    return Number(process.hrtime.bigint() - start) / LOOKUPS;
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows: Row[] = [];
  const lookupCases: Record<string, () => number> = {};
  for (const algorithm of ALGORITHMS) {
    for (const n of SIZES) {
      const ring = createRingBuilder(algorithm).build(members(n));
      lookupCases[`${algorithm}/${n}/hash`] = lookupCase(ring, true);
      lookupCases[`${algorithm}/${n}/search`] = lookupCase(ring, false);
      const { build, incremental } = buildTimes(algorithm, n);
      rows.push({
        algorithm,
        members: n,
        positions: ring.size,
        'build ms': build,
        '1-member update ms': incremental,
      });
    }
  }
  const lookups = interleavedMedians(lookupCases, ROUNDS);
  for (const row of rows) {
    row['lookup ns (incl. hash)'] = Math.round(lookups[`${row.algorithm}/${row.members}/hash`]!);
    row['lookup ns (hash given)'] = Math.round(lookups[`${row.algorithm}/${row.members}/search`]!);
  }
  printTable('Rings: median of interleaved rounds (36-char keys; ketama hashes CRC-32, others XXH64)', rows);
  const hashing = await measureHashes();
  printTable('Hashing a 36-character key', hashing);
  const at = (algorithm: RingAlgorithm, n: number) =>
    rows.find((r) => r.algorithm === algorithm && r.members === n)!;
  const ms = (row: Row, column: string) => (row[column] as number).toFixed(2);
  const worstLookup = Math.max(...rows.map((r) => r['lookup ns (incl. hash)'] as number));
  const targets = {
    'ketama 1000 build ms (< 10)': Number(ms(at('ketama', 1000), 'build ms')),
    'ring_hash 1000 build ms (< 10)': Number(ms(at('ring_hash', 1000), 'build ms')),
    'ketama 1000 1-member update ms (< 2)': Number(ms(at('ketama', 1000), '1-member update ms')),
    'worst lookup ns incl. hash (< 300)': worstLookup,
  };
  console.log(
    `\ntargets: 1000-member build: ketama ${ms(at('ketama', 1000), 'build ms')} ms, ` +
      `ring_hash ${ms(at('ring_hash', 1000), 'build ms')} ms (each < 10); ` +
      `ketama 1-member update ${ms(at('ketama', 1000), '1-member update ms')} ms (< 2); ` +
      `worst lookup incl. hash ${worstLookup} ns (< 300)`,
  );
  console.log(
    `wrote ${writeResults('rings', { rings: rows, targets, hashing })} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

main();
