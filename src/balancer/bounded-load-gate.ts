import * as grpc from '@grpc/grpc-js';
import { boundedLoadLimit } from '../rings/bounded-load';
import type { PickLoadGate } from './picker';

type PickResult = grpc.experimental.PickResult;
type OnCallEnded = NonNullable<PickResult['onCallEnded']>;
const { READY } = grpc.connectivityState;
const COMPLETE = grpc.experimental.PickResultType.COMPLETE;

/**
 * The load of all current endpoints together, one per load balancer; also sweeps stale reservations.
 *
 * A pick reserves a unit of load at once, because grpc-js starts the call (and runs
 * `onCallStarted`) only after a microtask, and a burst of picks in one turn would otherwise all see
 * the same counts. A call that starts turns its reservation into an in-flight call. Reservations
 * of calls that never start (cancelled, re-picked) are dropped on the next `setImmediate`: one
 * timer per turn with picks, none per pick.
 */
export class InFlightTotal {
  count = 0;
  private readonly reservedLoads: EndpointLoad[] = [];
  private sweepScheduled = false;
  private readonly sweep = (): void => {
    this.sweepScheduled = false;
    for (const load of this.reservedLoads) load.dropReservations();
    this.reservedLoads.length = 0;
  };

  /** Notes that `load` holds reservations, so they are dropped after this turn. */
  track(load: EndpointLoad): void {
    this.reservedLoads.push(load);
    if (!this.sweepScheduled) {
      this.sweepScheduled = true;
      setImmediate(this.sweep);
    }
  }
}

/**
 * One endpoint's load: calls picked in this turn but not started yet (reserved) plus calls started
 * and not ended (in flight), counted through the pick result's call-started/ended hooks. It lives on
 * the load balancer's child entry, so counts survive picker replacement. grpc-js calls
 * `onCallEnded` only for calls whose `onCallStarted` ran, so a picked call that never starts
 * leaves nothing behind once its reservation is swept.
 */
export class EndpointLoad {
  inFlight = 0;
  reserved = 0;
  private detached = false;

  /** Pre-bound hooks: no closure per call. */
  readonly callStarted = (): void => {
    this.inFlight++;
    if (this.reserved > 0) this.reserved--;
    else if (!this.detached) this.total.count++;
  };
  readonly callEnded = (): void => {
    this.inFlight--;
    if (!this.detached) this.total.count--;
  };

  constructor(private readonly total: InFlightTotal) {}

  /** Counts a picked call until it starts (or until the end of this turn). */
  reserve(): void {
    if (this.reserved++ === 0) this.total.track(this);
    if (!this.detached) this.total.count++;
  }

  /** Drops reservations whose calls did not start within the turn. */
  dropReservations(): void {
    if (!this.detached) this.total.count -= this.reserved;
    this.reserved = 0;
  }

  /** The endpoint was removed: its load leaves the total now, and later hooks do not touch it. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.total.count -= this.inFlight + this.reserved;
  }
}

/** What the gate needs of a ring member. */
export interface LoadGateMember {
  readonly load: EndpointLoad;
  /** Its weight in the ring now serving. */
  readonly servingWeight: number;
  getConnectivityState(): grpc.connectivityState;
}

/**
 * Bounded load (Mirrokni, Thorup, Zadimoghaddam 2016): a READY member admits another call only while
 * its in-flight count is below ⌈c × (total in-flight + 1) × w / W⌉. W sums the weights of the members
 * that were READY when the picker was made (every state change makes a new picker), so the limits
 * of the usable members always add up to more than the load and the bound can always be met.
 */
export class BoundedLoadGate implements PickLoadGate {
  private readonly readyWeight: number;

  /** `readyWeight`, when the caller keeps it, saves a scan of every member per picker. */
  constructor(
    private readonly factor: number,
    private readonly members: readonly LoadGateMember[],
    private readonly total: InFlightTotal,
    readyWeight?: number,
  ) {
    if (readyWeight === undefined) {
      readyWeight = 0;
      for (const member of members)
        if (member.getConnectivityState() === READY) readyWeight += member.servingWeight;
    }
    this.readyWeight = readyWeight;
  }

  admits(index: number): boolean {
    const member = this.members[index]!;
    // No member was READY at picker creation (a state change is on its way): do not gate.
    if (this.readyWeight === 0) return true;
    const load = member.load;
    return (
      load.inFlight + load.reserved <
      boundedLoadLimit(this.factor, this.total.count, member.servingWeight, this.readyWeight)
    );
  }

  onPicked(index: number, result: PickResult): PickResult {
    if (result.pickResultType !== COMPLETE) return result;
    const load = this.members[index]!.load;
    load.reserve();
    const started = result.onCallStarted;
    const ended = result.onCallEnded;
    if (started === null && ended === null && !Object.isFrozen(result)) {
      // The leaf's pick_first picker returns a fresh result per pick: set the hooks in place.
      result.onCallStarted = load.callStarted;
      result.onCallEnded = load.callEnded;
      return result;
    }
    // The child carries hooks of its own (or a shared result): chain them in a copy.
    const onCallEnded: OnCallEnded = (code, details, metadata) => {
      load.callEnded();
      ended?.(code, details, metadata);
    };
    return {
      ...result,
      onCallStarted: () => {
        load.callStarted();
        started?.();
      },
      onCallEnded,
    };
  }
}
