/**
 * Key-distribution simulation for the rings: seeded key streams (uniform or Zipf), per-member
 * load, balance figures, keys moved when a member leaves or joins, and the bounded-load
 * assignment. Shared by `grpc-consistent-hash simulate` and `bench/distribution.bench.ts`.
 * Pure: no gRPC, no I/O.
 */
import { boundedLoadFactorError, boundedLoadLimit } from './bounded-load';
import { CandidateOrder, DEFAULT_SPILL_ORDER, type SpillOrder } from './candidate-order';
import { crc32String } from './crc32';
import { createRingBuilder } from './index';
import { ringOwnership } from './ownership';
import { keyHashBits } from './ring-options';
import type { HashRing, RingAlgorithm, RingMember, RingOptions } from './types';
import { xxh64String } from './xxhash64';

/** A deterministic pseudo-random source of numbers in [0, 1) (mulberry32). */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** A 32-bit seed from text: a decimal uint32 is used as it is, anything else is hashed (CRC-32). */
export function seedFromText(text: string): number {
  return /^[0-9]{1,10}$/.test(text) && Number(text) <= 0xffff_ffff ? Number(text) : crc32String(text);
}

/** A stream of requests, each carrying one key. */
export interface KeySample {
  /** The distinct keys. */
  readonly keys: readonly string[];
  /** One entry per request, in arrival order: an index into `keys`. */
  readonly requests: Uint32Array;
  /** The Zipf exponent, or null for uniform keys. */
  readonly zipf: number | null;
}

/** How to generate a {@link KeySample}. */
export interface KeySampleOptions {
  /** Number of requests (and, for Zipf, the number of distinct keys ranked by popularity). */
  readonly count: number;
  /** Zipf exponent s > 0: key of rank r is drawn with probability ∝ r^-s. Absent or null: uniform. */
  readonly zipf?: number | null;
  readonly seed: number;
}

/**
 * Generates a seeded key stream. Uniform: `count` distinct random keys, one request each.
 * Zipf(s): `count` requests drawn from `count` random keys ranked by popularity.
 * @throws RangeError for a count that is not an integer in [1, 10^8] or a bad exponent.
 */
export function generateKeys(options: KeySampleOptions): KeySample {
  const { count, seed } = options;
  const zipf = options.zipf ?? null;
  if (!Number.isInteger(count) || count < 1 || count > 100_000_000) {
    throw new RangeError(`count must be an integer in [1, 100000000], got ${String(count)}`);
  }
  if (zipf !== null && (typeof zipf !== 'number' || !Number.isFinite(zipf) || zipf <= 0 || zipf > 10)) {
    throw new RangeError(`zipf must be a number in (0, 10], got ${String(zipf)}`);
  }
  const random = createPrng(seed);
  const keys: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const a = ((random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, '0');
    const b = ((random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, '0');
    // The index suffix keeps keys distinct whatever the random part.
    keys[i] = `user-${a}${b}-${i.toString(36)}`;
  }
  const requests = new Uint32Array(count);
  if (zipf === null) {
    for (let i = 0; i < count; i++) requests[i] = i;
    return { keys, requests, zipf };
  }
  // Cumulative weights of ranks 1..count, then a binary search per draw.
  const cdf = new Float64Array(count);
  let total = 0;
  for (let r = 0; r < count; r++) {
    total += (r + 1) ** -zipf;
    cdf[r] = total;
  }
  for (let i = 0; i < count; i++) {
    const u = random() * total;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cdf[mid]! <= u) low = mid + 1;
      else high = mid;
    }
    requests[i] = low;
  }
  return { keys, requests, zipf };
}

/** 64-bit key hashes as uint32 halves; for ketama and rendezvous only `lo` is used. */
export interface KeyHashes {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
}

/** Hashes keys the way the balancer hashes a header value: CRC-32 for ketama and rendezvous, XXH64 (seed 0) otherwise. */
export function hashKeys(algorithm: RingAlgorithm, keys: readonly string[]): KeyHashes {
  const hi = new Uint32Array(keys.length);
  const lo = new Uint32Array(keys.length);
  if (keyHashBits(algorithm) === 32) {
    for (let i = 0; i < keys.length; i++) lo[i] = crc32String(keys[i]!);
  } else {
    const out = new Uint32Array(2);
    for (let i = 0; i < keys.length; i++) {
      xxh64String(keys[i]!, 0, out);
      hi[i] = out[0]!;
      lo[i] = out[1]!;
    }
  }
  return { hi, lo };
}

/** Each member's weight (default 1), indexed like `members`. */
export function memberWeights(members: readonly RingMember[]): Float64Array {
  return Float64Array.from(members, (m) => m.weight ?? 1);
}

/**
 * The member (index into `ring.members`) serving each request.
 *
 * Without bounded load, a request goes to its key's owner. With a balance factor c, requests
 * arrive in order and stay in flight (all of them, the worst case for the bound, or with
 * `inFlight` set, each until `inFlight` later requests have arrived); each goes to its owner
 * if the owner's load is below `boundedLoadLimit(c, total, w, W)`, else to the first member under
 * its limit in the spill order the balancer uses ({@link CandidateOrder}: `spillOrder` for the
 * rings, score order for rendezvous), else to the owner.
 */
export function assignRequests(
  ring: HashRing,
  hashes: KeyHashes,
  requests: Uint32Array,
  boundedLoad: number | null = null,
  spillOrder: SpillOrder = DEFAULT_SPILL_ORDER[ring.algorithm],
  inFlight: number | null = null,
): Uint32Array {
  const keyCount = hashes.lo.length;
  const keyPosition = new Uint32Array(keyCount);
  for (let k = 0; k < keyCount; k++) keyPosition[k] = ring.locate(hashes.hi[k]!, hashes.lo[k]!);
  const assigned = new Uint32Array(requests.length);
  if (boundedLoad === null) {
    for (let r = 0; r < requests.length; r++) assigned[r] = ring.memberAt(keyPosition[requests[r]!]!);
    return assigned;
  }
  const factorError = boundedLoadFactorError(boundedLoad);
  if (factorError !== null) throw new RangeError(`boundedLoad ${factorError}`);
  const n = ring.members.length;
  const weights = memberWeights(ring.members);
  let totalWeight = 0;
  for (const w of weights) totalWeight += w;
  const loads = new Float64Array(n);
  const order = new CandidateOrder(ring, spillOrder);
  let total = 0;
  for (let r = 0; r < requests.length; r++) {
    if (inFlight !== null && r >= inFlight) {
      // The request that arrived `inFlight` requests ago ends.
      loads[assigned[r - inFlight]!]!--;
      total--;
    }
    const key = requests[r]!;
    const owner = ring.memberAt(keyPosition[key]!);
    let chosen = owner;
    if (!(loads[owner]! < boundedLoadLimit(boundedLoad, total, weights[owner]!, totalWeight))) {
      order.start(keyPosition[key]!, null, hashes.hi[key]!, hashes.lo[key]!, owner);
      order.spill();
      for (let member = order.next(); member >= 0; member = order.next()) {
        if (loads[member]! < boundedLoadLimit(boundedLoad, total, weights[member]!, totalWeight)) {
          chosen = member;
          break;
        }
      }
    }
    assigned[r] = chosen;
    loads[chosen]!++;
    total++;
  }
  return assigned;
}

/** The fraction of requests not served by their key's owner (bounded load spilled them). */
export function offFirstChoice(
  ring: HashRing,
  hashes: KeyHashes,
  requests: Uint32Array,
  assigned: Uint32Array,
): number {
  let off = 0;
  for (let r = 0; r < requests.length; r++) {
    const key = requests[r]!;
    if (ring.memberAt(ring.locate(hashes.hi[key]!, hashes.lo[key]!)) !== assigned[r]) off++;
  }
  return requests.length > 0 ? off / requests.length : 0;
}

/** Requests per member, indexed like the members. */
export function memberLoads(assigned: Uint32Array, memberCount: number): Float64Array {
  const loads = new Float64Array(memberCount);
  for (let r = 0; r < assigned.length; r++) loads[assigned[r]!]!++;
  return loads;
}

/** Balance figures of a load vector against the weights. */
export interface BalanceFigures {
  /** Each member's fraction of the total; sums to 1. */
  readonly shares: Float64Array;
  /** Each member's ideal fraction, w / W. */
  readonly ideal: Float64Array;
  /** The largest share / ideal ratio: max/mean load, relative to each member's weight. */
  readonly maxOverMean: number;
  /**
   * Coefficient of variation of the share / ideal ratios, weighted by the ideal shares (their
   * weighted mean is 1); for equal weights, the population standard deviation / mean of the loads.
   */
  readonly cv: number;
}

/** Shares, max/mean and CV of per-member loads (or ownership fractions) against the weights. */
export function balanceFigures(loads: ArrayLike<number>, weights: ArrayLike<number>): BalanceFigures {
  const n = loads.length;
  let totalLoad = 0;
  let totalWeight = 0;
  for (let i = 0; i < n; i++) {
    totalLoad += loads[i]!;
    totalWeight += weights[i]!;
  }
  const shares = new Float64Array(n);
  const ideal = new Float64Array(n);
  let max = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    shares[i] = totalLoad > 0 ? loads[i]! / totalLoad : 0;
    ideal[i] = weights[i]! / totalWeight;
    const ratio = shares[i]! / ideal[i]!;
    if (ratio > max) max = ratio;
    // The ideal-weighted mean of the ratios is exactly 1 (the shares sum to 1).
    variance += ideal[i]! * (ratio - 1) ** 2;
  }
  const cv = Math.sqrt(variance);
  return { shares, ideal, maxOverMean: max, cv };
}

/**
 * The fraction of requests whose member changes between two assignments of the same requests
 * (members compared by id, since indexes differ between rings).
 */
export function movedFraction(
  before: Uint32Array,
  beforeMembers: readonly RingMember[],
  after: Uint32Array,
  afterMembers: readonly RingMember[],
): number {
  const afterIndex = new Map<string, number>();
  for (let i = 0; i < afterMembers.length; i++) afterIndex.set(afterMembers[i]!.id, i);
  const map = Int32Array.from(beforeMembers, (m) => afterIndex.get(m.id) ?? -1);
  let moved = 0;
  for (let r = 0; r < before.length; r++) if (map[before[r]!] !== after[r]) moved++;
  return before.length > 0 ? moved / before.length : 0;
}

/**
 * How evenly the requests of removed member `removed` spread over the survivors: the largest
 * survivor's part of them divided by its fair part (its weight over the survivors' total weight).
 * 1 is perfectly even; `after` indexes the member list without `removed`. 0 when it had none.
 */
export function removedSpread(
  before: Uint32Array,
  removed: number,
  after: Uint32Array,
  weights: Float64Array,
): number {
  const n = weights.length;
  const counts = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < before.length; r++) {
    if (before[r] !== removed) continue;
    const a = after[r]!;
    // Back to the full list's indexes: members after `removed` shifted down by one.
    counts[a >= removed ? a + 1 : a]!++;
    total++;
  }
  if (total === 0) return 0;
  let restWeight = 0;
  for (let j = 0; j < n; j++) if (j !== removed) restWeight += weights[j]!;
  let worst = 0;
  for (let j = 0; j < n; j++) {
    if (j === removed) continue;
    worst = Math.max(worst, counts[j]! / total / (weights[j]! / restWeight));
  }
  return worst;
}

/** `count` synthetic member addresses 10.x.y.z:50051 (documentation only: never contacted). */
export function syntheticMembers(count: number): RingMember[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return { id: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:50051` };
  });
}

/** What to simulate. */
export interface DistributionSetup {
  readonly algorithm: RingAlgorithm;
  readonly members: readonly RingMember[];
  readonly options?: RingOptions;
  readonly keys: KeySample;
  /** Bounded-load balance factor c ≥ 1, or null/absent for plain consistent hashing. */
  readonly boundedLoad?: number | null;
  /** The rings' bounded-load spill order (default: the balancer's, {@link DEFAULT_SPILL_ORDER}); rendezvous spills in score order. */
  readonly spillOrder?: SpillOrder;
  /** Under bounded load, requests in flight at once (each ends when this many more have arrived); absent or null: all stay in flight. */
  readonly inFlight?: number | null;
  /**
   * Members to remove one at a time for the "moved on leave" figures: `'all'` (the default), or
   * a count, spread evenly over the member list (cheaper for large N).
   */
  readonly leaving?: 'all' | number;
  /** Id of the member that joins for the "moved on join" figure (weight 1); default: an unused 10.254.x.y address. */
  readonly joiningId?: string;
  /** Called after each ring build and assignment, with steps done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** One member's line of a {@link DistributionReport}. */
export interface MemberDistribution {
  readonly id: string;
  readonly weight: number;
  /** Requests it serves. */
  readonly requests: number;
  /** Its fraction of the requests. */
  readonly share: number;
  /** Its ideal fraction, w / W. */
  readonly idealShare: number;
  /** Its exact fraction of the hash space ({@link ringOwnership}). */
  readonly ownedShare: number;
  /** Fraction of all requests that change member when it leaves; null when not measured. */
  readonly movedOnLeave: number | null;
}

/** The result of {@link simulateDistribution}. */
export interface DistributionReport {
  readonly algorithm: RingAlgorithm;
  readonly ringSize: number;
  readonly requests: number;
  readonly distinctKeys: number;
  readonly zipf: number | null;
  readonly boundedLoad: number | null;
  /** The spill order used under bounded load: 'walk' or 'seeded' for the rings, 'score' for rendezvous. */
  readonly spillOrder: SpillOrder | 'score';
  /** Requests in flight at once under bounded load; null: all stay in flight. */
  readonly inFlight: number | null;
  /** Fraction of requests not served by their key's owner (0 without bounded load). */
  readonly offFirstChoice: number;
  readonly members: readonly MemberDistribution[];
  /** Request load: largest share / ideal, and CV. */
  readonly maxOverMean: number;
  readonly cv: number;
  /** Exact hash-space ownership: largest share / ideal, and CV (independent of the keys). */
  readonly ownedMaxOverMean: number;
  readonly ownedCv: number;
  /**
   * Over the members removed one at a time: mean fraction moved, mean ideal (w / W), and their
   * ratio; the spread of the removed member's requests over the survivors (the largest survivor's
   * part of them against its fair part, w / W of the survivors), mean and worst; and, after the
   * removal, the load max/mean and the fraction off first choice (means).
   */
  readonly leave: {
    readonly measured: number;
    readonly moved: number;
    readonly ideal: number;
    readonly ratio: number;
    readonly spread: number;
    readonly worstSpread: number;
    readonly maxOverMean: number;
    readonly offFirstChoice: number;
  };
  /** One member of weight 1 joining: fraction moved, ideal 1 / (W + 1) for total weight W, ratio. */
  readonly join: {
    readonly id: string;
    readonly moved: number;
    readonly ideal: number;
    readonly ratio: number;
  };
}

function joiningMemberId(members: readonly RingMember[]): string {
  const ids = new Set(members.map((m) => m.id));
  for (let n = 1; ; n++) {
    const id = `10.254.${(n >> 8) & 255}.${n & 255}:50051`;
    if (!ids.has(id)) return id;
  }
}

/** Indexes of `count` members spread evenly over `n`. */
function spreadIndexes(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  for (let j = 0; j < count; j++) picked.add(Math.floor((j * n) / count));
  return [...picked];
}

/**
 * Builds the ring, assigns every request, then rebuilds it without each leaving member and with
 * one joining member and counts the requests that change member. Moved fractions are of requests
 * (traffic); for uniform keys that is the fraction of keys.
 * @throws RangeError for bad members, options or factor (from the ring builder).
 */
export function simulateDistribution(setup: DistributionSetup): DistributionReport {
  const { algorithm, members, keys } = setup;
  const boundedLoad = setup.boundedLoad ?? null;
  const builder = createRingBuilder(algorithm, setup.options);
  const ring = builder.build(members);
  const hashes = hashKeys(algorithm, keys.keys);
  const n = members.length;
  const leaving = setup.leaving === undefined || setup.leaving === 'all' ? n : setup.leaving;
  const leaveIndexes = n > 1 ? spreadIndexes(n, Math.max(0, Math.floor(leaving))) : [];
  const steps = 2 + leaveIndexes.length;
  let done = 0;
  const progress = () => setup.onProgress?.(++done, steps);

  const spillOrder = setup.spillOrder ?? DEFAULT_SPILL_ORDER[algorithm];
  const inFlight = setup.inFlight ?? null;
  if (inFlight !== null && !(Number.isInteger(inFlight) && inFlight >= 1)) {
    throw new RangeError(`inFlight must be an integer >= 1, got ${String(inFlight)}`);
  }
  const assign = (r: HashRing) => assignRequests(r, hashes, keys.requests, boundedLoad, spillOrder, inFlight);
  const base = assign(ring);
  const weights = memberWeights(members);
  const loads = memberLoads(base, n);
  const load = balanceFigures(loads, weights);
  const owned = balanceFigures(ringOwnership(ring), weights);
  progress();

  const movedOnLeave: (number | null)[] = new Array(n).fill(null);
  let movedSum = 0;
  let idealSum = 0;
  let spreadSum = 0;
  let worstSpread = 0;
  let leaveMaxSum = 0;
  let leaveOffSum = 0;
  for (const i of leaveIndexes) {
    const rest = members.filter((_, j) => j !== i);
    const restRing = builder.build(rest);
    const after = assign(restRing);
    movedOnLeave[i] = movedFraction(base, members, after, rest);
    movedSum += movedOnLeave[i]!;
    idealSum += load.ideal[i]!;
    const spread = removedSpread(base, i, after, weights);
    spreadSum += spread;
    worstSpread = Math.max(worstSpread, spread);
    leaveMaxSum += balanceFigures(memberLoads(after, rest.length), memberWeights(rest)).maxOverMean;
    leaveOffSum += boundedLoad === null ? 0 : offFirstChoice(restRing, hashes, keys.requests, after);
    progress();
  }
  const measured = leaveIndexes.length;

  const joinId = setup.joiningId ?? joiningMemberId(members);
  const joined = [...members, { id: joinId, weight: 1 }];
  const afterJoin = assign(builder.build(joined));
  const joinMoved = movedFraction(base, members, afterJoin, joined);
  let totalWeight = 0;
  for (const w of weights) totalWeight += w;
  const joinIdeal = 1 / (totalWeight + 1);
  progress();

  return {
    algorithm,
    ringSize: ring.size,
    requests: keys.requests.length,
    distinctKeys: keys.keys.length,
    zipf: keys.zipf,
    boundedLoad,
    spillOrder: algorithm === 'rendezvous' ? 'score' : spillOrder,
    inFlight,
    offFirstChoice: boundedLoad === null ? 0 : offFirstChoice(ring, hashes, keys.requests, base),
    members: members.map((m, i) => ({
      id: m.id,
      weight: weights[i]!,
      requests: loads[i]!,
      share: load.shares[i]!,
      idealShare: load.ideal[i]!,
      ownedShare: owned.shares[i]!,
      movedOnLeave: movedOnLeave[i]!,
    })),
    maxOverMean: load.maxOverMean,
    cv: load.cv,
    ownedMaxOverMean: owned.maxOverMean,
    ownedCv: owned.cv,
    leave: {
      measured,
      moved: measured > 0 ? movedSum / measured : 0,
      ideal: measured > 0 ? idealSum / measured : 0,
      ratio: idealSum > 0 ? movedSum / idealSum : 0,
      spread: measured > 0 ? spreadSum / measured : 0,
      worstSpread,
      maxOverMean: measured > 0 ? leaveMaxSum / measured : 0,
      offFirstChoice: measured > 0 ? leaveOffSum / measured : 0,
    },
    join: { id: joinId, moved: joinMoved, ideal: joinIdeal, ratio: joinMoved / joinIdeal },
  };
}

export { ringOwnership } from './ownership';
