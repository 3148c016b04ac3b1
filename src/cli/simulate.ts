import { writeFileSync } from 'node:fs';
import { boundedLoadFactorError } from '../rings/bounded-load';
import { SPILL_ORDERS, type SpillOrder } from '../rings/candidate-order';
import {
  type DistributionReport,
  generateKeys,
  seedFromText,
  simulateDistribution,
  syntheticMembers,
} from '../rings/distribution';
import type { RingAlgorithm, RingMember, RingOptions } from '../rings/types';
import { alignedTable, positionUnit } from './format';
import type { Subcommand } from './main';
import {
  applyWeightsFlag,
  parseAlgorithmFlag,
  parseBackendList,
  parseCommandArgs,
  parseIntegerFlag,
  parseRingOptionFlags,
  RING_FLAG_OPTIONS,
} from './ring-flags';
import { renderDistributionSvg } from './svg-chart';
import { UsageError } from './usage-error';

const HELP = `usage: grpc-consistent-hash simulate --algorithm ketama|ring_hash|maglev|rendezvous --backends N|A,B,C
         [--weights 1,2,1] [--keys 100000] [--zipf 1.1] [--bounded-load 1.25 [--spill walk|seeded] [--in-flight W]]
         [--seed S]
         [--leaving all|M] [--svg out.svg]
         [--vnodes N] [--min-ring-size N] [--max-ring-size N] [--ring-size-cap N] [--table-size N]

Sends a seeded stream of keys through a ring and prints each backend's share of the requests
against its ideal share, max/mean load, the coefficient of variation, and the requests that move
when each backend leaves and when one joins, against the ideal (its share; 1/(N+1) for a join).
  --backends N|A,B,C   N synthetic addresses (10.0.0.1:50051, ...; never contacted) or a list
  --weights W,...      one weight per listed backend (default 1)
  --keys K             number of requests (default 100000)
  --zipf S             draw requests from K keys with Zipf(S) popularity (default: K distinct keys)
  --bounded-load C     bounded-load factor C >= 1: every request stays in flight, and each goes to
                       its key's owner if below ceil(C x (in-flight + 1) x w / W), else to the
                       first backend below its limit in the spill order
  --spill walk|seeded  ring algorithms' spill order: walk on along the ring (default, as the
                       balancer does), or probe a permutation seeded by the key hash (Envoy's
                       "random jump"); rendezvous always spills in score order
  --in-flight W        with --bounded-load: each request ends once W more have arrived
                       (default: every request stays in flight)
  --seed S             seed for the keys (default 1); the same seed gives the same output
  --leaving all|M      backends to remove one at a time (default: all, or 100 spread evenly above
                       200 backends)
  --svg FILE           also write a chart: shares against the ideal, and moves per leaving backend
  --vnodes N           ketama points per unit weight (default 64)
  --min-ring-size N    ring_hash minimum ring size (default 1024)
  --max-ring-size N    ring_hash maximum ring size (default 4096)
  --ring-size-cap N    ring_hash sizes are clamped to N, as a channel clamps them to its
                       grpc.lb.ring_hash.ring_size_cap (default 4096)
  --table-size N       maglev table size, a prime (default 65537)
A progress line is written to stderr when the run takes more than a second.
Errors (bad flags) exit with code 2.`;

/** Most synthetic backends `--backends N` accepts. */
const MAX_BACKENDS = 100_000;
/** Most requests `--keys` accepts. */
const MAX_KEYS = 10_000_000;

/** The parsed `simulate` configuration. */
export interface SimulateSettings {
  readonly algorithm: RingAlgorithm;
  readonly members: readonly RingMember[];
  readonly options: RingOptions;
  readonly keys: number;
  readonly zipf: number | null;
  readonly boundedLoad: number | null;
  /** The rings' spill order under bounded load; null for the balancer's. */
  readonly spillOrder: SpillOrder | null;
  /** Requests in flight at once under bounded load; null: all stay in flight. */
  readonly inFlight: number | null;
  readonly seed: string;
  readonly leaving: 'all' | number;
  readonly svg: string | null;
  /** Weights and ring sizes clamped as the balancer clamps them, one line each, for stderr. */
  readonly clamped: readonly string[];
}

function parseNumber(flag: string, text: string): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${text}'`);
  return n;
}

function parseBackends(text: string): RingMember[] {
  if (/^[0-9]+$/.test(text.trim())) {
    return syntheticMembers(parseIntegerFlag('backends', text.trim(), 1, MAX_BACKENDS));
  }
  return parseBackendList(text);
}

/** Parses and validates `simulate` arguments; throws a UsageError naming the problem. Returns null for --help. */
export function parseSimulateArgs(argv: readonly string[]): SimulateSettings | null {
  const { values } = parseCommandArgs(argv, {
    ...RING_FLAG_OPTIONS,
    keys: { type: 'string' },
    zipf: { type: 'string' },
    'bounded-load': { type: 'string' },
    spill: { type: 'string' },
    'in-flight': { type: 'string' },
    seed: { type: 'string' },
    leaving: { type: 'string' },
    svg: { type: 'string' },
  });
  if (values['help']) return null;
  const algorithm = parseAlgorithmFlag(values);
  const backendsText = values['backends'] as string | undefined;
  if (backendsText === undefined) {
    throw new UsageError('--backends is required (a count, or a comma-separated host:port list)');
  }
  const { members, clamped } = applyWeightsFlag(
    parseBackends(backendsText),
    values['weights'] as string | undefined,
  );
  const { options, capped } = parseRingOptionFlags(values, algorithm);

  const keysText = values.keys as string | undefined;
  const keys = keysText === undefined ? 100_000 : parseIntegerFlag('keys', keysText, 1, MAX_KEYS);

  let zipf: number | null = null;
  const zipfText = values.zipf as string | undefined;
  if (zipfText !== undefined) {
    zipf = parseNumber('zipf', zipfText);
    if (zipf <= 0 || zipf > 10) throw new UsageError(`--zipf must be a number in (0, 10], got '${zipfText}'`);
  }

  let boundedLoad: number | null = null;
  const boundedText = values['bounded-load'] as string | undefined;
  if (boundedText !== undefined) {
    boundedLoad = parseNumber('bounded-load', boundedText);
    const error = boundedLoadFactorError(boundedLoad);
    if (error !== null)
      throw new UsageError(`--bounded-load ${error.replace(/got .*$/, `got '${boundedText}'`)}`);
  }

  let spillOrder: SpillOrder | null = null;
  const spillText = values.spill as string | undefined;
  if (spillText !== undefined) {
    if (!SPILL_ORDERS.includes(spillText as SpillOrder)) {
      throw new UsageError(`--spill must be one of ${SPILL_ORDERS.join(', ')}, got '${spillText}'`);
    }
    if (boundedLoad === null) throw new UsageError('--spill applies only with --bounded-load');
    spillOrder = spillText as SpillOrder;
  }

  let inFlight: number | null = null;
  const inFlightText = values['in-flight'] as string | undefined;
  if (inFlightText !== undefined) {
    inFlight = parseIntegerFlag('in-flight', inFlightText, 1, MAX_KEYS);
    if (boundedLoad === null) throw new UsageError('--in-flight applies only with --bounded-load');
  }

  const seed = (values.seed as string | undefined) ?? '1';
  if (seed === '') throw new UsageError('--seed is empty');

  const leavingText = values.leaving as string | undefined;
  let leaving: 'all' | number;
  if (leavingText === undefined) leaving = members.length > 200 ? 100 : 'all';
  else if (leavingText === 'all') leaving = 'all';
  else leaving = parseIntegerFlag('leaving', leavingText, 0, MAX_BACKENDS);

  const svg = (values.svg as string | undefined) ?? null;
  if (svg === '') throw new UsageError('--svg needs a file name');

  return {
    algorithm,
    members,
    options,
    keys,
    zipf,
    boundedLoad,
    spillOrder,
    inFlight,
    seed,
    leaving,
    svg,
    clamped: [...clamped, ...capped],
  };
}

/** Runs the simulation for parsed settings. */
export function runSimulation(
  settings: SimulateSettings,
  onProgress?: (done: number, total: number) => void,
): DistributionReport {
  const keys = generateKeys({ count: settings.keys, zipf: settings.zipf, seed: seedFromText(settings.seed) });
  return simulateDistribution({
    algorithm: settings.algorithm,
    members: settings.members,
    options: settings.options,
    keys,
    boundedLoad: settings.boundedLoad,
    ...(settings.spillOrder === null ? {} : { spillOrder: settings.spillOrder }),
    inFlight: settings.inFlight,
    leaving: settings.leaving,
    ...(onProgress ? { onProgress } : {}),
  });
}

const percent = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;

/** Describes the setup in one line. */
export function describeSetup(report: DistributionReport, seed: string): string {
  const keys =
    report.zipf === null
      ? `${report.requests} requests, each a distinct uniform key`
      : `${report.requests} requests over ${report.distinctKeys} keys with Zipf(${report.zipf}) popularity`;
  const bounded =
    report.boundedLoad === null
      ? 'no bounded load'
      : `bounded load c = ${report.boundedLoad}, ${report.spillOrder === 'score' ? 'score-order' : report.spillOrder} spill, ` +
        (report.inFlight === null ? 'all requests in flight' : `${report.inFlight} requests in flight`);
  const n = report.members.length;
  return `${report.algorithm}, ${n} backend${n === 1 ? '' : 's'}, ring of ${report.ringSize} ${positionUnit(report.algorithm)}; ${keys}; ${bounded}; seed ${seed}`;
}

/** The printed report: the per-backend table and the summary. */
export function formatReport(report: DistributionReport, seed: string): string {
  const rows = report.members.map((m) => [
    m.id,
    String(m.weight),
    String(m.requests),
    percent(m.share),
    percent(m.idealShare),
    (m.share / m.idealShare).toFixed(2),
    percent(m.ownedShare),
    m.movedOnLeave === null ? '-' : percent(m.movedOnLeave),
    m.movedOnLeave === null ? '-' : (m.movedOnLeave / m.idealShare).toFixed(2),
  ]);
  const table = alignedTable(
    [
      'backend',
      'weight',
      'requests',
      'share',
      'ideal',
      'share/ideal',
      'ring owned',
      'moved if it leaves',
      'moved/ideal',
    ],
    rows,
    'figures',
  );
  const { leave, join } = report;
  const summary = [
    `load max/mean            ${report.maxOverMean.toFixed(3)}   (max over backends of share/ideal; ideal 1)`,
    `load CV                  ${report.cv.toFixed(3)}`,
    report.algorithm === 'rendezvous'
      ? `ring owned max/mean, CV  ${report.ownedMaxOverMean.toFixed(3)}, ${report.ownedCv.toFixed(3)}   (rendezvous: expected shares, exactly w/W)`
      : `ring owned max/mean, CV  ${report.ownedMaxOverMean.toFixed(3)}, ${report.ownedCv.toFixed(3)}   (exact hash-space shares, independent of the keys)`,
    ...(report.boundedLoad === null
      ? []
      : [
          `off first choice         ${percent(report.offFirstChoice)} of requests (bounded load sent them past their key's owner)`,
        ]),
    leave.measured > 0
      ? `moved on leave           ${percent(leave.moved)} of requests on average vs ideal ${percent(leave.ideal)} (${leave.ratio.toFixed(2)}x), over ${leave.measured} leaving backend${leave.measured === 1 ? '' : 's'}`
      : 'moved on leave           not measured',
    ...(leave.measured > 0
      ? [
          `leaver's spread          ${leave.spread.toFixed(3)} mean, ${leave.worstSpread.toFixed(3)} worst   (largest survivor's part of a leaving backend's requests / its fair part; ideal 1)`,
          `after a leave            load max/mean ${leave.maxOverMean.toFixed(3)}${report.boundedLoad === null ? '' : `, off first choice ${percent(leave.offFirstChoice)}`} (means over the leaves)`,
        ]
      : []),
    `moved on join            ${percent(join.moved)} of requests vs ideal ${percent(join.ideal)} (${join.ratio.toFixed(2)}x) when ${join.id} joins`,
  ];
  return `simulate: ${describeSetup(report, seed)}\n\n${table}\n\n${summary.join('\n')}\n`;
}

/** Reports progress on stderr, but only once the run has taken more than a second. */
export function createProgress(stream: NodeJS.WriteStream, label: string, delayMs = 1000) {
  const started = performance.now();
  const tty = stream.isTTY === true;
  let lastDrawn = 0;
  let drawn = false;
  return {
    update(done: number, total: number): void {
      const now = performance.now();
      if (now - started < delayMs) return;
      // A terminal gets a live line; a pipe or file a line a second at most.
      if (drawn && now - lastDrawn < (tty ? 100 : 1000)) return;
      lastDrawn = now;
      drawn = true;
      const text = `${label}: ${done}/${total} ring builds (${Math.round((100 * done) / total)}%)`;
      stream.write(tty ? `\r${text}\u001b[K` : `${text}\n`);
    },
    finish(): void {
      if (drawn && tty) stream.write('\r\u001b[K');
    },
  };
}

/** The `simulate` subcommand. */
export const simulateCommand: Subcommand = {
  summary: 'simulate key distribution, balance and key moves for a ring',
  async run(argv) {
    const settings = parseSimulateArgs(argv);
    if (settings === null) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    for (const line of settings.clamped) process.stderr.write(`grpc-consistent-hash simulate: ${line}\n`);
    const progress = createProgress(process.stderr, 'simulate');
    let report: DistributionReport;
    try {
      report = runSimulation(settings, progress.update);
    } finally {
      progress.finish();
    }
    process.stdout.write(formatReport(report, settings.seed));
    if (settings.svg !== null) {
      try {
        writeFileSync(settings.svg, renderDistributionSvg(report, describeSetup(report, settings.seed)));
      } catch (err) {
        process.stderr.write(
          `grpc-consistent-hash simulate: cannot write --svg ${settings.svg}: ${(err as Error).message}\n`,
        );
        return 1;
      }
      process.stdout.write(`wrote ${settings.svg}\n`);
    }
    return 0;
  },
};
