import type { DiscoveredEndpoint } from '../../endpoint';
import type { ResolverError } from './resolver-error';

/**
 * One answer from a registry: the whole current endpoint list for the target.
 * An empty list is an answer too ("nothing here"): say why in `emptyReason`.
 */
export interface RegistryAnswer {
  endpoints: DiscoveredEndpoint[];
  /**
   * Why `endpoints` is empty, naming what was asked, e.g. `no keys under "svc/" in etcd`.
   * Calls fail with UNAVAILABLE carrying it, so they never wait for a deadline.
   */
  emptyReason?: string;
  /** A short note for the channel (grpc-js's resolution note), e.g. `etcd revision 42`. */
  note?: string;
}

/**
 * What a watching adapter tells the lifecycle. Each {@link ResolverAdapter.watch} call gets its own
 * sink; calls on a sink whose watch was closed (or superseded) are ignored, so an adapter needs no
 * generation counter of its own.
 */
export interface WatchSink {
  /** The whole current list changed (or is first known). Pushed to the channel only if it differs. */
  update(answer: RegistryAnswer): void;
  /** The watch is established and healthy (e.g. etcd's `created`): the backoff starts over. */
  healthy(): void;
  /**
   * The watch ended. The lifecycle closes it and starts a new one: at once when `restartNow`
   * (e.g. a compaction: nothing is wrong with the registry), else after backoff.
   */
  end(error: ResolverError | Error, restartNow?: boolean): void;
}

/** A running watch, closed by the lifecycle on destroy and before any restart. */
export interface WatchHandle {
  close(): void;
}

/** When the lifecycle fetches again, and how it backs off. All optional. */
export interface LifecycleSchedule {
  /**
   * After a successful fetch, fetch again after this many ms: `0` for a blocking-query loop (Consul),
   * a period for polling. Absent: fetch again only when the channel asks (`updateResolution()`).
   */
  refetchAfterMs?: number;
  /** Least time between the starts of two fetches the channel asks for (default 0). */
  minRefetchIntervalMs?: number;
  /** First delay after a failure, in ms (default 1000). */
  initialBackoffMs?: number;
  /** Cap on the delay after failures, in ms (default 30 000). */
  maxBackoffMs?: number;
  /** Steady rate of fetches or watch (re)starts per second, a token bucket (default 1). */
  requestsPerSecond?: number;
  /** Burst of that token bucket (default 2, as Consul's docs suggest for blocking queries). */
  burst?: number;
  /** Upper bound on a registry's `Retry-After` that is honoured, in ms (default 60 000). */
  maxRetryAfterMs?: number;
}

/**
 * A registry adapter: the only code a resolver for a new registry writes. The shared lifecycle
 * ({@link LifecycleResolver}) does everything else: starting on `updateResolution()` and again after
 * `destroy()`, generation guards, backoff with jitter and early retry, rate limiting, keeping the last
 * good list through failures, change-only pushes with stable attributes, one error type, and unref'd
 * timers.
 *
 * Implement exactly one of:
 * - {@link fetch}: a one-shot read of the whole list (DNS, a static list, one Consul blocking query);
 * - {@link watch}: a stream that reports whole lists as they change (etcd Watch, Kubernetes watch).
 *
 * Rules for adapters:
 * - Report failures as {@link ResolverError} (with the right code); any other error counts as `UNREACHABLE`.
 * - Never keep the process alive: unref sockets (or HTTP/2 sessions) you open. Timers belong to the lifecycle.
 * - Release everything in {@link close}; the lifecycle calls {@link open} again when the channel restarts it.
 * - Skip a malformed entry (with a trace line naming it) rather than failing the whole answer.
 */
export interface ResolverAdapter {
  /** The target as text for messages and traces, secrets removed, e.g. `consul://127.0.0.1:8500/web`. */
  readonly target: string;
  /** Trace component, e.g. `etcd_resolver` (shown with `GRPC_TRACE=consistent_hash`). */
  readonly component: string;
  /** Re-fetch, backoff and rate-limit settings; defaults as documented on {@link LifecycleSchedule}. */
  readonly schedule?: LifecycleSchedule;
  /**
   * Reads the whole list once. Resolve with the answer; reject with a {@link ResolverError}.
   * `signal` aborts when the resolver is destroyed: stop the request and release its socket.
   */
  fetch?(signal: AbortSignal): Promise<RegistryAnswer>;
  /** Starts a watch that reports through `sink` (never synchronously required: the lifecycle copes either way). */
  watch?(sink: WatchSink): WatchHandle;
  /** Called when the lifecycle starts: on the first `updateResolution()` and after each `destroy()`. */
  open?(): void;
  /** Called on `destroy()`: release clients, sockets and sessions. */
  close?(): void;
}
