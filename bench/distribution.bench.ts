// Key distribution quality of each ring: max/mean load, coefficient of variation, the keys
// (requests) that move when one endpoint is removed or added, against the ideal 1/N, and how
// evenly a removed endpoint's keys spread over the survivors; uniform and Zipf(1.1) keys; with and
// without bounded load (c = 1.25); and the two bounded-load spill orders of the rings (ring walk,
// seeded probe). The same code as `grpc-consistent-hash simulate`. Run: npm run bench:distribution

import { SPILL_ORDERS } from '../src/rings/candidate-order';
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

const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev', 'rendezvous'];
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
    // A removed endpoint's requests: the largest survivor's part of them / its fair part (1 = even).
    'removed spread (mean, worst)': `${ratio(report.leave.spread)}, ${ratio(report.leave.worstSpread)}`,
    ms: Math.round(ms),
  };
}

/** Typical figures measured over random address sets (docs/rings.md), for the comparison. */
const TYPICAL: Record<RingAlgorithm, { 10: string; 50: string; moved: string }> = {
  ketama: { 10: '0.11, 1.20', 50: '0.12, 1.30', moved: '1.0×' },
  ring_hash: { 10: '0.09, 1.16', 50: '0.21, 1.55', moved: '1.25–1.7×' },
  maglev: { 10: '≈0, 1.00', 50: '≈0, 1.00', moved: '1.0–1.23×' },
  // Expected shares are exactly w/W; a naive loop measured 1.011 load max/mean at N = 50 (1M keys).
  rendezvous: { 10: '0, 1.00', 50: '0, 1.00', moved: '1.000×' },
};

/** Bounded-load spill orders compared: Zipf(1.1) keys, c = 1.25, this many calls in flight per member. */
const SPILL_SIZES = [10, 50] as const;
const SPILL_SEEDS = [1, 2, 3] as const;
const SPILL_IN_FLIGHT_PER_MEMBER = 20;
const SPILL_LEAVING = 3;

/** Means over a few key seeds of each spill order's figures under bounded load. */
function spillRows(): Row[] {
  const rows: Row[] = [];
  for (const n of SPILL_SIZES) {
    const members = syntheticMembers(n);
    const samples = SPILL_SEEDS.map((seed) => generateKeys({ count: REQUESTS, zipf: ZIPF, seed }));
    for (const algorithm of ALGORITHMS) {
      for (const spillOrder of algorithm === 'rendezvous' ? (['walk'] as const) : SPILL_ORDERS) {
        const mean = { max: 0, off: 0, leaveMax: 0, leaveOff: 0, moved: 0 };
        let order = '';
        for (const keys of samples) {
          const report = simulateDistribution({
            algorithm,
            members,
            keys,
            boundedLoad: BOUNDED_LOAD,
            spillOrder,
            inFlight: SPILL_IN_FLIGHT_PER_MEMBER * n,
            leaving: SPILL_LEAVING,
          });
          order = report.spillOrder;
          const k = 1 / samples.length;
          mean.max += k * report.maxOverMean;
          mean.off += k * report.offFirstChoice;
          mean.leaveMax += k * report.leave.maxOverMean;
          mean.leaveOff += k * report.leave.offFirstChoice;
          mean.moved += k * report.leave.ratio;
        }
        rows.push({
          algorithm,
          N: n,
          spill: order === 'seeded' ? 'seeded probe' : order === 'walk' ? 'ring walk' : 'score order',
          'load max/mean': round3(mean.max),
          'off first choice': `${(mean.off * 100).toFixed(1)}%`,
          'after a removal: load max/mean': round3(mean.leaveMax),
          'after a removal: off first choice': `${(mean.leaveOff * 100).toFixed(1)}%`,
          'moved on remove ×ideal': ratio(mean.moved),
        });
      }
    }
  }
  return rows;
}

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

  const spill = spillRows();
  printTable(
    `Bounded-load spill orders: ${REQUESTS} requests, Zipf(${ZIPF}), c = ${BOUNDED_LOAD}, ` +
      `${SPILL_IN_FLIGHT_PER_MEMBER}×N calls in flight; means over key seeds ${SPILL_SEEDS.join(', ')} ` +
      `and ${SPILL_LEAVING} removals`,
    spill,
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
    spillOrders: spill,
    randomAddressSets: designRows,
  });
  console.log(`\nwrote ${file} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();
