/**
 * The order in which a key's candidate members are tried when its owner cannot take the call:
 * down (failover) or at its limit (bounded load). Shared by the balancer's picker and the
 * distribution simulation, so that `simulate` measures the order the balancer uses.
 *
 * - Ring walk (ketama, ring_hash, maglev failover; A42, grpc-go): the distinct members met
 *   walking on from the key's position.
 * - Seeded probe (Envoy's `hash_balance_factor` spill, "random jump", arXiv 1908.08762): a
 *   Fisher–Yates permutation of all members seeded by the key hash, so a hot member's overflow
 *   spreads over every member instead of piling onto its ring successors. Measured against the
 *   walk (see {@link DEFAULT_SPILL_ORDER}); `simulate --spill seeded` reproduces it.
 * - Score order (rendezvous, both cases): members by descending score for the key.
 *
 * Every order yields each member at most once and allocates nothing per key: visited members
 * are stamped, the seeded permutation and the score heap live in arrays reused by every key.
 */
import type { RendezvousRing } from './rendezvous';
import type { HashRing, RingAlgorithm } from './types';

/** How bounded load spills past a member at its limit on a ring: walk on, or probe a seeded permutation. */
export type SpillOrder = 'walk' | 'seeded';

/**
 * The spill order each ring algorithm uses in the balancer. Measured with `simulate` (Zipf 1.1,
 * c = 1.25; docs/rings.md): the seeded probe sent no fewer calls off their first choice than the
 * walk, and moved 1.1–1.9× as many calls when a backend left, so every ring keeps the walk.
 */
export const DEFAULT_SPILL_ORDER: Readonly<Record<RingAlgorithm, SpillOrder>> = {
  ketama: 'walk',
  ring_hash: 'walk',
  maglev: 'walk',
  // Rendezvous spills in score order; this entry is not used.
  rendezvous: 'walk',
};

/** The spill orders, for validation and help text. */
export const SPILL_ORDERS: readonly SpillOrder[] = ['walk', 'seeded'];

const UINT32 = 0x1_0000_0000;
/** What {@link CandidateOrder.next} yields from: the ring walk (or a rendezvous owner), the score heap, the seeded probe. */
const WALK = 0;
const SCORE = 1;
const PROBE = 2;

/**
 * Candidate members of one key at a time, in failover order, switching to the spill order on
 * {@link spill}. One instance per ring (or picker); not reentrant.
 */
export class CandidateOrder {
  private readonly memberCount: number;
  /** Per-member stamp of the key that visited it: a visited set without allocation. */
  private readonly visited: Uint32Array;
  private stamp = 0;
  private distinct = 0;
  private mode: typeof WALK | typeof SCORE | typeof PROBE = WALK;
  // Ring walk
  private walkStart = 0;
  private walkStep = 0;
  // Key hash, computed only when an order needs it
  private hashKnown = false;
  private key: string | null = null;
  private readonly hash = new Uint32Array(2);
  // Seeded probe: a lazy Fisher–Yates shuffle; slot i holds `slots[i]` when `slotStamps[i]` is current, else i.
  private slots: Uint32Array | null = null;
  private slotStamps: Uint32Array | null = null;
  private probeNext = 0;
  private random = 0;
  // Score order: a binary max-heap of ranks
  private heap: Uint32Array | null = null;
  private heapSize = 0;
  private scores: Float64Array | null = null;
  private draws: Float64Array | null = null;

  constructor(
    readonly ring: HashRing,
    /** Ring algorithms' bounded-load spill order; ignored by rendezvous. */
    readonly spillOrder: SpillOrder = DEFAULT_SPILL_ORDER[ring.algorithm],
  ) {
    this.memberCount = ring.members.length;
    this.visited = new Uint32Array(this.memberCount);
  }

  /**
   * Starts a key at `position` (its `ring.locate`); the first member is the position's owner.
   * Give the key as a string (hashed only if the order needs it) or as its hash (hi, lo).
   * `skip` (or -1) is a member already tried, which the order passes over.
   */
  start(position: number, key: string | null, hi: number, lo: number, skip = -1): void {
    if (this.stamp >= 0xffff_fffe) {
      this.visited.fill(0);
      this.slotStamps?.fill(0);
      this.stamp = 0;
    }
    this.stamp++;
    this.distinct = 0;
    this.mode = WALK;
    this.walkStart = position;
    this.walkStep = 0;
    this.key = key;
    this.hashKnown = key === null;
    this.hash[0] = hi;
    this.hash[1] = lo;
    if (skip >= 0) this.markVisited(skip);
  }

  /**
   * From now on, yields members in the bounded-load spill order: the seeded probe for a ring whose
   * spill order is 'seeded' (members already yielded are passed over), otherwise the same order on.
   */
  spill(): void {
    if (this.mode !== WALK || this.ring.algorithm === 'rendezvous' || this.spillOrder !== 'seeded') return;
    this.mode = PROBE;
    this.ensureHash();
    if (this.slots === null) {
      this.slots = new Uint32Array(this.memberCount);
      this.slotStamps = new Uint32Array(this.memberCount);
    }
    this.probeNext = 0;
    // Seed a splitmix32-style generator from both hash halves.
    this.random = (this.hash[1]! ^ Math.imul(this.hash[0]!, 0x9e3779b9)) | 0;
  }

  /** The next candidate member (an index into `ring.members`), or -1 when every member was yielded. */
  next(): number {
    while (this.distinct < this.memberCount) {
      const member =
        this.mode === PROBE ? this.nextProbe() : this.mode === SCORE ? this.nextScore() : this.nextWalk();
      if (member < 0) return -1;
      if (this.markVisited(member)) return member;
    }
    return -1;
  }

  private markVisited(member: number): boolean {
    if (this.visited[member] === this.stamp) return false;
    this.visited[member] = this.stamp;
    this.distinct++;
    return true;
  }

  private ensureHash(): void {
    if (this.hashKnown) return;
    this.ring.keyHash(this.key!, this.hash);
    this.hashKnown = true;
  }

  private nextWalk(): number {
    const size = this.ring.size;
    if (this.ring.algorithm === 'rendezvous' && this.walkStep > 0) {
      // The owner came first; the rest need every member's score (computed only now: most keys
      // never get past their owner).
      this.startScoreOrder();
      return this.nextScore();
    }
    if (this.walkStep >= size) return -1;
    let position = this.walkStart + this.walkStep++;
    if (position >= size) position -= size;
    return this.ring.memberAt(position);
  }

  /** Fisher–Yates step i: swap slot i with a random slot in [i, n), yield slot i's member. */
  private nextProbe(): number {
    const n = this.memberCount;
    const i = this.probeNext;
    if (i >= n) return -1;
    this.probeNext = i + 1;
    const slots = this.slots!;
    const stamps = this.slotStamps!;
    const stamp = this.stamp;
    // splitmix32 (Hash Prospector's low-bias mixer): a well-distributed stream from the key seed.
    this.random = (this.random + 0x9e3779b9) | 0;
    let z = this.random;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    const j = i + Math.floor(((z >>> 0) / UINT32) * (n - i));
    const atI = stamps[i] === stamp ? slots[i]! : i;
    const atJ = stamps[j] === stamp ? slots[j]! : j;
    slots[j] = atI;
    stamps[j] = stamp;
    slots[i] = atJ;
    stamps[i] = stamp;
    return atJ;
  }

  private startScoreOrder(): void {
    this.ensureHash();
    const ring = this.ring as RendezvousRing;
    this.draws = ring.scoresFor(this.hash[1]!);
    this.scores = ring.currentScores;
    const n = this.memberCount;
    this.heap ??= new Uint32Array(n);
    const heap = this.heap;
    for (let r = 0; r < n; r++) heap[r] = r;
    this.heapSize = n;
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.siftDown(i);
    this.mode = SCORE;
  }

  private nextScore(): number {
    if (this.heapSize === 0) return -1;
    const heap = this.heap!;
    const top = heap[0]!;
    heap[0] = heap[--this.heapSize]!;
    this.siftDown(0);
    return (this.ring as RendezvousRing).memberAt(top);
  }

  /** Whether rank a comes before rank b: the higher score, then the higher draw, then the lower rank. */
  private before(a: number, b: number): boolean {
    const sa = this.scores![a]!;
    const sb = this.scores![b]!;
    if (sa !== sb) return sa > sb;
    const da = this.draws![a]!;
    const db = this.draws![b]!;
    return da !== db ? da > db : a < b;
  }

  private siftDown(from: number): void {
    const heap = this.heap!;
    const size = this.heapSize;
    const item = heap[from]!;
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, item)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}
