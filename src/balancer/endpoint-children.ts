import * as grpc from '@grpc/grpc-js';
import type { ChildStateCounts } from './aggregate-state';
import { EndpointLoad, type InFlightTotal, type LoadGateMember } from './bounded-load-gate';
import type { RingChild } from './picker';
import { IndexedMember } from './ring-members';

type Endpoint = grpc.experimental.Endpoint;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/** What an endpoint has once it was first connected: its pick_first child and what it reported. */
export class ChildConnection {
  /** The endpoint the leaf was made or last updated with (pick_first cares about address order). */
  leafEndpoint: Endpoint;
  lastError: string | null = null;
  private endpointLoad: EndpointLoad | null = null;

  constructor(
    readonly leaf: grpc.experimental.LeafLoadBalancer,
    endpoint: Endpoint,
    private readonly inFlight: InFlightTotal,
  ) {
    this.leafEndpoint = endpoint;
  }

  /** In-flight calls (counted only while bounded load is on); kept across pickers. Made on first use. */
  get load(): EndpointLoad {
    this.endpointLoad ??= new EndpointLoad(this.inFlight);
    return this.endpointLoad;
  }

  close(): void {
    this.endpointLoad?.detach();
    this.leaf.destroy();
  }
}

/**
 * One endpoint (an address set): the ring member it is listed as ({@link IndexedMember}, kept by
 * the policy's member index), its state, and its connection once it has one. An endpoint no call
 * reaches costs this one object and one Map entry, whatever the fleet size.
 *
 * The member fields follow the latest list, even while a ring built from an earlier one serves;
 * what the serving state counts (`attached`, `servingWeight`, the connection) changes only when
 * an update is applied.
 */
export class ChildEntry extends IndexedMember implements RingChild, LoadGateMember {
  /** Made when the endpoint is first connected (lazily, or at once when eager). */
  connection: ChildConnection | null = null;
  /** The state its leaf last reported (IDLE before it has one); what the counts hold. */
  state: grpc.connectivityState = IDLE;
  /**
   * One of the policy's children: counted, and kept in the index when a list leaves it out.
   * False again once it is removed: late state updates and scheduled connects are then ignored.
   */
  attached = false;
  connectScheduled = false;
  /** Its weight in the applied update: what the READY weight sum and bounded load use. */
  servingWeight = 1;
  /** Its links in {@link IdleChildren} while it is there. */
  idleListed = false;
  idlePrevious: ChildEntry | null = null;
  idleNext: ChildEntry | null = null;

  override get evictable(): boolean {
    return !this.attached;
  }

  /** Only READY children are gated, and only a connected one reports READY. */
  get load(): EndpointLoad {
    return this.connection!.load;
  }

  get lastError(): string | null {
    return this.connection?.lastError ?? null;
  }

  get name(): string {
    return this.hashKey;
  }

  getConnectivityState(): grpc.connectivityState {
    return this.state;
  }

  getPicker(): grpc.experimental.Picker {
    // Only READY children are picked through, and only a leaf reports READY.
    return this.connection!.leaf.getPicker();
  }
}

/**
 * IDLE children in the order they became idle: a list linked through the children themselves,
 * so that a first list of N idle endpoints adds no N-entry Set.
 */
export class IdleChildren implements Iterable<ChildEntry> {
  private head: ChildEntry | null = null;
  private tail: ChildEntry | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The child idle longest, or null. */
  first(): ChildEntry | null {
    return this.head;
  }

  add(child: ChildEntry): void {
    if (child.idleListed) return;
    child.idleListed = true;
    child.idlePrevious = this.tail;
    child.idleNext = null;
    if (this.tail === null) this.head = child;
    else this.tail.idleNext = child;
    this.tail = child;
    this.count++;
  }

  delete(child: ChildEntry): void {
    if (!child.idleListed) return;
    const { idlePrevious, idleNext } = child;
    if (idlePrevious === null) this.head = idleNext;
    else idlePrevious.idleNext = idleNext;
    if (idleNext === null) this.tail = idlePrevious;
    else idleNext.idlePrevious = idlePrevious;
    child.idleListed = false;
    child.idlePrevious = null;
    child.idleNext = null;
    this.count--;
  }

  /** In idle order; the child just yielded may leave the list. */
  *[Symbol.iterator](): Iterator<ChildEntry> {
    for (let child = this.head; child !== null; ) {
      const next = child.idleNext;
      yield child;
      child = next;
    }
  }
}

/**
 * Running counts of the policy's children per state, and the IDLE ones in order, so that
 * aggregate state and eager reconnects cost O(1) per event instead of a scan of every endpoint.
 * The children themselves are indexed by the policy's member index (a `Map` by the canonical key
 * of their address set: grpc-js's `EndpointMap` scans every entry per lookup, O(N²) per update).
 */
export class EndpointChildren {
  /** IDLE children in the order they became idle. */
  readonly idle = new IdleChildren();
  private total = 0;
  private ready = 0;
  private connecting = 0;
  private transientFailure = 0;
  /** Sum of the READY children's weights (for bounded load); exactly 0 when none is READY. */
  private readyWeightSum = 0;

  get size(): number {
    return this.total;
  }

  /** Makes `child` one of the children, counted in its state with its weight from the last list. */
  add(child: ChildEntry): void {
    if (child.attached) return;
    child.attached = true;
    child.servingWeight = child.weight;
    this.total++;
    this.count(child.state, child.servingWeight, 1);
    if (child.state === IDLE) this.idle.add(child);
  }

  /** Takes `child` out of the counts; the caller shuts it down. */
  delete(child: ChildEntry): void {
    if (!child.attached) return;
    child.attached = false;
    this.total--;
    this.count(child.state, child.servingWeight, -1);
    this.idle.delete(child);
  }

  /** Records a state change reported by `child`'s leaf. */
  setState(child: ChildEntry, state: grpc.connectivityState): void {
    if (!child.attached) {
      child.state = state;
      return;
    }
    this.count(child.state, child.servingWeight, -1);
    if (child.state === IDLE) this.idle.delete(child);
    child.state = state;
    this.count(state, child.servingWeight, 1);
    if (state === IDLE) this.idle.add(child);
  }

  /** Applies the weight the last list gave `child`, keeping the READY weight sum right. */
  applyWeight(child: ChildEntry): void {
    const weight = child.weight;
    if (child.servingWeight === weight || !child.attached) return;
    this.count(child.state, child.servingWeight, -1);
    child.servingWeight = weight;
    this.count(child.state, weight, 1);
  }

  counts(): ChildStateCounts {
    return {
      ready: this.ready,
      connecting: this.connecting,
      idle: this.idle.size,
      transientFailure: this.transientFailure,
      total: this.total,
    };
  }

  readyWeight(): number {
    return this.ready === 0 ? 0 : this.readyWeightSum;
  }

  private count(state: grpc.connectivityState, weight: number, delta: 1 | -1): void {
    if (state === READY) {
      this.ready += delta;
      // Floating-point sums drift; with no READY child the sum is exactly 0 again.
      this.readyWeightSum = this.ready === 0 ? 0 : this.readyWeightSum + delta * weight;
    } else if (state === CONNECTING) this.connecting += delta;
    else if (state === TRANSIENT_FAILURE) this.transientFailure += delta;
  }
}
