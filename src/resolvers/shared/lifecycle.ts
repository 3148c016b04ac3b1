import type * as grpc from '@grpc/grpc-js';
import { logError, trace } from '../../trace';
import type { LifecycleSchedule, RegistryAnswer, ResolverAdapter, WatchHandle, WatchSink } from './adapter';
import { ExponentialBackoff } from './backoff';
import { EndpointListPublisher } from './endpoint-publisher';
import { ResolverError, toResolverError } from './resolver-error';
import { TokenBucket } from './token-bucket';

const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

type State =
  /** Not started, or destroyed. */
  | 'stopped'
  /** The target or options are invalid: the error was reported; nothing runs. */
  | 'invalid'
  /** A timer runs before the next fetch or watch. */
  | 'waiting'
  | 'fetching'
  | 'watching'
  /** A fetch succeeded; the next one waits for `updateResolution()`. */
  | 'idle';

/**
 * The one resolver lifecycle every registry shares; a registry supplies a {@link ResolverAdapter}
 * (fetch or watch) and this class is its grpc-js `Resolver`:
 * - starts on `updateResolution()`, and again after `destroy()` (grpc-js reuses a resolver around idle);
 * - never calls the listener synchronously;
 * - drops the results of superseded attempts (a generation counter);
 * - backs off with jitter after failures, retries early when the channel asks, honours `Retry-After`
 *   (bounded), and rate-limits every fetch and watch (re)start with a token bucket;
 * - reports an error only while the channel has no list from it, and keeps the last good list after;
 * - turns an empty answer into UNAVAILABLE naming the target and why, so calls never wait for a deadline
 *   when the registry says "nothing here" (`waitForReady` calls still wait);
 * - pushes only changed lists, with one frozen attributes object;
 * - keeps the process alive with nothing it owns: every timer is unref'd (adapters unref their sockets).
 */
export class LifecycleResolver implements grpc.experimental.Resolver {
  private readonly adapter: ResolverAdapter | null = null;
  private readonly setupError: ResolverError | null = null;
  private readonly publisher: EndpointListPublisher;
  private readonly backoff: ExponentialBackoff;
  private readonly bucket: TokenBucket;
  private readonly schedule: LifecycleSchedule;
  private state: State = 'stopped';
  /** Bumped by every new attempt and by destroy(): callbacks of older ones do nothing. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerDueAt = 0;
  private waitingAfterError = false;
  /** No request before this time (performance.now()), as the registry's Retry-After asked. */
  private notBefore = 0;
  private lastFetchStartedAt = Number.NEGATIVE_INFINITY;
  private inFlight: AbortController | null = null;
  private watchHandle: WatchHandle | null = null;
  private setupErrorLogged = false;

  /**
   * @param targetText the target for messages when `createAdapter` throws something other than a
   *   {@link ResolverError} (secrets removed)
   * @param createAdapter parses the target and options; throws (a {@link ResolverError} with code
   *   `INVALID_TARGET`, ideally) when they are invalid: the channel's calls then fail naming the mistake
   */
  constructor(
    targetText: string,
    listener: grpc.experimental.ResolverListener,
    createAdapter: () => ResolverAdapter,
  ) {
    this.publisher = new EndpointListPublisher(listener);
    try {
      this.adapter = createAdapter();
    } catch (error) {
      this.setupError = toResolverError(error, targetText, 'INVALID_TARGET');
    }
    this.schedule = this.adapter?.schedule ?? {};
    const initialMs = this.schedule.initialBackoffMs ?? 1000;
    this.backoff = new ExponentialBackoff({
      initialMs,
      maxMs: Math.max(initialMs, this.schedule.maxBackoffMs ?? 30_000),
    });
    this.bucket = new TokenBucket(this.schedule.requestsPerSecond ?? 1, this.schedule.burst ?? 2);
    if (this.adapter) trace(this.adapter.component, `${this.adapter.target}: resolver created`);
  }

  updateResolution(): void {
    switch (this.state) {
      case 'stopped':
        this.start();
        return;
      case 'waiting':
        if (this.waitingAfterError) this.retryEarly();
        return;
      case 'idle': {
        const wait = this.lastFetchStartedAt + (this.schedule.minRefetchIntervalMs ?? 0) - performance.now();
        if (wait > 0) this.trace(`re-resolution delayed ${Math.ceil(wait)} ms by the minimum interval`);
        this.scheduleAttempt(Math.max(0, wait), false);
        return;
      }
      default:
        // A fetch or watch runs and will report; an invalid target was reported already.
        return;
    }
  }

  destroy(): void {
    if (this.state === 'stopped') return;
    this.trace('destroyed');
    this.generation++;
    this.state = 'stopped';
    this.clearTimer();
    this.inFlight?.abort();
    this.inFlight = null;
    this.closeWatch();
    this.adapter?.close?.();
    this.publisher.forget();
  }

  private start(): void {
    const generation = ++this.generation;
    if (this.setupError !== null) {
      this.state = 'invalid';
      const error = this.setupError;
      if (!this.setupErrorLogged) {
        this.setupErrorLogged = true;
        logError('resolver', error.message);
      }
      setImmediate(() => {
        if (generation === this.generation) this.publisher.fail(error.message, error.message);
      });
      return;
    }
    this.trace('starting');
    this.backoff.reset();
    this.bucket.reset();
    this.notBefore = 0;
    this.lastFetchStartedAt = Number.NEGATIVE_INFINITY;
    this.adapter!.open?.();
    this.scheduleAttempt(0, false);
  }

  private trace(text: string): void {
    if (this.adapter) trace(this.adapter.component, `${this.adapter.target}: ${text}`);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A re-resolution request while backing off: retry as soon as the rate limit and Retry-After allow. */
  private retryEarly(): void {
    const now = performance.now();
    const delay = Math.max(this.bucket.delayUntilAvailable(), this.notBefore - now, 0);
    if (now + delay >= this.timerDueAt) return;
    this.trace(`re-resolution requested after an error; retrying in ${Math.ceil(delay)} ms`);
    this.scheduleAttempt(delay, true);
  }

  /** The next fetch or watch after `delayMs`, then after whatever the token bucket demands. */
  private scheduleAttempt(delayMs: number, afterError: boolean): void {
    this.clearTimer();
    const generation = ++this.generation;
    this.state = 'waiting';
    this.waitingAfterError = afterError;
    this.timerDueAt = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (generation !== this.generation) return;
      const wait = this.bucket.reserve();
      if (wait > 0) {
        this.trace(`rate limit: next request in ${wait} ms`);
        this.timerDueAt = performance.now() + wait;
        this.timer = setTimeout(() => {
          this.timer = null;
          if (generation === this.generation) this.attempt(generation);
        }, wait);
        this.timer.unref();
      } else this.attempt(generation);
    }, delayMs);
    // Like grpc-js's own resolvers: pending calls keep the process alive, not the resolver.
    this.timer.unref();
  }

  private attempt(generation: number): void {
    const adapter = this.adapter!;
    if (adapter.fetch) this.runFetch(adapter, generation);
    else this.runWatch(adapter, generation);
  }

  private runFetch(adapter: ResolverAdapter, generation: number): void {
    this.state = 'fetching';
    const controller = new AbortController();
    this.inFlight = controller;
    this.lastFetchStartedAt = performance.now();
    let fetched: Promise<RegistryAnswer>;
    try {
      fetched = adapter.fetch!(controller.signal);
    } catch (error) {
      fetched = Promise.reject(error);
    }
    fetched.then(
      (answer) => {
        if (generation !== this.generation) return;
        this.inFlight = null;
        this.backoff.reset();
        this.accept(answer);
        const next = this.schedule.refetchAfterMs;
        if (next === undefined) this.state = 'idle';
        else this.scheduleAttempt(next, false);
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        this.inFlight = null;
        this.failed(error);
      },
    );
  }

  private runWatch(adapter: ResolverAdapter, generation: number): void {
    this.state = 'watching';
    const current = () => generation === this.generation;
    const sink: WatchSink = {
      update: (answer) => {
        if (!current()) return;
        this.backoff.reset();
        this.accept(answer);
      },
      healthy: () => {
        if (current()) this.backoff.reset();
      },
      end: (error, restartNow = false) => {
        if (!current()) return;
        this.closeWatch();
        if (restartNow) {
          this.trace(`watch ended (${error.message}); restarting`);
          this.scheduleAttempt(0, false);
        } else this.failed(error);
      },
    };
    let handle: WatchHandle;
    try {
      handle = adapter.watch!(sink);
    } catch (error) {
      if (current()) this.failed(error);
      return;
    }
    if (current()) this.watchHandle = handle;
    else handle.close();
  }

  private closeWatch(): void {
    const handle = this.watchHandle;
    this.watchHandle = null;
    handle?.close();
  }

  /** A list (or "nothing here") from the registry. */
  private accept(answer: RegistryAnswer): void {
    const adapter = this.adapter!;
    if (answer.endpoints.length === 0) {
      const error = new ResolverError(
        'NO_ENDPOINTS',
        adapter.target,
        answer.emptyReason ?? 'the registry lists no endpoints for this target',
      );
      this.trace(error.reason);
      // With a list, the empty one replaces it (the registry says those servers are gone); without,
      // an error: either way calls fail at once naming the reason, and waitForReady calls wait.
      if (this.publisher.hasList) this.publisher.push([], error.message);
      else this.publisher.fail(error.message, error.message);
      return;
    }
    if (this.publisher.push(answer.endpoints, answer.note ?? '')) {
      this.trace(`pushed ${answer.endpoints.length} endpoint(s)${answer.note ? ` (${answer.note})` : ''}`);
    }
  }

  private failed(cause: unknown): void {
    const adapter = this.adapter!;
    const error = toResolverError(cause, adapter.target, 'UNREACHABLE');
    let delay = this.backoff.next();
    if (error.retryAfterMs !== undefined) {
      const asked = Math.min(error.retryAfterMs, this.schedule.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
      this.notBefore = performance.now() + asked;
      delay = Math.max(delay, asked);
    }
    if (this.publisher.hasList) {
      this.trace(`${error.reason}; keeping the last good list; retrying in ${delay} ms`);
    } else {
      this.trace(`${error.reason}; retrying in ${delay} ms`);
      this.publisher.fail(error.message, error.message);
    }
    this.scheduleAttempt(delay, true);
  }
}
