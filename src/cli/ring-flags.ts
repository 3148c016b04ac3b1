import { type ParseArgsConfig, parseArgs } from 'node:util';
import { RING_SIZE_CAP_OPTION } from '../balancer/config';
import { MAX_ENDPOINT_WEIGHT, ringWeight } from '../balancer/ring-weight';
import {
  capRingSizes,
  DEFAULT_MAX_RING_SIZE,
  DEFAULT_MIN_RING_SIZE,
  DEFAULT_RING_SIZE_CAP,
  MAX_TABLE_SIZE,
  MAX_VNODES,
  RING_ALGORITHMS,
  RING_SIZE_UPPER_BOUND,
  resolveRingOptions,
} from '../rings/ring-options';
import type { RingAlgorithm, RingMember, RingOptions } from '../rings/types';
import { UsageError } from './usage-error';

/** The flags every ring-building command takes, as `parseArgs` options. */
export const RING_FLAG_OPTIONS = {
  algorithm: { type: 'string' },
  backends: { type: 'string' },
  weights: { type: 'string' },
  vnodes: { type: 'string' },
  'min-ring-size': { type: 'string' },
  'max-ring-size': { type: 'string' },
  'table-size': { type: 'string' },
  'ring-size-cap': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values, as `parseArgs` returns them. */
export type FlagValues = Record<string, string | string[] | boolean | undefined>;

/** Which ring-option flag belongs to which algorithm. */
const OPTION_FLAGS: readonly {
  flag: string;
  option: keyof RingOptions;
  algorithm: RingAlgorithm;
  max: number;
}[] = [
  { flag: 'vnodes', option: 'vnodes', algorithm: 'ketama', max: MAX_VNODES },
  { flag: 'min-ring-size', option: 'minRingSize', algorithm: 'ring_hash', max: RING_SIZE_UPPER_BOUND },
  { flag: 'max-ring-size', option: 'maxRingSize', algorithm: 'ring_hash', max: RING_SIZE_UPPER_BOUND },
  { flag: 'table-size', option: 'tableSize', algorithm: 'maglev', max: MAX_TABLE_SIZE },
];

/**
 * `--vnodes -3` as `--vnodes=-3`: parseArgs calls a value starting with "-" ambiguous, while the
 * user meant a (bad) number, which the flag's own check then names.
 */
function joinNegativeValues(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && /^-[0-9.]/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** `parseArgs` in strict mode, its errors turned into one-line UsageErrors. */
export function parseCommandArgs(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): { values: FlagValues; positionals: string[] } {
  try {
    const args = joinNegativeValues(argv, options);
    const { values, positionals } = parseArgs({ args, strict: true, allowPositionals, options });
    return { values: values as FlagValues, positionals };
  } catch (err) {
    // parseArgs messages are one line already; drop its "Use `--` ..." hints.
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** An integer flag within [min, max]; the message says what is wrong (not a number, not whole, out of range). */
export function parseIntegerFlag(flag: string, text: string, min: number, max: number): number {
  const range = `an integer in [${min}, ${max}]`;
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (Number.isNaN(n))
    throw new UsageError(`--${flag} must be ${range}, got '${text}', which is not a number`);
  if (!Number.isInteger(n))
    throw new UsageError(`--${flag} must be ${range}, got '${text}', which is not a whole number`);
  if (n < min || n > max) {
    throw new UsageError(`--${flag} must be ${range}, got '${text}'${n < 0 ? ', which is negative' : ''}`);
  }
  return n;
}

/** The required `--algorithm`. */
export function parseAlgorithmFlag(values: FlagValues): RingAlgorithm {
  const algorithm = values['algorithm'] as string | undefined;
  if (algorithm === undefined)
    throw new UsageError(`--algorithm is required (${RING_ALGORITHMS.join(', ')})`);
  if (!RING_ALGORITHMS.includes(algorithm as RingAlgorithm)) {
    throw new UsageError(`--algorithm must be one of ${RING_ALGORITHMS.join(', ')}, got '${algorithm}'`);
  }
  return algorithm as RingAlgorithm;
}

/** A comma-separated backend list: not empty, no empty entry, no entry twice. */
export function parseBackendList(text: string): RingMember[] {
  const backends = text.split(',').map((b) => b.trim());
  if (backends.length === 1 && backends[0] === '') throw new UsageError('--backends is empty');
  const emptyAt = backends.indexOf('');
  if (emptyAt >= 0) throw new UsageError(`--backends has an empty entry at position ${emptyAt + 1}`);
  const seen = new Set<string>();
  for (const b of backends) {
    if (seen.has(b)) throw new UsageError(`--backends lists '${b}' twice`);
    seen.add(b);
  }
  return backends.map((id) => ({ id }));
}

/** Members with their `--weights`, and a line for each weight the balancer would clamp. */
export interface WeightedMembers {
  readonly members: RingMember[];
  readonly clamped: string[];
}

/**
 * Applies `--weights` (one finite number > 0 per backend) to `members` by the balancer's own rule
 * ({@link ringWeight}): a weight above its maximum is clamped, and said so in `clamped`.
 */
export function applyWeightsFlag(members: RingMember[], weightsText: string | undefined): WeightedMembers {
  if (weightsText === undefined) return { members, clamped: [] };
  const clamped: string[] = [];
  const parts = weightsText.split(',').map((w) => w.trim());
  if (parts.length !== members.length) {
    throw new UsageError(`--weights has ${parts.length} entries but --backends has ${members.length}`);
  }
  const weighted = members.map((m, i) => {
    const w = parts[i]!;
    const n = w === '' ? Number.NaN : Number(w);
    const { weight, invalid } = ringWeight(n);
    if (invalid) {
      throw new UsageError(
        `--weights entry ${i + 1} must be a finite number > 0, got '${w}' (the balancer would count it as 1)`,
      );
    }
    if (weight < n) {
      clamped.push(
        `weight ${w} of ${m.id} is above the balancer's maximum ${MAX_ENDPOINT_WEIGHT}; using ${weight}, as the balancer does`,
      );
    }
    return { id: m.id, weight };
  });
  return { members: weighted, clamped };
}

/** Ring options from the flags, and what the ring-size cap lowered, one line each for stderr. */
export interface RingOptionFlags {
  readonly options: RingOptions;
  readonly capped: readonly string[];
}

/**
 * The ring-option flags for `algorithm`, validated by the ring's own rules, spoken in flag names.
 * ring_hash's sizes are then clamped to `--ring-size-cap` (default 4096), as a channel clamps them
 * to its `grpc.lb.ring_hash.ring_size_cap`, so that predictions match the policy.
 */
export function parseRingOptionFlags(values: FlagValues, algorithm: RingAlgorithm): RingOptionFlags {
  const capText = values['ring-size-cap'] as string | undefined;
  if (capText !== undefined && algorithm !== 'ring_hash') {
    throw new UsageError('--ring-size-cap applies only to --algorithm ring_hash');
  }
  const cap =
    capText === undefined
      ? DEFAULT_RING_SIZE_CAP
      : parseIntegerFlag('ring-size-cap', capText, 1, RING_SIZE_UPPER_BOUND);
  const options: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  for (const { flag, option, algorithm: owner, max } of OPTION_FLAGS) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    if (owner !== algorithm) throw new UsageError(`--${flag} applies only to --algorithm ${owner}`);
    options[option] = parseIntegerFlag(flag, text, 1, max);
  }
  try {
    resolveRingOptions(options);
  } catch (err) {
    // "tableSize must be a prime" -> "--table-size must be a prime".
    let message = (err as Error).message;
    for (const { flag, option } of OPTION_FLAGS)
      message = message.replace(new RegExp(`\\b${option}\\b`, 'g'), `--${flag}`);
    throw new UsageError(message);
  }
  if (algorithm !== 'ring_hash') return { options, capped: [] };
  const capped: string[] = [];
  for (const [flag, size] of [
    ['min-ring-size', options.minRingSize ?? DEFAULT_MIN_RING_SIZE],
    ['max-ring-size', options.maxRingSize ?? DEFAULT_MAX_RING_SIZE],
  ] as const) {
    if (size > cap) {
      capped.push(
        `--${flag} ${size} is above the ring-size cap ${cap}; using ${cap}, as a channel does (raise it with --ring-size-cap, as the channel option ${RING_SIZE_CAP_OPTION} does)`,
      );
    }
  }
  return { options: capRingSizes(options, cap), capped };
}
