// Key distribution quality of each ring: max/mean load, coefficient of variation, and the keys
// (requests) that move when one endpoint is removed or added, against the ideal 1/N; uniform and
// Zipf(1.1) keys; with and without bounded load (c = 1.25). The same code as
// `grpc-consistent-hash simulate`. Run: npm run bench:distribution
import {
  createPrng,
  type DistributionReport,
  generateKeys,
  type KeySample,
  simulateDistribution,
  syntheticMembers,
} from '../src/rings/distribution';
import type { RingAlgorithm, RingMember } from '../src/rings/types';
import { printTable, type Row, writeResults } from './support/table';

const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev'];
const SIZES = [3, 10, 50, 200] as const;
const REQUESTS = 100_000;
const ZIPF = 1.1;
const BOUNDED_LOAD = 1.25;
/** Members removed one at a time per case (spread evenly); all of them up to this N. */
const LEAVING = 50;
const SEED = 1;
/** For the comparison with the typical figures (docs/rings.md): random address sets per (algorithm, N). */
const ADDRESS_SETS = 20;
const SET_REQUESTS = 20_000;
const SET_LEAVING = 10;

const ratio = (x: number) => Number(x.toFixed(2));
const round3 = (x: number) => Number(x.toFixed(3));

/** `count` distinct random IPv4 host:port addresses. */
function randomMembers(count: number, seed: number): RingMember[] {
  const random = createPrng(seed);
  const ids = new Set<string>();
  while (ids.size < count) {
    const octet = () => Math.floor(random() * 256);
    ids.add(
      `${10 + Math.floor(random() * 200)}.${octet()}.${octet()}.${1 + Math.floor(random() * 254)}:${1024 + Math.floor(random() * 60000)}`,
    );
  }
  return [...ids].map((id) => ({ id }));
}

function caseRow(report: DistributionReport, keys: string, bounded: string, ms: number): Row {
  return {
    algorithm: report.algorithm,
    N: report.members.length,
    keys,
    'bounded load': bounded,
    'ring max/mean': round3(report.ownedMaxOverMean),
    'ring CV': round3(report.ownedCv),
    'load max/mean': round3(report.maxOverMean),
    'load CV': round3(report.cv),
    'moved on remove': `${(report.leave.moved * 100).toFixed(2)}%`,
    'remove ×ideal': ratio(report.leave.ratio),
    'moved on add': `${(report.join.moved * 100).toFixed(2)}%`,
    'add ×ideal': ratio(report.join.ratio),
    ms: Math.round(ms),
  };
}

/** Typical figures measured over random address sets (docs/rings.md), for the comparison. */
const TYPICAL: Record<RingAlgorithm, { 10: string; 50: string; moved: string }> = {
  ketama: { 10: '0.11, 1.20', 50: '0.12, 1.30', moved: '1.0×' },
  ring_hash: { 10: '0.09, 1.16', 50: '0.21, 1.55', moved: '1.25–1.7×' },
  maglev: { 10: '≈0, 1.00', 50: '≈0, 1.00', moved: '1.0–1.23×' },
};

function main(): void {
  const started = performance.now();
  const samples: Record<string, KeySample> = {
    uniform: generateKeys({ count: REQUESTS, seed: SEED }),
    [`zipf ${ZIPF}`]: generateKeys({ count: REQUESTS, zipf: ZIPF, seed: SEED }),
  };
  const rows: Row[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const n of SIZES) {
      const members = syntheticMembers(n);
      for (const [keysName, keys] of Object.entries(samples)) {
        for (const boundedLoad of [null, BOUNDED_LOAD]) {
          const t = performance.now();
          const report = simulateDistribution({ algorithm, members, keys, boundedLoad, leaving: LEAVING });
          rows.push(
            caseRow(
              report,
              keysName,
              boundedLoad === null ? 'off' : `c = ${boundedLoad}`,
              performance.now() - t,
            ),
          );
        }
      }
    }
  }
  printTable(
    `Distribution: ${REQUESTS} requests, synthetic members 10.0.x.y:50051, seed ${SEED}; ` +
      `"ring" = exact hash-space ownership, "load" = requests served; moves averaged over up to ${LEAVING} removals`,
    rows,
  );

  // Averages over random address sets, as the typical figures were measured (uniform keys, no bounded load).
  const designRows: Row[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const n of SIZES) {
      let cv = 0;
      let maxOverMean = 0;
      let removeRatio = 0;
      let addRatio = 0;
      for (let s = 0; s < ADDRESS_SETS; s++) {
        const report = simulateDistribution({
          algorithm,
          members: randomMembers(n, 1000 * n + s),
          keys: generateKeys({ count: SET_REQUESTS, seed: s + 1 }),
          leaving: SET_LEAVING,
        });
        cv += report.ownedCv / ADDRESS_SETS;
        maxOverMean += report.ownedMaxOverMean / ADDRESS_SETS;
        removeRatio += report.leave.ratio / ADDRESS_SETS;
        addRatio += report.join.ratio / ADDRESS_SETS;
      }
      const typical = TYPICAL[algorithm];
      designRows.push({
        algorithm,
        N: n,
        'ring CV': round3(cv),
        'ring max/mean': round3(maxOverMean),
        'remove ×ideal': ratio(removeRatio),
        'add ×ideal': ratio(addRatio),
        'typical CV, max/mean': n === 10 || n === 50 ? typical[n] : '-',
        'typical remove': typical.moved,
      });
    }
  }
  printTable(
    `Against the typical figures: means over ${ADDRESS_SETS} random address sets (exact ownership; moves from ` +
      `${SET_REQUESTS} uniform keys, ${SET_LEAVING} removals per set)`,
    designRows,
  );
  const file = writeResults('distribution', {
    settings: {
      requests: REQUESTS,
      zipf: ZIPF,
      boundedLoad: BOUNDED_LOAD,
      leaving: LEAVING,
      seed: SEED,
      addressSets: ADDRESS_SETS,
      setRequests: SET_REQUESTS,
      setLeaving: SET_LEAVING,
    },
    cases: rows,
    randomAddressSets: designRows,
  });
  console.log(`\nwrote ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();
