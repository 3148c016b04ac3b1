import type { RingAlgorithm, RingMember, RingOptions } from './types';

/** Default ketama points per member of weight 1 (the Go design's 64). */
export const DEFAULT_VNODES = 64;
/** gRPC ring_hash default minimum ring size. */
export const DEFAULT_MIN_RING_SIZE = 1024;
/** gRPC ring_hash default maximum ring size. */
export const DEFAULT_MAX_RING_SIZE = 4096;
/** gRPC ring_hash upper bound for both ring sizes. */
export const RING_SIZE_UPPER_BOUND = 8388608;
/**
 * Default of the gRPC ring-size cap (grpc-go `GRPC_RING_HASH_CAP`, grpc-js-xds
 * `grpc.lb.ring_hash.ring_size_cap`): ring_hash's min and max sizes are clamped to it.
 */
export const DEFAULT_RING_SIZE_CAP = 4096;
/** maglev default table size (prime). */
export const DEFAULT_TABLE_SIZE = 65537;
/**
 * Largest accepted maglev table size (prime). A table fill costs about 0.1 µs per slot, so this
 * keeps a build near 100 ms; Envoy's 5,000,011 took about 0.8 s here.
 */
export const MAX_TABLE_SIZE = 655373;
/** Largest accepted ketama vnodes per unit weight; the whole ring is bounded by {@link KETAMA_POINT_BUDGET}. */
export const MAX_VNODES = 65536;
/**
 * Most points a ketama ring holds (2^20: a full build takes about 100 ms on a quiet core). Up to it every
 * member gets round(weight × vnodes) points, so 64 vnodes at weight 1 place keys exactly as the Go
 * seed up to 16,384 members; beyond it every member's points are scaled down by one factor.
 */
export const KETAMA_POINT_BUDGET = 1048576;
/** The algorithm names, for validation and help text. */
export const RING_ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev', 'rendezvous'];

/** Bits of an algorithm's request-key hash: CRC-32 for ketama and rendezvous, XXH64 for ring_hash and maglev. */
export function keyHashBits(algorithm: RingAlgorithm): 32 | 64 {
  return algorithm === 'ketama' || algorithm === 'rendezvous' ? 32 : 64;
}

/** Options with every default filled in. */
export interface ResolvedRingOptions {
  readonly vnodes: number;
  readonly minRingSize: number;
  readonly maxRingSize: number;
  readonly tableSize: number;
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Whether n is a prime (trial division; n is at most a few million here). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Checks an algorithm name; throws a RangeError naming the value. */
export function checkAlgorithm(algorithm: unknown): RingAlgorithm {
  if (!RING_ALGORITHMS.includes(algorithm as RingAlgorithm)) {
    throw new RangeError(`algorithm must be one of ${RING_ALGORITHMS.join(', ')}, got ${String(algorithm)}`);
  }
  return algorithm as RingAlgorithm;
}

/**
 * ring_hash sizes clamped to the gRPC ring-size cap, as grpc-go, grpc-java, C-core and
 * grpc-js-xds do: `min(size, cap)` for both. `cap` must be in [1, {@link RING_SIZE_UPPER_BOUND}].
 */
export function capRingSizes(options: RingOptions, cap: number): RingOptions {
  const min = options.minRingSize ?? DEFAULT_MIN_RING_SIZE;
  const max = options.maxRingSize ?? DEFAULT_MAX_RING_SIZE;
  return { ...options, minRingSize: Math.min(min, cap), maxRingSize: Math.min(max, cap) };
}

/** Fills in defaults and validates every option (all of them, whatever the algorithm). */
export function resolveRingOptions(options: RingOptions = {}): ResolvedRingOptions {
  const vnodes = checkInteger('vnodes', options.vnodes ?? DEFAULT_VNODES, 1, MAX_VNODES);
  const minRingSize = checkInteger(
    'minRingSize',
    options.minRingSize ?? DEFAULT_MIN_RING_SIZE,
    1,
    RING_SIZE_UPPER_BOUND,
  );
  const maxRingSize = checkInteger(
    'maxRingSize',
    options.maxRingSize ?? DEFAULT_MAX_RING_SIZE,
    1,
    RING_SIZE_UPPER_BOUND,
  );
  if (minRingSize > maxRingSize) {
    throw new RangeError(`minRingSize (${minRingSize}) must not exceed maxRingSize (${maxRingSize})`);
  }
  const tableSize = checkInteger('tableSize', options.tableSize ?? DEFAULT_TABLE_SIZE, 2, MAX_TABLE_SIZE);
  if (!isPrime(tableSize)) throw new RangeError(`tableSize must be a prime, got ${tableSize}`);
  return { vnodes, minRingSize, maxRingSize, tableSize };
}

/** The RangeError for a member whose id was listed before it. */
export function duplicateIdError(index: number, id: string): RangeError {
  return new RangeError(`members[${index}].id is a duplicate: ${JSON.stringify(id)}`);
}

/** The first index below `end` whose id appeared before it, or -1. Ids below `end` must be strings. */
function firstDuplicate(members: readonly RingMember[], end: number): number {
  const seen = new Set<string>();
  for (let i = 0; i < end; i++) {
    const id = members[i]!.id;
    if (seen.has(id)) return i;
    seen.add(id);
  }
  return -1;
}

/**
 * Validates a member list for a build; returns each member's weight (default 1). With
 * `checkDuplicates` false the caller must reject duplicate ids itself, with
 * {@link duplicateIdError} for the first one (`IdOrder` does): the list is then checked
 * without an N-entry set, and a later error still reports an earlier duplicate first.
 */
export function checkMembers(members: readonly RingMember[], checkDuplicates = true): Float64Array {
  if (!Array.isArray(members) || members.length === 0) {
    throw new RangeError('members must be a non-empty list');
  }
  if (members.length > 0x1fffff) throw new RangeError(`too many members: ${members.length} (max 2097151)`);
  const weights = new Float64Array(members.length);
  const seen = checkDuplicates ? new Set<string>() : undefined;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (typeof m?.id !== 'string') {
      throwDuplicateBefore(members, i, seen);
      throw new RangeError(`members[${i}].id must be a string`);
    }
    if (seen !== undefined) {
      if (seen.has(m.id)) throw duplicateIdError(i, m.id);
      seen.add(m.id);
    }
    const w = m.weight ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throwDuplicateBefore(members, i + 1, seen);
      throw new RangeError(
        `members[${i}].weight must be a finite number > 0, got ${String(w)} (id ${JSON.stringify(m.id)})`,
      );
    }
    weights[i] = w;
  }
  return weights;
}

/** Without a set of seen ids, an error at one index reports a duplicate below `end` first. */
function throwDuplicateBefore(
  members: readonly RingMember[],
  end: number,
  seen: Set<string> | undefined,
): void {
  if (seen !== undefined) return;
  const d = firstDuplicate(members, end);
  if (d >= 0) throw duplicateIdError(d, members[d]!.id);
}
