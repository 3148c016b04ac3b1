import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../endpoint';
import { trace } from '../../trace';
import { ExponentialBackoff } from '../shared/backoff';
import { EndpointListPublisher } from '../shared/endpoint-publisher';
import { TokenBucket } from '../shared/token-bucket';
import { buildConsulEndpoints } from './endpoints';
import { ConsulHttpClient, ConsulHttpError, describeConsulError } from './http-client';
import {
  agentToString,
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  type ConsulTarget,
  parseConsulTarget,
  positiveNumberOption,
  redactConsulTargetText,
  resolveConsulCa,
  resolveConsulToken,
} from './target';

const COMPONENT = 'consul_resolver';
/** Consul's docs suggest a token bucket with a burst of 2 for blocking queries. */
const RATE_LIMIT_BURST = 2;
/** Timeout for a non-blocking query (the first one, or after an index reset). */
const NON_BLOCKING_TIMEOUT_MS = 10_000;

/** HTTP timeout for a query: Consul may hold it for wait + wait/16, so allow that plus slack. */
export function queryTimeoutMs(waitMs: number, blocking: boolean): number {
  if (!blocking) return NON_BLOCKING_TIMEOUT_MS;
  const slack = Math.min(5000, Math.max(1000, waitMs / 16));
  return Math.ceil(waitMs + waitMs / 16 + slack);
}

interface ResolverSettings {
  target: ConsulTarget;
  token: string | undefined;
  ca: string | Buffer | undefined;
  queriesPerSecond: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** The health query path: index 0 (first query, or after a reset) asks without blocking. */
export function healthQueryPath(target: ConsulTarget, index: number): string {
  const params = new URLSearchParams();
  if (target.passing) params.set('passing', 'true');
  for (const tag of target.tags) params.append('tag', tag);
  if (target.dc !== undefined) params.set('dc', target.dc);
  if (target.near !== undefined) params.set('near', target.near);
  if (target.filter !== undefined) params.set('filter', target.filter);
  if (target.stale) params.set('stale', '');
  if (target.consistent) params.set('consistent', '');
  if (index > 0) {
    params.set('index', String(index));
    params.set('wait', target.wait);
  }
  return `/v1/health/service/${encodeURIComponent(target.service)}?${params.toString()}`;
}

/**
 * grpc-js resolver for `consul:` targets: follows `GET /v1/health/service/<name>` with
 * blocking queries and pushes endpoint lists to the channel when they change.
 */
export class ConsulResolver implements grpc.experimental.Resolver {
  private readonly targetText: string;
  private settings: ResolverSettings | null = null;
  private settingsError: string | null = null;
  private client: ConsulHttpClient | null = null;
  private bucket: TokenBucket | null = null;
  private backoff: ExponentialBackoff | null = null;
  private running = false;
  private inFlight: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The timer is an error backoff (so an updateResolution may retry early). */
  private waitingAfterError = false;
  private index = 0;
  private readonly publisher: EndpointListPublisher;
  /** Distinguishes this run from older ones whose callbacks may still arrive. */
  private generation = 0;

  constructor(
    private readonly uri: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    private readonly channelOptions: grpc.ChannelOptions,
  ) {
    this.publisher = new EndpointListPublisher(listener);
    this.targetText = redactConsulTargetText(grpc.experimental.uriToString(uri));
    this.loadSettings();
    this.start();
  }

  /** The `:authority` default: the service name. Never throws, so a bad target fails calls, not the constructor. */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    const path = target.path;
    const end = path.indexOf('?');
    return end < 0 ? path : path.slice(0, end);
  }

  updateResolution(): void {
    if (!this.running) {
      trace(COMPONENT, `${this.targetText}: restarting`);
      this.start();
      return;
    }
    if (this.waitingAfterError && this.timer !== null && this.bucket !== null) {
      // Early retry after a failure, still rate-limited by the bucket.
      const delay = this.bucket.delayUntilAvailable();
      trace(COMPONENT, `${this.targetText}: re-resolution requested after an error; retrying in ${delay} ms`);
      this.clearTimer();
      this.schedule(delay, false);
    }
  }

  destroy(): void {
    trace(COMPONENT, `${this.targetText}: destroyed`);
    this.running = false;
    this.generation++;
    this.clearTimer();
    this.inFlight?.abort();
    this.inFlight = null;
    this.client?.close();
    this.client = null;
  }

  private loadSettings(): void {
    try {
      const target = parseConsulTarget(this.uri);
      const initialBackoffMs = positiveNumberOption(this.channelOptions, CONSUL_INITIAL_BACKOFF_OPTION, 1000);
      this.settings = {
        target,
        token: resolveConsulToken(this.channelOptions),
        ca: resolveConsulCa(this.channelOptions),
        queriesPerSecond: positiveNumberOption(this.channelOptions, CONSUL_QUERIES_PER_SECOND_OPTION, 1),
        initialBackoffMs,
        maxBackoffMs: positiveNumberOption(
          this.channelOptions,
          CONSUL_MAX_BACKOFF_OPTION,
          Math.max(30_000, initialBackoffMs),
        ),
      };
      if (this.settings.maxBackoffMs < this.settings.initialBackoffMs) {
        throw new Error(
          `channel option "${CONSUL_MAX_BACKOFF_OPTION}" (${this.settings.maxBackoffMs}) is below "${CONSUL_INITIAL_BACKOFF_OPTION}" (${this.settings.initialBackoffMs})`,
        );
      }
    } catch (error) {
      this.settings = null;
      this.settingsError = (error as Error).message;
    }
  }

  private start(): void {
    this.running = true;
    this.generation++;
    this.index = 0;
    this.publisher.forget();
    this.waitingAfterError = false;
    const settings = this.settings;
    if (settings === null) {
      const generation = this.generation;
      const message = `${this.targetText}: ${this.settingsError}`;
      // Never call the listener synchronously from the constructor or updateResolution().
      process.nextTick(() => {
        if (generation === this.generation) this.publisher.fail(message, message);
      });
      return;
    }
    this.client = new ConsulHttpClient(settings.target.agent, settings.ca, true);
    this.bucket = new TokenBucket(settings.queriesPerSecond, RATE_LIMIT_BURST);
    this.backoff = new ExponentialBackoff({
      initialMs: settings.initialBackoffMs,
      maxMs: settings.maxBackoffMs,
    });
    trace(
      COMPONENT,
      `${this.targetText}: watching service "${settings.target.service}" at ${agentToString(settings.target.agent)}`,
    );
    this.schedule(0, false);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waitingAfterError = false;
  }

  /** Queries after `delayMs`, then after whatever the token bucket demands. */
  private schedule(delayMs: number, afterError: boolean): void {
    const generation = this.generation;
    this.waitingAfterError = afterError;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.waitingAfterError = false;
      if (generation !== this.generation) return;
      const wait = this.bucket!.reserve();
      if (wait > 0) {
        trace(COMPONENT, `${this.targetText}: rate limit: next query in ${wait} ms`);
        this.timer = setTimeout(() => {
          this.timer = null;
          if (generation === this.generation) this.query();
        }, wait);
        this.timer.unref();
      } else this.query();
    }, delayMs);
    // Like grpc-js's own resolvers: pending calls keep the process alive, not the resolver.
    this.timer.unref();
  }

  private query(): void {
    const settings = this.settings!;
    const client = this.client!;
    const generation = this.generation;
    const controller = new AbortController();
    this.inFlight = controller;
    const path = healthQueryPath(settings.target, this.index);
    const timeoutMs = queryTimeoutMs(settings.target.waitMs, this.index > 0);
    trace(COMPONENT, `${this.targetText}: GET ${path}`);
    client
      .request({
        method: 'GET',
        path,
        timeoutMs,
        signal: controller.signal,
        ...(settings.token !== undefined && { token: settings.token }),
      })
      .then(
        (response) => {
          if (generation !== this.generation) return;
          this.inFlight = null;
          if (response.status !== 200) {
            this.onFailure(describeConsulError(response.status, response.body, settings.token));
            return;
          }
          let body: unknown;
          try {
            body = JSON.parse(response.body);
          } catch {
            this.onFailure(`malformed JSON in the health answer (${response.body.length} bytes)`);
            return;
          }
          let built: ReturnType<typeof buildConsulEndpoints>;
          try {
            built = buildConsulEndpoints(body, settings.target.limit, settings.target.near !== undefined);
          } catch (error) {
            this.onFailure(`unexpected health answer: ${(error as Error).message}`);
            return;
          }
          this.onSuccess(response.index, built.endpoints, built.skipped, body as unknown[]);
        },
        (error: unknown) => {
          if (generation !== this.generation) return;
          this.inFlight = null;
          this.onFailure(error instanceof ConsulHttpError ? error.message : String(error));
        },
      );
  }

  private onSuccess(
    index: number | undefined,
    endpoints: DiscoveredEndpoint[],
    skipped: string[],
    raw: unknown[],
  ): void {
    const settings = this.settings!;
    // Blocking-query index rules (Consul docs): reset to 0 when it goes backwards; an index
    // ≤ 0 (a Consul bug) is sent as 1. The token bucket turns either into polling, not a busy loop.
    if (index === undefined || index <= 0) {
      trace(COMPONENT, `${this.targetText}: X-Consul-Index missing or ${index}; using 1`);
      this.index = 1;
    } else if (index < this.index) {
      trace(
        COMPONENT,
        `${this.targetText}: X-Consul-Index went backwards (${this.index} -> ${index}); resetting`,
      );
      this.index = 0;
    } else {
      this.index = index;
    }
    this.backoff!.reset();
    for (const reason of skipped) trace(COMPONENT, `${this.targetText}: skipped ${reason}`);
    if (raw.length === 0) {
      trace(
        COMPONENT,
        `${this.targetText}: Consul returned no instances of "${settings.target.service}"; if they exist, the ACL token may lack service:read or node:read`,
      );
    }
    const note = `consul ${agentToString(settings.target.agent)} service "${settings.target.service}": ${endpoints.length} endpoint(s)`;
    if (this.publisher.push(endpoints, note)) {
      trace(COMPONENT, `${this.targetText}: pushed ${endpoints.length} endpoint(s)`);
    }
    this.schedule(0, false);
  }

  private onFailure(cause: string): void {
    const settings = this.settings!;
    const delay = this.backoff!.next();
    const message = `Consul at ${agentToString(settings.target.agent)}: resolving service "${settings.target.service}" failed: ${cause}`;
    trace(COMPONENT, `${this.targetText}: ${message}; retrying in ${delay} ms`);
    // Never had a list: fail calls fast with UNAVAILABLE instead of letting them hang. With one,
    // keep it: calls go on working through a Consul outage.
    if (!this.publisher.hasList) this.publisher.fail(message, message);
    this.schedule(delay, true);
  }
}
