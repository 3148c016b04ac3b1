import * as grpc from '@grpc/grpc-js';
import { CandidateOrder } from '../rings/candidate-order';
import type { HashRing } from '../rings/types';
import { trace } from '../trace';
import type { ConsistentHashSettings } from './config';
import { KEY_MISSED, type KeyPositionCache } from './key-position-cache';

type Picker = grpc.experimental.Picker;
type PickArgs = grpc.experimental.PickArgs;
type PickResult = grpc.experimental.PickResult;
const PickResultType = grpc.experimental.PickResultType;
const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/** What the picker needs of one ring member (an endpoint and its child policy). */
export interface RingChild {
  /** The endpoint as `host:port`, for error details. */
  readonly name: string;
  /** Latest error the child reported, for error details. */
  readonly lastError: string | null;
  getConnectivityState(): grpc.connectivityState;
  getPicker(): Picker;
}

/** The load balancer's side of the picker. */
export interface PickerHost {
  /** Starts connecting `child` (one of the picker's children); must not connect synchronously. */
  requestConnect(child: RingChild): void;
}

/**
 * Hook for a load-aware walk (bounded load): `admits` is asked for each READY candidate along the
 * walk, and `onPicked` may wrap the chosen result to count calls through its call-started/ended hooks.
 */
export interface PickLoadGate {
  admits(member: number): boolean;
  onPicked(member: number, result: PickResult): PickResult;
}

const QUEUE_RESULT: PickResult = Object.freeze({
  pickResultType: PickResultType.QUEUE,
  subchannel: null,
  status: null,
  onCallStarted: null,
  onCallEnded: null,
});

function failure(type: grpc.experimental.PickResultType, code: grpc.status, details: string): PickResult {
  return {
    pickResultType: type,
    subchannel: null,
    status: { code, details, metadata: new grpc.Metadata() },
    onCallStarted: null,
    onCallEnded: null,
  };
}

const UINT32 = 0x1_0000_0000;

/** Why a keyless call failed (missingKey "fail"), and the two ways to give calls a key. */
export function missingKeyDetails(header: string): string {
  return (
    `consistent_hash: the call has no "${header}" header, so it has no hash key (missingKey is "fail"). ` +
    `Set the key per call with withHashKey(key, "${header}") as the call's metadata, or for every call with ` +
    `createHashKeyInterceptor({ header: "${header}" }); or set missingKey: "random" to spread keyless calls`
  );
}

/**
 * Routes each call by the hash of its key header to a ring position, then to the member there.
 * Failover (A42/A61): READY → that child; IDLE → connect, queue; CONNECTING → queue;
 * TRANSIENT_FAILURE → on to the next candidate: the next distinct member along the ring, or for
 * rendezvous the next-highest-scoring member. Strict: the owner alone.
 * With a load gate (bounded load), READY members at their limit are passed by too, in the spill
 * order ({@link CandidateOrder}: a key-seeded probe on the rings, score order for rendezvous).
 * Never throws: any unexpected error becomes an INTERNAL failure.
 */
export class ConsistentHashPicker implements Picker {
  /** The candidates of the key being picked: failover order, then spill order (no allocation per pick). */
  private readonly order: CandidateOrder;
  /** The key of the pick in progress (null for a keyless pick), hashed again only if an order needs it. */
  private pickKey: string | null = null;
  private readonly missingKeyResult: PickResult | null;

  constructor(
    private readonly ring: HashRing,
    private readonly children: readonly RingChild[],
    private readonly settings: ConsistentHashSettings,
    private readonly host: PickerHost,
    private readonly cache: KeyPositionCache,
    private readonly gate: PickLoadGate | null = null,
  ) {
    this.order = new CandidateOrder(ring);
    // DROP: retrying or waiting for ready cannot fix a missing header. INTERNAL because grpc-js
    // rewrites INVALID_ARGUMENT from a policy to INTERNAL anyway.
    this.missingKeyResult =
      settings.missingKey === 'fail'
        ? failure(PickResultType.DROP, grpc.status.INTERNAL, missingKeyDetails(settings.hashHeader ?? ''))
        : null;
  }

  pick(pickArgs: PickArgs): PickResult {
    try {
      return this.pickUnchecked(pickArgs);
    } catch (e) {
      return failure(
        PickResultType.DROP,
        grpc.status.INTERNAL,
        `consistent_hash: unexpected error in pick: ${(e as Error)?.message ?? String(e)}`,
      );
    }
  }

  private pickUnchecked(pickArgs: PickArgs): PickResult {
    this.pickKey = null;
    const position = this.positionOf(pickArgs.metadata);
    if (position < 0) return this.missingKeyResult ?? this.pickRandom(pickArgs);
    if (this.gate === null) {
      // Fast path, the same in both affinity modes: a READY owner serves its key.
      const owner = this.children[this.ring.memberAt(position)]!;
      if (owner.getConnectivityState() === READY) return owner.getPicker().pick(pickArgs);
    }
    return this.settings.affinity === 'strict'
      ? this.pickStrict(position, pickArgs)
      : this.pickFailover(position, pickArgs);
  }

  /** The ring position for the call's key, or -1 when the call has no key. */
  private positionOf(metadata: grpc.Metadata): number {
    const header = this.settings.hashHeader;
    const values = header === null ? undefined : metadata.get(header);
    if (values === undefined || values.length === 0) return -1;
    // A76: several values are joined with ','.
    const key = values.length === 1 ? String(values[0]) : values.join(',');
    this.pickKey = key;
    const cached = this.cache.get(key);
    if (cached >= 0) return cached;
    const position = this.ring.locateKey(key);
    if (cached === KEY_MISSED) this.cache.set(key, position);
    return position;
  }

  private pickStrict(position: number, pickArgs: PickArgs): PickResult {
    const member = this.ring.memberAt(position);
    const child = this.children[member]!;
    switch (child.getConnectivityState()) {
      case READY:
        if (this.gate === null || this.gate.admits(member)) return this.complete(member, child, pickArgs);
        return this.spillStrict(position, member, pickArgs);
      case IDLE:
        this.host.requestConnect(child);
        return QUEUE_RESULT;
      case TRANSIENT_FAILURE:
        // TRANSIENT_FAILURE so that waitForReady calls wait for the owner to come back.
        return failure(
          PickResultType.TRANSIENT_FAILURE,
          grpc.status.UNAVAILABLE,
          `consistent_hash: endpoint ${child.name}, which owns this key, is unavailable (affinity "strict")` +
            (child.lastError ? `: ${child.lastError}` : ''),
        );
      default:
        return QUEUE_RESULT;
    }
  }

  /**
   * Bounded load with strict affinity: the owner is READY but at its limit, so the call goes to the
   * first READY member in the spill order that admits it. Members that are not READY are passed by
   * without connecting them (strict never connects for another member's key). If none admits, the
   * owner serves the call: the bound never fails a call.
   */
  private spillStrict(position: number, owner: number, pickArgs: PickArgs): PickResult {
    const gate = this.gate!;
    const order = this.order;
    order.start(position, this.pickKey, 0, 0, owner);
    order.spill();
    for (let member = order.next(); member >= 0; member = order.next()) {
      const child = this.children[member]!;
      if (child.getConnectivityState() === READY && gate.admits(member)) {
        return this.complete(member, child, pickArgs);
      }
    }
    return this.complete(owner, this.children[owner]!, pickArgs);
  }

  /**
   * A call without a key (missingKey "random", A76): a random ring position, then the first READY
   * endpoint along the ring. Random hashes do not connect endpoints one by one: with none READY,
   * one idle endpoint is connected, unless one is connecting already.
   */
  private pickRandom(pickArgs: PickArgs): PickResult {
    const memberCount = this.children.length;
    const hi = (Math.random() * UINT32) >>> 0;
    const lo = (Math.random() * UINT32) >>> 0;
    const order = this.order;
    order.start(this.ring.locate(hi, lo), null, hi, lo);
    let firstIdle: RingChild | null = null;
    let connecting = false;
    // Bounded load: the first READY member the gate refused, which serves the call if none admits.
    let overloaded = -1;
    for (let member = order.next(); member >= 0; member = order.next()) {
      const child = this.children[member]!;
      const state = child.getConnectivityState();
      if (state === READY) {
        if (this.gate === null || this.gate.admits(member)) return this.complete(member, child, pickArgs);
        if (overloaded < 0) {
          overloaded = member;
          order.spill();
        }
      } else if (state === IDLE) {
        firstIdle ??= child;
      } else if (state === CONNECTING) {
        connecting = true;
      }
    }
    if (overloaded >= 0) {
      if (firstIdle !== null && !connecting) this.host.requestConnect(firstIdle);
      return this.complete(overloaded, this.children[overloaded]!, pickArgs);
    }
    if (connecting) return QUEUE_RESULT;
    if (firstIdle !== null) {
      this.host.requestConnect(firstIdle);
      return QUEUE_RESULT;
    }
    return failure(
      PickResultType.TRANSIENT_FAILURE,
      grpc.status.UNAVAILABLE,
      `consistent_hash: no endpoint is reachable (${memberCount} in TRANSIENT_FAILURE)`,
    );
  }

  private pickFailover(start: number, pickArgs: PickArgs): PickResult {
    const memberCount = this.children.length;
    let lastError: string | null = null;
    // Bounded load: the first READY member the gate refused (the key's normal choice). Once there is
    // one, an IDLE or CONNECTING member no longer queues the call; the spill order looks on for a READY
    // member under its limit and otherwise falls back to this one.
    let overloaded = -1;
    const order = this.order;
    order.start(start, this.pickKey, 0, 0);
    for (let member = order.next(); member >= 0; member = order.next()) {
      const child = this.children[member]!;
      const state = child.getConnectivityState();
      if (state === READY) {
        if (this.gate === null || this.gate.admits(member)) return this.complete(member, child, pickArgs);
        if (overloaded < 0) {
          // The key's first usable member is at its limit: spill past it in the spill order.
          overloaded = member;
          order.spill();
        }
        continue;
      }
      if (state === IDLE) {
        this.host.requestConnect(child);
        if (overloaded < 0) return QUEUE_RESULT;
        continue;
      }
      if (state === CONNECTING) {
        if (overloaded < 0) return QUEUE_RESULT;
        continue;
      }
      lastError = child.lastError ?? lastError;
    }
    if (overloaded >= 0) return this.complete(overloaded, this.children[overloaded]!, pickArgs);
    return failure(
      PickResultType.TRANSIENT_FAILURE,
      grpc.status.UNAVAILABLE,
      `consistent_hash: no endpoint is reachable (${memberCount} in TRANSIENT_FAILURE)` +
        (lastError ? `; last error: ${lastError}` : ''),
    );
  }

  private complete(member: number, child: RingChild, pickArgs: PickArgs): PickResult {
    const result = child.getPicker().pick(pickArgs);
    return this.gate === null ? result : this.gate.onPicked(member, result);
  }
}

/** A picker for states without a ring (no endpoints, resolution error). */
export function unavailablePicker(details: string): Picker {
  trace('picker', `unavailable: ${details}`);
  return new grpc.experimental.UnavailablePicker({ code: grpc.status.UNAVAILABLE, details });
}
