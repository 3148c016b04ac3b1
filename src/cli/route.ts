import { parseArgs } from 'node:util';
import { createRingBuilder } from '../rings';
import { RING_ALGORITHMS, resolveRingOptions } from '../rings/ring-options';
import type { HashRing, RingAlgorithm, RingMember, RingOptions } from '../rings/types';
import { parseUint32Decimal, parseUint64Decimal } from '../rings/uint64';
import type { Subcommand } from './main';
import { UsageError } from './usage-error';

const HELP = `usage: grpc-consistent-hash route --algorithm ketama|ring_hash|maglev --backends A,B,C
         [--weights 1,2,1] [--vnodes N] [--min-ring-size N] [--max-ring-size N]
         [--table-size N] [--key-format raw|string]

Reads keys from stdin, one per line, and prints "<key>\\t<backend>" per line, in order.
  --key-format string  (default) hash each key as the balancer hashes a header value:
                       CRC-32 (IEEE) for ketama, XXH64 (seed 0) for ring_hash and maglev
  --key-format raw     each key is already the hash, in decimal: uint32 for ketama,
                       uint64 for ring_hash and maglev
  --vnodes N           ketama points per unit weight (default 64)
  --min-ring-size N    ring_hash minimum ring size (default 1024)
  --max-ring-size N    ring_hash maximum ring size (default 4096, at most 8388608)
  --table-size N       maglev table size, a prime (default 65537)
Errors (bad flags, empty backend list, bad raw key) exit with code 2.`;

/** Which option flag belongs to which algorithm. */
const OPTION_FLAGS: readonly { flag: string; option: keyof RingOptions; algorithm: RingAlgorithm }[] = [
  { flag: 'vnodes', option: 'vnodes', algorithm: 'ketama' },
  { flag: 'min-ring-size', option: 'minRingSize', algorithm: 'ring_hash' },
  { flag: 'max-ring-size', option: 'maxRingSize', algorithm: 'ring_hash' },
  { flag: 'table-size', option: 'tableSize', algorithm: 'maglev' },
];

/** The parsed `route` configuration. */
export interface RouteSettings {
  readonly algorithm: RingAlgorithm;
  readonly members: readonly RingMember[];
  readonly options: RingOptions;
  readonly keyFormat: 'raw' | 'string';
}

function parseInteger(flag: string, text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${flag} must be a positive integer, got '${text}'`);
  return Number(text);
}

/** Parses and validates `route` arguments; throws a UsageError naming the problem. Returns null for --help. */
export function parseRouteArgs(argv: readonly string[]): RouteSettings | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        algorithm: { type: 'string' },
        backends: { type: 'string' },
        weights: { type: 'string' },
        vnodes: { type: 'string' },
        'min-ring-size': { type: 'string' },
        'max-ring-size': { type: 'string' },
        'table-size': { type: 'string' },
        'key-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs messages are one line already; drop its "Use `--` ..." hints.
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  if (values.help) return null;

  const algorithm = values.algorithm as string | undefined;
  if (algorithm === undefined)
    throw new UsageError(`--algorithm is required (${RING_ALGORITHMS.join(', ')})`);
  if (!RING_ALGORITHMS.includes(algorithm as RingAlgorithm)) {
    throw new UsageError(`--algorithm must be one of ${RING_ALGORITHMS.join(', ')}, got '${algorithm}'`);
  }

  const backendsText = values.backends as string | undefined;
  if (backendsText === undefined)
    throw new UsageError('--backends is required (comma-separated host:port list)');
  const backends = backendsText.split(',').map((b) => b.trim());
  if (backends.length === 1 && backends[0] === '') throw new UsageError('--backends is empty');
  const emptyAt = backends.indexOf('');
  if (emptyAt >= 0) throw new UsageError(`--backends has an empty entry at position ${emptyAt + 1}`);
  const seen = new Set<string>();
  for (const b of backends) {
    if (seen.has(b)) throw new UsageError(`--backends lists '${b}' twice`);
    seen.add(b);
  }

  let weights: number[] | undefined;
  const weightsText = values.weights as string | undefined;
  if (weightsText !== undefined) {
    const parts = weightsText.split(',').map((w) => w.trim());
    if (parts.length !== backends.length) {
      throw new UsageError(`--weights has ${parts.length} entries but --backends has ${backends.length}`);
    }
    weights = parts.map((w, i) => {
      const n = w === '' ? Number.NaN : Number(w);
      if (!Number.isFinite(n) || n <= 0) {
        throw new UsageError(`--weights entry ${i + 1} must be a finite number > 0, got '${w}'`);
      }
      return n;
    });
  }

  const options: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  for (const { flag, option, algorithm: owner } of OPTION_FLAGS) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    if (owner !== algorithm) throw new UsageError(`--${flag} applies only to --algorithm ${owner}`);
    options[option] = parseInteger(flag, text);
  }
  try {
    resolveRingOptions(options);
  } catch (err) {
    // Speak in flag names: "tableSize must be a prime" -> "--table-size must be a prime".
    let message = (err as Error).message;
    for (const { flag, option } of OPTION_FLAGS)
      message = message.replace(new RegExp(`\\b${option}\\b`, 'g'), `--${flag}`);
    throw new UsageError(message);
  }

  const keyFormat = (values['key-format'] as string | undefined) ?? 'string';
  if (keyFormat !== 'raw' && keyFormat !== 'string') {
    throw new UsageError(`--key-format must be raw or string, got '${keyFormat}'`);
  }
  const members = backends.map((id, i) => (weights ? { id, weight: weights[i]! } : { id }));
  return { algorithm: algorithm as RingAlgorithm, members, options, keyFormat };
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
  if (ring.algorithm === 'ketama') {
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

/** Streams `input` line by line to `output` as "<key>\t<backend>" lines. */
export async function routeStream(
  settings: RouteSettings,
  input: AsyncIterable<string | Buffer>,
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
      const text = pending + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
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
    process.stdin.setEncoding('utf8');
    await routeStream(settings, process.stdin, process.stdout);
    return 0;
  },
};
