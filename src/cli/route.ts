import { createRingBuilder } from '../rings';
import { keyHashBits } from '../rings/ring-options';
import type { HashRing, RingAlgorithm, RingMember, RingOptions } from '../rings/types';
import { parseUint32Decimal, parseUint64Decimal } from '../rings/uint64';
import type { Subcommand } from './main';
import {
  applyWeightsFlag,
  parseAlgorithmFlag,
  parseBackendList,
  parseCommandArgs,
  parseRingOptionFlags,
  RING_FLAG_OPTIONS,
} from './ring-flags';
import { UsageError } from './usage-error';

const HELP = `usage: grpc-consistent-hash route --algorithm ketama|ring_hash|maglev|rendezvous --backends A,B,C
         [--weights 1,2,1] [--vnodes N] [--min-ring-size N] [--max-ring-size N]
         [--ring-size-cap N] [--table-size N] [--key-format raw|string]

Reads keys from stdin, one per line, and prints "<key>\\t<backend>" per line, in order.
  --key-format string  (default) hash each key as the balancer hashes a header value:
                       CRC-32 (IEEE) for ketama and rendezvous, XXH64 (seed 0) for
                       ring_hash and maglev
  --key-format raw     each key is already the hash, in decimal: uint32 for ketama and
                       rendezvous, uint64 for ring_hash and maglev
  --vnodes N           ketama points per unit weight (default 64)
  --min-ring-size N    ring_hash minimum ring size (default 1024)
  --max-ring-size N    ring_hash maximum ring size (default 4096, at most 8388608)
  --ring-size-cap N    ring_hash sizes are clamped to N, as a channel clamps them to its
                       grpc.lb.ring_hash.ring_size_cap (default 4096)
  --table-size N       maglev table size, a prime (default 65537)
Errors (bad flags, empty backend list, bad raw key) exit with code 2.`;

/** The parsed `route` configuration. */
export interface RouteSettings {
  readonly algorithm: RingAlgorithm;
  readonly members: readonly RingMember[];
  readonly options: RingOptions;
  readonly keyFormat: 'raw' | 'string';
  /** Weights and ring sizes clamped as the balancer clamps them, one line each, for stderr. */
  readonly clamped: readonly string[];
}

/** Parses and validates `route` arguments; throws a UsageError naming the problem. Returns null for --help. */
export function parseRouteArgs(argv: readonly string[]): RouteSettings | null {
  const { values } = parseCommandArgs(argv, {
    ...RING_FLAG_OPTIONS,
    'key-format': { type: 'string' },
  });
  if (values['help']) return null;
  const algorithm = parseAlgorithmFlag(values);
  const backendsText = values['backends'] as string | undefined;
  if (backendsText === undefined)
    throw new UsageError('--backends is required (comma-separated host:port list)');
  const { members, clamped } = applyWeightsFlag(
    parseBackendList(backendsText),
    values['weights'] as string | undefined,
  );
  const { options, capped } = parseRingOptionFlags(values, algorithm);

  const keyFormat = (values['key-format'] as string | undefined) ?? 'string';
  if (keyFormat !== 'raw' && keyFormat !== 'string') {
    throw new UsageError(`--key-format must be raw or string, got '${keyFormat}'`);
  }
  return { algorithm, members, options, keyFormat, clamped: [...clamped, ...capped] };
}

/**
 * Returns a function mapping one input line to its owner's id; throws a UsageError for a bad raw key.
 * `lineNumber` is for the error message only.
 */
export function keyRouter(
  ring: HashRing,
  keyFormat: 'raw' | 'string',
): (key: string, lineNumber: number) => string {
  const ids = ring.members.map((m) => m.id);
  if (keyFormat === 'string') return (key) => ids[ring.memberAt(ring.locateKey(key))]!;
  if (keyHashBits(ring.algorithm) === 32) {
    return (key, lineNumber) => {
      const v = parseUint32Decimal(key);
      if (v < 0) throw new UsageError(`line ${lineNumber}: raw key '${key}' is not a decimal uint32`);
      return ids[ring.memberAt(ring.locate(0, v))]!;
    };
  }
  const hash = new Uint32Array(2);
  return (key, lineNumber) => {
    if (!parseUint64Decimal(key, hash)) {
      throw new UsageError(`line ${lineNumber}: raw key '${key}' is not a decimal uint64`);
    }
    return ids[ring.memberAt(ring.locate(hash[0]!, hash[1]!))]!;
  };
}

const FLUSH_AT = 64 * 1024;

/**
 * Streams `input` line by line to `output` as "<key>\t<backend>" lines. `input` yields text: a
 * stream decoded with `setEncoding('utf8')` never splits a character between chunks, as decoding
 * each Buffer chunk on its own would.
 */
export async function routeStream(
  settings: RouteSettings,
  input: AsyncIterable<string>,
  output: NodeJS.WritableStream,
): Promise<void> {
  const ring = createRingBuilder(settings.algorithm, settings.options).build(settings.members);
  const route = keyRouter(ring, settings.keyFormat);
  let pending = '';
  let out = '';
  let lineNumber = 0;
  const flush = async (): Promise<void> => {
    if (out.length === 0) return;
    const chunk = out;
    out = '';
    if (!output.write(chunk)) await new Promise<void>((resolve) => output.once('drain', resolve));
  };
  const emit = (line: string): void => {
    lineNumber++;
    const key = line.endsWith('\r') ? line.slice(0, -1) : line;
    out += `${key}\t${route(key, lineNumber)}\n`;
  };
  try {
    for await (const chunk of input) {
      const text = pending + chunk;
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl >= 0) {
        emit(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      pending = text.slice(start);
      if (out.length >= FLUSH_AT) await flush();
    }
    if (pending.length > 0) emit(pending);
  } finally {
    // Lines routed before a bad key are still written.
    await flush();
  }
}

/** The `route` subcommand. */
export const routeCommand: Subcommand = {
  summary: 'print the backend owning each key read from stdin',
  async run(argv) {
    const settings = parseRouteArgs(argv);
    if (settings === null) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    for (const line of settings.clamped) process.stderr.write(`grpc-consistent-hash route: ${line}\n`);
    process.stdin.setEncoding('utf8');
    await routeStream(settings, process.stdin, process.stdout);
    return 0;
  },
};
