import * as grpc from '@grpc/grpc-js';
import { sameAddressOrder } from '../endpoint';
import { withoutEmptyResolutionNote } from '../grpc-message';
import { inNextLoopIteration } from '../loop-iteration';
import { createRingBuilder } from '../rings';
import { type RingBuildSteps, runFor } from '../rings/build-steps';
import { capRingSizes } from '../rings/ring-options';
import type { HashRing, RingAlgorithm, RingBuilder, RingOptions } from '../rings/types';
import { logError, trace, traceInfo } from '../trace';
import { aggregateState } from './aggregate-state';
import { BoundedLoadGate, InFlightTotal } from './bounded-load-gate';
import { CONSISTENT_HASH_TYPE_NAME, type ConsistentHashSettings, HashPolicyConfig } from './config';
import { ChildConnection, ChildEntry, EndpointChildren } from './endpoint-children';
import { KeyPositionCache } from './key-position-cache';
import { ConsistentHashPicker, type PickerHost, type RingChild, unavailablePicker } from './picker';
import { RING_HASH_EXPERIMENTAL_TYPE_NAME } from './ring-hash-experimental-config';
import { RingMemberIndex } from './ring-members';
import { ringSizeCap } from './ring-size-cap';

type Endpoint = grpc.experimental.Endpoint;
type ChannelControlHelper = grpc.experimental.ChannelControlHelper;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/**
 * Longest piece of a ring build run in one event-loop turn. A build that needs more (ketama's
 * first ring at 20,000 endpoints: about 100 ms, more before the JIT has compiled it) continues in
 * later turns: a resolver push never blocks the loop for the whole build. Smaller builds (every
 * edit of a ring, and first rings up to a few thousand endpoints) are applied at once.
 */
const BUILD_SLICE_MS = 50;

let buildsInProgress = 0;

/**
 * How many policies (in this process) have a ring build running across event-loop turns. For
 * benchmarks and tests that must wait until an update has been applied; not part of the API.
 */
export function ringBuildsInProgress(): number {
  return buildsInProgress;
}

/** A ring build that continues in later turns, and the update that asked for it. */
interface PendingBuild {
  readonly steps: RingBuildSteps<HashRing>;
  readonly members: readonly ChildEntry[];
  readonly wasEager: boolean;
  readonly started: number;
  slices: number;
}

/**
 * The `consistent_hash` policy: one `LeafLoadBalancer` (pick_first) per endpoint, made when the
 * endpoint is first connected and kept across updates; a hash ring over the endpoints, rebuilt
 * only when the (hash key, weight) set changes; aggregate state per gRFC A42 with A61's proactive
 * connect.
 *
 * An update costs O(N) Map lookups with small constants, plus the ring builder's work for what
 * changed (every builder keeps per-member work between builds). A build longer than
 * {@link BUILD_SLICE_MS} continues in later event-loop turns. State changes cost O(1) plus a
 * picker. A ring that cannot be built never replaces a working one.
 */
export class ConsistentHashLoadBalancer implements grpc.experimental.LoadBalancer, PickerHost {
  private readonly children = new EndpointChildren();
  /** Children in ring member order: `ringChildren[ring.memberAt(p)]` owns position p. */
  private ringChildren: ChildEntry[] = [];
  private ring: HashRing | null = null;
  /**
   * Every endpoint by its address set, kept across updates: the children, and the members of each
   * list (its commit is the current ring's (hash key, weight) set).
   */
  private readonly memberIndex = new RingMemberIndex<ChildEntry>(
    (endpoint, addressKey, hashKey) => new ChildEntry(endpoint, addressKey, hashKey),
  );
  private cache = new KeyPositionCache();
  private builder: RingBuilder | null = null;
  private builderFingerprint = '';
  /** The builder changed since the ring was built: the next update builds whatever its endpoints. */
  private ringStale = true;
  private settings: ConsistentHashSettings | null = null;
  /** Latest channel options and resolution note, for children made later. */
  private channelOptions: grpc.ChannelOptions = {};
  private resolutionNote = '';
  private currentState = IDLE;
  private updatesPaused = false;
  private latestError: string | null = null;
  private destroyed = false;
  /** The last build failure or option error logged at ERROR, so that each is logged once. */
  private loggedBuildError: string | null = null;
  private loggedCapError: string | null = null;
  /** All current endpoints' in-flight calls, for bounded load. */
  private readonly inFlight = new InFlightTotal();
  /** A ring build spanning event-loop turns, and the latest update that arrived meanwhile. */
  private pendingBuild: PendingBuild | null = null;
  private queuedUpdate: Parameters<ConsistentHashLoadBalancer['updateAddressList']> | null = null;

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
    if (this.pendingBuild !== null) {
      // The ring being built belongs to an earlier list: finish it, then apply the latest list.
      this.queuedUpdate = [endpointList, lbConfig, channelOptions, resolutionNote];
      return true;
    }
    this.destroyed = false;
    const settings = lbConfig.settings;
    const wasEager = this.settings?.connect === 'eager';
    this.settings = settings;
    this.channelOptions = channelOptions;
    this.resolutionNote = resolutionNote;
    const ringOptions = this.ringOptions(settings, channelOptions);
    const builderFingerprint = JSON.stringify([settings.algorithm, ringOptions]);
    if (builderFingerprint !== this.builderFingerprint || this.builder === null) {
      try {
        this.builder = this.createRingBuilder(settings.algorithm, ringOptions);
      } catch (e) {
        return this.buildFailed(settings.algorithm, 0, (e as Error).message);
      }
      this.builderFingerprint = builderFingerprint;
      this.ringStale = true;
    }
    if (!endpointList.ok) {
      trace('lb', `resolver error: ${endpointList.error.details}`);
      if (this.ringChildren.length === 0) {
        this.reportUnavailable(endpointList.error.details);
      }
      return true;
    }
    const note = resolutionNote ? ` (${resolutionNote})` : '';
    const members = this.memberIndex.derive(endpointList.value);
    if (members.length === 0) {
      this.removeChildren('unlisted');
      this.clearRing();
      this.reportUnavailable(`consistent_hash: the resolver returned no endpoints${note}`);
      return false;
    }

    // The ring first: when it cannot be built, nothing of the working state has changed yet.
    let ring = this.ring;
    const ringChanged = ring === null || this.ringStale || this.memberIndex.differsFromCommitted(members);
    if (ringChanged) {
      const started = performance.now();
      const builder = this.builder!;
      let built: HashRing | undefined;
      try {
        // The members themselves: a builder reads their ids and weights while it builds. The ring
        // keeps the objects; an id changes only in a list that rebuilds the ring (differsFromCommitted).
        const steps = builder.buildSteps?.(members);
        built = steps === undefined ? builder.build(members) : runFor(steps, BUILD_SLICE_MS);
        if (built === undefined) {
          // A long build (ketama's first ring of a large fleet): the rest in later turns.
          this.startPendingBuild({ steps: steps!, members, wasEager, started, slices: 1 });
          return true;
        }
      } catch (e) {
        return this.buildFailed(settings.algorithm, members.length, (e as Error).message);
      }
      ring = built;
      this.traceRingBuilt(ring, members.length, started, 1);
    }
    this.applyUpdate(members, ring!, ringChanged, wasEager);
    return true;
  }

  /** The rest of an update once its ring is known: children, then the picker. */
  private applyUpdate(
    members: readonly ChildEntry[],
    ring: HashRing,
    ringChanged: boolean,
    wasEager: boolean,
  ): void {
    const settings = this.settings!;
    const channelOptions = this.channelOptions;
    this.updatesPaused = true;
    const added: ChildEntry[] = [];
    for (let i = 0; i < members.length; i++) {
      const child = members[i]!;
      if (!child.attached) {
        this.children.add(child);
        added.push(child);
        continue;
      }
      // The same address set; pick_first cares about the order of the addresses.
      const connection = child.connection;
      if (connection !== null && connection.leafEndpoint !== child.endpoint) {
        if (!sameAddressOrder(connection.leafEndpoint, child.endpoint))
          connection.leaf.updateEndpoint(child.endpoint, channelOptions);
        connection.leafEndpoint = child.endpoint;
      }
      this.children.applyWeight(child);
    }
    if (this.children.size > members.length) this.removeChildren('unlisted');
    if (added.length > 0) trace('lb', `${added.length} children added`);

    if (ringChanged) {
      this.ring = ring;
      this.memberIndex.commit(members);
      this.ringStale = false;
      this.loggedBuildError = null;
      this.cache = new KeyPositionCache();
    }
    // Our builders keep the members in the order given, so this is usually `members` itself.
    this.ringChildren = this.childrenInRingOrder(ring, members);

    if (settings.connect === 'eager') {
      // Only the new children, unless eager was just switched on: O(changes), not O(N).
      for (const child of wasEager ? added : members) if (child.connection === null) this.connectChild(child);
    }
    this.updatesPaused = false;
    this.updateAggregateState();
  }

  /**
   * Runs the rest of a ring build in slices of {@link BUILD_SLICE_MS}, one per event-loop
   * iteration, so that calls and I/O are served between them. The last good ring keeps serving;
   * without one, calls queue. Updates that arrive meanwhile wait for it (the latest one only).
   */
  private startPendingBuild(build: PendingBuild): void {
    this.pendingBuild = build;
    buildsInProgress++;
    if (this.ring === null) this.updateState(CONNECTING, new grpc.experimental.QueuePicker(this), null);
    inNextLoopIteration(() => this.continuePendingBuild(build));
  }

  private continuePendingBuild(build: PendingBuild): void {
    if (this.pendingBuild !== build) return; // destroyed
    let ring: HashRing | undefined;
    try {
      ring = runFor(build.steps, BUILD_SLICE_MS);
    } catch (e) {
      this.endPendingBuild();
      this.buildFailed(this.settings!.algorithm, build.members.length, (e as Error).message);
      this.applyQueuedUpdate();
      return;
    }
    build.slices++;
    if (ring === undefined) {
      inNextLoopIteration(() => this.continuePendingBuild(build));
      return;
    }
    this.endPendingBuild();
    this.traceRingBuilt(ring, build.members.length, build.started, build.slices);
    this.applyUpdate(build.members, ring, true, build.wasEager);
    this.applyQueuedUpdate();
  }

  private endPendingBuild(): void {
    this.pendingBuild = null;
    buildsInProgress--;
  }

  /** Applies the latest update that arrived during a pending build. */
  private applyQueuedUpdate(): void {
    const queued = this.queuedUpdate;
    this.queuedUpdate = null;
    if (queued !== null && !this.destroyed) this.updateAddressList(...queued);
  }

  private traceRingBuilt(ring: HashRing, endpoints: number, started: number, slices: number): void {
    const turns = slices > 1 ? ` in ${slices} event-loop turns` : '';
    traceInfo(
      'lb',
      `ring built: ${ring.algorithm}, ${endpoints} endpoints, ${ring.size} positions, ${(performance.now() - started).toFixed(2)} ms${turns}`,
    );
  }

  exitIdle(): void {
    // grpc-js calls this on every call. Lazy (A42): nothing; a pick connects the key's owner.
    // Eager: reconnect the idle children, which are tracked, so no call scans every endpoint.
    if (this.settings?.connect !== 'eager' || this.children.idle.size === 0) return;
    for (const child of this.children.idle) this.requestConnect(child);
  }

  resetBackoff(): void {
    // pick_first children have no backoff of their own; subchannels keep theirs.
  }

  destroy(): void {
    this.destroyed = true;
    if (this.pendingBuild !== null) {
      // A build left unfinished leaves its builder's caches half-updated: start afresh if revived.
      this.endPendingBuild();
      this.builder = null;
    }
    this.queuedUpdate = null;
    this.removeChildren('all');
    this.memberIndex.clear();
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
      if (child.attached && !this.destroyed && child.state === IDLE) this.connectChild(child);
    });
  }

  /** Makes the ring builder; a subclass may substitute one (tests do, to make builds fail). */
  protected createRingBuilder(algorithm: RingAlgorithm, options: RingOptions): RingBuilder {
    return createRingBuilder(algorithm, options);
  }

  /** The ring options in force: ring_hash sizes are clamped to the channel's ring-size cap. */
  private ringOptions(settings: ConsistentHashSettings, channelOptions: grpc.ChannelOptions): RingOptions {
    if (settings.algorithm !== 'ring_hash') return settings.ringOptions;
    const { cap, error } = ringSizeCap(channelOptions);
    if (error !== null && error !== this.loggedCapError) logError('lb', error);
    this.loggedCapError = error;
    return capRingSizes(settings.ringOptions, cap);
  }

  /**
   * `members` in the order of `ring`'s members (the same order unless the list was reordered).
   * The ring's members are these children, or were committed with the same identities.
   */
  private childrenInRingOrder(ring: HashRing, members: readonly ChildEntry[]): ChildEntry[] {
    const ringMembers = ring.members;
    let sameOrder = true;
    for (let i = 0; i < members.length; i++) {
      if (ringMembers[i]!.id !== members[i]!.hashKey) {
        sameOrder = false;
        break;
      }
    }
    if (sameOrder) return members as ChildEntry[];
    const byHashKey = new Map<string, ChildEntry>();
    for (const child of members) byHashKey.set(child.hashKey, child);
    return ringMembers.map((m) => byHashKey.get(m.id)!);
  }

  /**
   * A ring could not be built. The last good ring (and its children) keeps serving; without one,
   * calls fail at once with UNAVAILABLE naming the reason. Logged at ERROR once per reason.
   */
  private buildFailed(algorithm: RingAlgorithm, endpoints: number, reason: string): boolean {
    const details = `consistent_hash: cannot build the ${algorithm} ring over ${endpoints} endpoints: ${reason}`;
    if (reason !== this.loggedBuildError) {
      this.loggedBuildError = reason;
      logError(
        'lb',
        this.ring === null
          ? `${details}; calls fail until a list can be built`
          : `${details}; still serving the last good ring (${this.ring.members.length} endpoints)`,
      );
    }
    if (this.ring === null) this.reportUnavailable(details);
    return false;
  }

  /** Shuts down the children the last list left out (or all of them), and forgets them. O(N). */
  private removeChildren(which: 'unlisted' | 'all'): void {
    const index = this.memberIndex;
    const removed: ChildEntry[] = [];
    for (const child of index.values()) {
      if (child.attached && (which === 'all' || !index.listedLast(child))) removed.push(child);
    }
    for (const child of removed) {
      this.children.delete(child);
      index.evict(child);
      child.connection?.close();
    }
  }

  private connect(child: ChildEntry): ChildConnection {
    const childHelper = grpc.experimental.createChildChannelControlHelper(this.helper, {
      updateState: (state, _picker, errorMessage) => this.onChildState(child, state, errorMessage),
    });
    trace('lb', `child created for ${child.hashKey}`);
    const leaf = new grpc.experimental.LeafLoadBalancer(
      child.endpoint,
      childHelper,
      this.channelOptions,
      this.resolutionNote,
    );
    return new ChildConnection(leaf, child.endpoint, this.inFlight);
  }

  private connectChild(child: ChildEntry): void {
    if (child.connection === null) {
      // Set before the leaf reports anything: its state updates find their connection.
      child.connection = this.connect(child);
      child.connection.leaf.startConnecting();
    } else {
      child.connection.leaf.exitIdle();
    }
  }

  /** A61: with nothing connecting, connect one idle child (the one idle longest). O(1). */
  private connectFirstIdleChild(): void {
    const first = this.children.idle.first();
    if (first !== null) this.requestConnect(first);
  }

  private onChildState(child: ChildEntry, state: grpc.connectivityState, errorMessage: string | null): void {
    if (!child.attached || this.destroyed) return;
    if (errorMessage) {
      const error = withoutEmptyResolutionNote(errorMessage);
      child.connection!.lastError = error;
      this.latestError = error;
    }
    const previous = child.state;
    this.children.setState(child, state);
    trace(
      'lb',
      `child ${child.hashKey} ${grpc.connectivityState[previous]} -> ${grpc.connectivityState[state]}`,
    );
    if (previous === READY && state !== READY) {
      // A connection was lost: the endpoint list may be stale (as round_robin does).
      this.helper.requestReresolution();
    }
    if (state === IDLE && this.settings?.connect === 'eager' && child.connection !== null) {
      this.requestConnect(child);
    }
    this.updateAggregateState();
  }

  /** Forgets the ring, so that the next update builds one whatever its endpoints. */
  private clearRing(): void {
    this.ring = null;
    this.ringChildren = [];
    this.memberIndex.forgetCommitted();
    this.ringStale = true;
  }

  private reportUnavailable(details: string): void {
    this.updateState(TRANSIENT_FAILURE, unavailablePicker(details), details);
  }

  /** Pushes a picker with the aggregate state (A42), then A61's proactive connect. O(1) plus the picker. */
  private updateAggregateState(): void {
    if (this.updatesPaused || this.destroyed || this.ring === null || this.settings === null) return;
    const counts = this.children.counts();
    const state = aggregateState(counts);
    // The ring picker in every state: keys whose walk reaches a usable endpoint still route.
    const gate =
      this.settings.boundedLoad === null
        ? null
        : new BoundedLoadGate(
            this.settings.boundedLoad,
            this.ringChildren,
            this.inFlight,
            this.children.readyWeight(),
          );
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
