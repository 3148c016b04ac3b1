import { type ParseArgsConfig, parseArgs } from 'node:util';
import { RING_ALGORITHMS, resolveRingOptions } from '../rings/ring-options';
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
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values, as `parseArgs` returns them. */
export type FlagValues = Record<string, string | string[] | boolean | undefined>;

/** Which ring-option flag belongs to which algorithm. */
const OPTION_FLAGS: readonly { flag: string; option: keyof RingOptions; algorithm: RingAlgorithm }[] = [
  { flag: 'vnodes', option: 'vnodes', algorithm: 'ketama' },
  { flag: 'min-ring-size', option: 'minRingSize', algorithm: 'ring_hash' },
  { flag: 'max-ring-size', option: 'maxRingSize', algorithm: 'ring_hash' },
  { flag: 'table-size', option: 'tableSize', algorithm: 'maglev' },
];

/** `parseArgs` in strict mode, its errors turned into one-line UsageErrors. */
export function parseCommandArgs(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals, options });
    return { values: values as FlagValues, positionals };
  } catch (err) {
    // parseArgs messages are one line already; drop its "Use `--` ..." hints.
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

/** An integer flag within [min, max]. */
export function parseIntegerFlag(flag: string, text: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}], got '${text}'`);
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

/** Applies `--weights` (one finite number > 0 per backend) to `members`; unchanged when absent. */
export function applyWeightsFlag(members: RingMember[], weightsText: string | undefined): RingMember[] {
  if (weightsText === undefined) return members;
  const parts = weightsText.split(',').map((w) => w.trim());
  if (parts.length !== members.length) {
    throw new UsageError(`--weights has ${parts.length} entries but --backends has ${members.length}`);
  }
  return members.map((m, i) => {
    const w = parts[i]!;
    const n = w === '' ? Number.NaN : Number(w);
    if (!Number.isFinite(n) || n <= 0) {
      throw new UsageError(`--weights entry ${i + 1} must be a finite number > 0, got '${w}'`);
    }
    return { id: m.id, weight: n };
  });
}

/** The ring-option flags for `algorithm`, validated by the ring's own rules, spoken in flag names. */
export function parseRingOptionFlags(values: FlagValues, algorithm: RingAlgorithm): RingOptions {
  const options: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  for (const { flag, option, algorithm: owner } of OPTION_FLAGS) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    if (owner !== algorithm) throw new UsageError(`--${flag} applies only to --algorithm ${owner}`);
    options[option] = parseIntegerFlag(flag, text, 1, Number.MAX_SAFE_INTEGER);
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
  return options;
}
