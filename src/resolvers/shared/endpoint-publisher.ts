import * as grpc from '@grpc/grpc-js';
import { type DiscoveredEndpoint, sameEndpointList } from '../../endpoint';
import { inNextLoopIteration } from '../../loop-iteration';

/**
 * The attributes of every resolver update: one frozen object. Attribute values become subchannel
 * args, which grpc-js's subchannel pool compares with `!==`, so a fresh object per update would
 * make new subchannels each time (a reconnect storm).
 */
const NO_ATTRIBUTES: { [key: string]: unknown } = Object.freeze({});

/**
 * What a resolver tells its channel: endpoint lists, pushed only when they changed (an
 * update per answer, changed or not, churns the channel), or UNAVAILABLE. Callers call it
 * asynchronously only: grpc-js must not see the listener called from a resolver's constructor or
 * `updateResolution()`.
 */
export class EndpointListPublisher {
  /** The list the channel has now; null when it has none (or an error). */
  private current: readonly DiscoveredEndpoint[] | null = null;
  /** Numbers pushes, fails and forgets, so that a deferred push that was superseded is dropped. */
  private sequence = 0;
  /** Details of the error the channel has now from us; null when none. */
  private currentError: string | null = null;

  constructor(private readonly listener: grpc.experimental.ResolverListener) {}

  /** Whether the channel has a list from us (since construction or {@link forget}). */
  get hasList(): boolean {
    return this.current !== null;
  }

  /**
   * Pushes `endpoints` unless the channel already has this very list. Returns whether it pushed.
   * The channel gets the list one full event-loop iteration later: parsing a large answer and the
   * policy's update then block the loop one after the other, not together (a 20,000-entry answer
   * would otherwise stall it for both at once). A later push, fail or forget supersedes it.
   */
  push(endpoints: DiscoveredEndpoint[], note: string): boolean {
    if (this.current !== null && sameEndpointList(this.current, endpoints)) return false;
    this.current = endpoints.slice();
    this.currentError = null;
    const sequence = ++this.sequence;
    inNextLoopIteration(() => {
      if (sequence !== this.sequence) return;
      this.listener(grpc.experimental.statusOrFromValue(endpoints), NO_ATTRIBUTES, null, note);
    });
    return true;
  }

  /**
   * Fails the channel's calls with UNAVAILABLE and `details`. The error replaces any list the
   * channel had, so the next list is pushed even if it equals the last one. The same error is not
   * sent twice in a row.
   */
  fail(details: string, note: string): void {
    if (this.current === null && this.currentError === details) return;
    this.current = null;
    this.currentError = details;
    this.sequence++;
    this.listener(
      grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }),
      NO_ATTRIBUTES,
      null,
      note,
    );
  }

  /** Forgets what was pushed (the resolver was destroyed; a restart pushes afresh). */
  forget(): void {
    this.current = null;
    this.currentError = null;
    this.sequence++;
  }
}
