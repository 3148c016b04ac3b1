import * as grpc from '@grpc/grpc-js';
import { withoutEmptyResolutionNote } from '../grpc-message';
import { createRingBuilder } from '../rings';
import type { HashRing, RingBuilder } from '../rings/types';
import { trace, traceInfo } from '../trace';
import { aggregateState, type ChildStateCounts } from './aggregate-state';
import { BoundedLoadGate, EndpointLoad, InFlightTotal, type LoadGateMember } from './bounded-load-gate';
import { CONSISTENT_HASH_TYPE_NAME, type ConsistentHashSettings, HashPolicyConfig } from './config';
import { KeyPositionCache } from './key-position-cache';
import { ConsistentHashPicker, type PickerHost, type RingChild, unavailablePicker } from './picker';
import { RING_HASH_EXPERIMENTAL_TYPE_NAME } from './ring-hash-experimental-config';
import { ringEndpoints } from './ring-members';

type Endpoint = grpc.experimental.Endpoint;
type ChannelControlHelper = grpc.experimental.ChannelControlHelper;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/** One endpoint: its pick_first child and what the ring needs to know about it. */
class ChildEntry implements RingChild, LoadGateMember {
  leaf!: grpc.experimental.LeafLoadBalancer;
  /** In-flight calls (counted only while bounded load is on); kept across pickers. */
  readonly load: EndpointLoad;
  lastError: string | null = null;
  previousState = IDLE;
  started = false;
  connectScheduled = false;
  removed = false;

  constructor(
    public endpoint: Endpoint,
    public hashKey: string,
    public weight: number,
    inFlight: InFlightTotal,
  ) {
    this.load = new EndpointLoad(inFlight);
  }

  get name(): string {
    return this.hashKey;
  }

  getConnectivityState(): grpc.connectivityState {
    return this.leaf.getConnectivityState();
  }

  getPicker(): grpc.experimental.Picker {
    return this.leaf.getPicker();
  }

  /** The endpoint left: its connection closes, its load leaves the total, late state updates are ignored. */
  shutdown(): void {
    this.removed = true;
    this.load.detach();
    this.leaf.destroy();
  }
}

/**
 * The `consistent_hash` policy: one `LeafLoadBalancer` (pick_first) per endpoint, kept across
 * updates in an `EndpointMap`; a hash ring over the endpoints, rebuilt only when the (hash key,
 * weight) list changes; aggregate state per gRFC A42 with A61's proactive connect.
 */
export class ConsistentHashLoadBalancer implements grpc.experimental.LoadBalancer, PickerHost {
  private readonly children = new grpc.experimental.EndpointMap<ChildEntry>();
  /** Children in ring member order: `ringChildren[ring.memberAt(p)]` owns position p. */
  private ringChildren: ChildEntry[] = [];
  private ring: HashRing | null = null;
  private ringFingerprint = '';
  private cache = new KeyPositionCache();
  private builder: RingBuilder | null = null;
  private builderFingerprint = '';
  private settings: ConsistentHashSettings | null = null;
  private currentState = IDLE;
  private updatesPaused = false;
  private latestError: string | null = null;
  private destroyed = false;
  /** All current endpoints' in-flight calls, for bounded load. */
  private readonly inFlight = new InFlightTotal();

  constructor(private readonly helper: ChannelControlHelper) {}

  updateAddressList(
    endpointList: grpc.experimental.StatusOr<Endpoint[]>,
    lbConfig: grpc.experimental.TypedLoadBalancingConfig,
    channelOptions: grpc.ChannelOptions,
    resolutionNote: string,
  ): boolean {
    if (!(lbConfig instanceof HashPolicyConfig)) {
      trace('lb', `ignoring update with a foreign config ${lbConfig.getLoadBalancerName()}`);
      return false;
    }
    this.destroyed = false;
    const settings = lbConfig.settings;
    this.settings = settings;
    const builderFingerprint = JSON.stringify([settings.algorithm, settings.ringOptions]);
    if (builderFingerprint !== this.builderFingerprint || this.builder === null) {
      this.builder = createRingBuilder(settings.algorithm, settings.ringOptions);
      this.builderFingerprint = builderFingerprint;
      this.ringFingerprint = '';
    }
    if (!endpointList.ok) {
      trace('lb', `resolver error: ${endpointList.error.details}`);
      if (this.ringChildren.length === 0) {
        this.reportUnavailable(endpointList.error.details);
      }
      return true;
    }
    const endpoints = endpointList.value;
    const note = resolutionNote ? ` (${resolutionNote})` : '';
    this.updatesPaused = true;
    const next: ChildEntry[] = [];
    for (const { endpoint, hashKey, weight } of ringEndpoints(endpoints)) {
      let entry = this.children.get(endpoint);
      if (entry) {
        if (
          grpc.experimental.endpointToString(entry.endpoint) !== grpc.experimental.endpointToString(endpoint)
        ) {
          entry.leaf.updateEndpoint(endpoint, channelOptions);
        }
        entry.endpoint = endpoint;
        entry.hashKey = hashKey;
        entry.weight = weight;
      } else {
        entry = this.createChild(endpoint, hashKey, weight, channelOptions, resolutionNote);
      }
      next.push(entry);
    }
    for (const removed of this.children.deleteMissing(next.map((e) => e.endpoint))) removed.shutdown();
    if (next.length === 0) {
      this.updatesPaused = false;
      this.clearRing();
      this.reportUnavailable(`consistent_hash: the resolver returned no endpoints${note}`);
      return false;
    }
    if (!this.rebuildRing(next)) {
      this.updatesPaused = false;
      return false;
    }
    if (settings.connect === 'eager') {
      for (const child of this.ringChildren) if (!child.started) this.connectChild(child);
    }
    this.updatesPaused = false;
    this.updateAggregateState();
    return true;
  }

  exitIdle(): void {
    // Lazy (A42): nothing; a pick connects the key's owner. Eager: reconnect every idle child.
    if (this.settings?.connect === 'eager') {
      for (const child of this.ringChildren)
        if (child.getConnectivityState() === IDLE) this.connectChild(child);
    }
  }

  resetBackoff(): void {
    // pick_first children have no backoff of their own; subchannels keep theirs.
  }

  destroy(): void {
    this.destroyed = true;
    for (const child of this.children.values()) child.shutdown();
    this.children.clear();
    this.clearRing();
    this.currentState = IDLE;
  }

  getTypeName(): string {
    return CONSISTENT_HASH_TYPE_NAME;
  }

  /** Called by the picker for an IDLE child: connects on the next tick, never inside pick(). */
  requestConnect(ringChild: RingChild): void {
    const child = ringChild as ChildEntry;
    if (child.connectScheduled) return;
    child.connectScheduled = true;
    process.nextTick(() => {
      child.connectScheduled = false;
      if (!child.removed && !this.destroyed && child.getConnectivityState() === IDLE)
        this.connectChild(child);
    });
  }

  private createChild(
    endpoint: Endpoint,
    hashKey: string,
    weight: number,
    channelOptions: grpc.ChannelOptions,
    resolutionNote: string,
  ): ChildEntry {
    const entry = new ChildEntry(endpoint, hashKey, weight, this.inFlight);
    const childHelper = grpc.experimental.createChildChannelControlHelper(this.helper, {
      updateState: (state, _picker, errorMessage) => this.onChildState(entry, state, errorMessage),
    });
    entry.leaf = new grpc.experimental.LeafLoadBalancer(
      endpoint,
      childHelper,
      channelOptions,
      resolutionNote,
    );
    this.children.set(endpoint, entry);
    trace('lb', `child created for ${hashKey}`);
    return entry;
  }

  private connectChild(child: ChildEntry): void {
    if (!child.started) {
      child.started = true;
      child.leaf.startConnecting();
    } else {
      child.leaf.exitIdle();
    }
  }

  private connectFirstIdleChild(): void {
    let firstIdle: ChildEntry | null = null;
    for (const child of this.ringChildren) {
      const state = child.getConnectivityState();
      if (state === CONNECTING) return;
      if (state === IDLE && firstIdle === null) firstIdle = child;
    }
    if (firstIdle !== null) this.requestConnect(firstIdle);
  }

  private onChildState(child: ChildEntry, state: grpc.connectivityState, errorMessage: string | null): void {
    if (child.removed || this.destroyed) return;
    if (errorMessage) {
      const error = withoutEmptyResolutionNote(errorMessage);
      child.lastError = error;
      this.latestError = error;
    }
    const previous = child.previousState;
    child.previousState = state;
    trace(
      'lb',
      `child ${child.hashKey} ${grpc.connectivityState[previous]} -> ${grpc.connectivityState[state]}`,
    );
    if (previous === READY && state !== READY) {
      // A connection was lost: the endpoint list may be stale (as round_robin does).
      this.helper.requestReresolution();
    }
    if (state === IDLE && this.settings?.connect === 'eager' && child.started) {
      this.requestConnect(child);
    }
    this.updateAggregateState();
  }

  /** Rebuilds the ring when the (hash key, weight) list changed; re-maps children either way. */
  private rebuildRing(next: ChildEntry[]): boolean {
    const fingerprint = JSON.stringify(next.map((c) => [c.hashKey, c.weight]));
    if (fingerprint !== this.ringFingerprint || this.ring === null) {
      const started = performance.now();
      try {
        this.ring = this.builder!.build(next.map((c) => ({ id: c.hashKey, weight: c.weight })));
      } catch (e) {
        this.clearRing();
        this.reportUnavailable(`consistent_hash: cannot build the ring: ${(e as Error).message}`);
        return false;
      }
      this.ringFingerprint = fingerprint;
      this.cache = new KeyPositionCache();
      traceInfo(
        'lb',
        `ring built: ${this.ring.algorithm}, ${next.length} endpoints, ${this.ring.size} positions, ${(performance.now() - started).toFixed(2)} ms`,
      );
    }
    const byId = new Map(next.map((c) => [c.hashKey, c]));
    this.ringChildren = this.ring.members.map((m) => byId.get(m.id)!);
    return true;
  }

  /** Forgets the ring, so that the next update builds one whatever its endpoints. */
  private clearRing(): void {
    this.ring = null;
    this.ringChildren = [];
    this.ringFingerprint = '';
  }

  private reportUnavailable(details: string): void {
    this.updateState(TRANSIENT_FAILURE, unavailablePicker(details), details);
  }

  /** Pushes a picker with the aggregate state (A42), then A61's proactive connect. */
  private updateAggregateState(): void {
    if (this.updatesPaused || this.destroyed || this.ring === null || this.settings === null) return;
    const counts: ChildStateCounts = { ready: 0, connecting: 0, idle: 0, transientFailure: 0, total: 0 };
    for (const child of this.ringChildren) {
      const state = child.getConnectivityState();
      counts.total++;
      if (state === READY) counts.ready++;
      else if (state === CONNECTING) counts.connecting++;
      else if (state === IDLE) counts.idle++;
      else if (state === TRANSIENT_FAILURE) counts.transientFailure++;
    }
    const state = aggregateState(counts);
    // The ring picker in every state: keys whose walk reaches a usable endpoint still route.
    const gate =
      this.settings.boundedLoad === null
        ? null
        : new BoundedLoadGate(this.settings.boundedLoad, this.ringChildren, this.inFlight);
    const picker = new ConsistentHashPicker(
      this.ring,
      this.ringChildren,
      this.settings,
      this,
      this.cache,
      gate,
    );
    const error =
      state === TRANSIENT_FAILURE
        ? `consistent_hash: no connection established${this.latestError ? `; last error: ${this.latestError}` : ''}`
        : null;
    this.updateState(state, picker, error);
    if ((state === TRANSIENT_FAILURE || state === CONNECTING) && counts.connecting === 0) {
      this.connectFirstIdleChild();
    }
  }

  private updateState(
    state: grpc.connectivityState,
    picker: grpc.experimental.Picker,
    error: string | null,
  ): void {
    if (state !== this.currentState) {
      trace('lb', `${grpc.connectivityState[this.currentState]} -> ${grpc.connectivityState[state]}`);
    }
    this.currentState = state;
    this.helper.updateState(state, picker, error);
  }
}

/** The same policy under A76's name; only the type name differs. */
export class RingHashExperimentalLoadBalancer extends ConsistentHashLoadBalancer {
  override getTypeName(): string {
    return RING_HASH_EXPERIMENTAL_TYPE_NAME;
  }
}
