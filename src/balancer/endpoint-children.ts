import * as grpc from '@grpc/grpc-js';
import type { ChildStateCounts } from './aggregate-state';
import { EndpointLoad, type InFlightTotal, type LoadGateMember } from './bounded-load-gate';
import type { RingChild } from './picker';

type Endpoint = grpc.experimental.Endpoint;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/**
 * One endpoint: its pick_first child and what the ring needs to know about it. The child
 * (a `LeafLoadBalancer`) is made when the endpoint is first connected, so an endpoint no call
 * reaches costs one small object, whatever the fleet size.
 */
export class ChildEntry implements RingChild, LoadGateMember {
  leaf: grpc.experimental.LeafLoadBalancer | null = null;
  private endpointLoad: EndpointLoad | null = null;
  lastError: string | null = null;
  /** The state the leaf last reported (IDLE before it exists); what the counts hold. */
  state: grpc.connectivityState = IDLE;
  connectScheduled = false;
  removed = false;
  /** The update that last listed this endpoint, to find the ones it no longer lists. */
  seenInUpdate = 0;
  /** Its links in {@link IdleChildren} while it is there. */
  idleListed = false;
  idlePrevious: ChildEntry | null = null;
  idleNext: ChildEntry | null = null;

  constructor(
    public endpoint: Endpoint,
    readonly addressKey: string,
    public hashKey: string,
    public weight: number,
    private readonly inFlight: InFlightTotal,
  ) {}

  /** In-flight calls (counted only while bounded load is on); kept across pickers. Made on first use. */
  get load(): EndpointLoad {
    this.endpointLoad ??= new EndpointLoad(this.inFlight);
    return this.endpointLoad;
  }

  get name(): string {
    return this.hashKey;
  }

  get started(): boolean {
    return this.leaf !== null;
  }

  getConnectivityState(): grpc.connectivityState {
    return this.state;
  }

  getPicker(): grpc.experimental.Picker {
    // Only READY children are picked through, and only a leaf reports READY.
    return this.leaf!.getPicker();
  }

  /** The endpoint left: its connection closes, its load leaves the total, late state updates are ignored. */
  shutdown(): void {
    this.removed = true;
    this.endpointLoad?.detach();
    this.leaf?.destroy();
  }
}

/**
 * IDLE children in the order they became idle: a list linked through the children themselves,
 * so that a first list of N idle endpoints adds no N-entry Set (a tenth of its bookkeeping).
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

  clear(): void {
    while (this.head !== null) this.delete(this.head);
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
 * The policy's children, indexed by the canonical key of their address set (a `Map`: grpc-js's
 * `EndpointMap` scans every entry per lookup, O(N²) per update), with running counts per state
 * and the set of IDLE children, so that aggregate state and eager reconnects cost O(1) per event
 * instead of a scan of every endpoint.
 */
export class EndpointChildren {
  private readonly byAddress = new Map<string, ChildEntry>();
  /** IDLE children in the order they became idle. */
  readonly idle = new IdleChildren();
  private ready = 0;
  private connecting = 0;
  private transientFailure = 0;
  /** Sum of the READY children's weights (for bounded load); exactly 0 when none is READY. */
  private readyWeightSum = 0;

  get size(): number {
    return this.byAddress.size;
  }

  get(addressKey: string): ChildEntry | undefined {
    return this.byAddress.get(addressKey);
  }

  values(): IterableIterator<ChildEntry> {
    return this.byAddress.values();
  }

  add(child: ChildEntry): void {
    this.byAddress.set(child.addressKey, child);
    this.count(child.state, child.weight, 1);
    if (child.state === IDLE) this.idle.add(child);
  }

  /** Takes `child` out of the index and the counts; the caller shuts it down. */
  delete(child: ChildEntry): void {
    if (this.byAddress.get(child.addressKey) !== child) return;
    this.byAddress.delete(child.addressKey);
    this.count(child.state, child.weight, -1);
    this.idle.delete(child);
  }

  /** Records a state change reported by `child`'s leaf. */
  setState(child: ChildEntry, state: grpc.connectivityState): void {
    if (this.byAddress.get(child.addressKey) !== child) {
      child.state = state;
      return;
    }
    this.count(child.state, child.weight, -1);
    if (child.state === IDLE) this.idle.delete(child);
    child.state = state;
    this.count(state, child.weight, 1);
    if (state === IDLE) this.idle.add(child);
  }

  /** Changes a child's weight, keeping the READY weight sum right. */
  setWeight(child: ChildEntry, weight: number): void {
    if (child.weight === weight) return;
    this.count(child.state, child.weight, -1);
    child.weight = weight;
    this.count(child.state, weight, 1);
  }

  counts(): ChildStateCounts {
    const total = this.byAddress.size;
    return {
      ready: this.ready,
      connecting: this.connecting,
      idle: this.idle.size,
      transientFailure: this.transientFailure,
      total,
    };
  }

  readyWeight(): number {
    return this.ready === 0 ? 0 : this.readyWeightSum;
  }

  clear(): void {
    this.byAddress.clear();
    this.idle.clear();
    this.ready = 0;
    this.connecting = 0;
    this.transientFailure = 0;
    this.readyWeightSum = 0;
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
