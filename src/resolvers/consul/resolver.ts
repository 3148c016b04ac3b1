import * as grpc from '@grpc/grpc-js';
import { agentToString } from '../../consul/agent';
import { ConsulHttpClient, ConsulHttpError, describeConsulError } from '../../consul/http-client';
import { nextLoopIteration } from '../../loop-iteration';
import { trace } from '../../trace';
import type { LifecycleSchedule, RegistryAnswer, ResolverAdapter } from '../shared/adapter';
import { LifecycleResolver } from '../shared/lifecycle';
import { ResolverError } from '../shared/resolver-error';
import {
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_MAX_BACKOFF_OPTION,
  CONSUL_QUERIES_PER_SECOND_OPTION,
  positiveNumberOption,
  resolveConsulCa,
  resolveConsulToken,
} from './channel-options';
import { buildConsulEndpoints } from './endpoints';
import { healthQueryPath, queryTimeoutMs } from './health-query';
import { type ConsulTarget, parseConsulTarget, redactConsulTargetText } from './target';

const COMPONENT = 'consul_resolver';
/** Statuses whose `Retry-After` we honour (bounded by the lifecycle): rate limited, overloaded. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * The `consul:` adapter: each fetch is one `GET /v1/health/service/<name>` blocking query, sent with
 * the last `X-Consul-Index`; the lifecycle fetches again at once after each answer (rate-limited).
 */
class ConsulAdapter implements ResolverAdapter {
  readonly component = COMPONENT;
  readonly schedule: LifecycleSchedule;
  private readonly agent: string;
  private readonly token: string | undefined;
  private readonly ca: string | Buffer | undefined;
  private client: ConsulHttpClient | null = null;
  private index = 0;

  constructor(
    readonly target: string,
    private readonly parsed: ConsulTarget,
    channelOptions: grpc.ChannelOptions,
  ) {
    this.agent = agentToString(parsed.agent);
    this.token = resolveConsulToken(channelOptions);
    this.ca = resolveConsulCa(channelOptions);
    const initialBackoffMs = positiveNumberOption(channelOptions, CONSUL_INITIAL_BACKOFF_OPTION, 1000);
    const maxBackoffMs = positiveNumberOption(
      channelOptions,
      CONSUL_MAX_BACKOFF_OPTION,
      Math.max(30_000, initialBackoffMs),
    );
    if (maxBackoffMs < initialBackoffMs) {
      throw new Error(
        `channel option "${CONSUL_MAX_BACKOFF_OPTION}" (${maxBackoffMs}) is below "${CONSUL_INITIAL_BACKOFF_OPTION}" (${initialBackoffMs})`,
      );
    }
    this.schedule = {
      refetchAfterMs: 0,
      initialBackoffMs,
      maxBackoffMs,
      // Consul's docs: a token bucket with a burst of 2, so a misbehaving server degrades into polling.
      requestsPerSecond: positiveNumberOption(channelOptions, CONSUL_QUERIES_PER_SECOND_OPTION, 1),
      burst: 2,
    };
  }

  open(): void {
    this.index = 0;
    // Unref'd sockets: a long-poll must not keep the process alive.
    this.client = new ConsulHttpClient(this.parsed.agent, this.ca, true);
    trace(COMPONENT, `${this.target}: watching service "${this.parsed.service}" at ${this.agent}`);
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }

  async fetch(signal: AbortSignal): Promise<RegistryAnswer> {
    const target = this.parsed;
    const path = healthQueryPath(target, this.index);
    trace(COMPONENT, `${this.target}: GET ${path}`);
    let response: Awaited<ReturnType<ConsulHttpClient['request']>>;
    try {
      response = await this.client!.request({
        method: 'GET',
        path,
        timeoutMs: queryTimeoutMs(target.waitMs, this.index > 0),
        signal,
        ...(this.token !== undefined && { token: this.token }),
      });
    } catch (error) {
      // The HTTP client's message names the agent already ("Consul at <agent>: <cause>").
      const reason = error instanceof ConsulHttpError ? error.message : String(error);
      throw new ResolverError('UNREACHABLE', this.target, reason, { cause: error });
    }
    if (response.status !== 200) {
      const retryAfterMs = RETRY_AFTER_STATUSES.has(response.status) ? response.retryAfterMs : undefined;
      throw new ResolverError(
        'REJECTED',
        this.target,
        `Consul at ${this.agent}: ${describeConsulError(response.status, response.body, this.token)}`,
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw this.malformed(`malformed JSON in the health answer (${response.body.length} bytes)`);
    }
    // Parsing the JSON and building the endpoints each block the loop for tens of ms at 20,000
    // entries: not both in one turn.
    await nextLoopIteration();
    let built: ReturnType<typeof buildConsulEndpoints>;
    try {
      built = buildConsulEndpoints(body, target.limit, target.near !== undefined, target.hashKey);
    } catch (error) {
      throw this.malformed(`unexpected health answer: ${(error as Error).message}`);
    }
    this.advanceIndex(response.index);
    for (const reason of built.skipped) trace(COMPONENT, `${this.target}: skipped ${reason}`);
    for (const warning of built.warnings) trace(COMPONENT, `${this.target}: ${warning}`);
    const instances = target.passing ? 'passing instances' : 'instances';
    const tags = target.tags.length > 0 ? ` tagged ${target.tags.join(', ')}` : '';
    const where = `service "${target.service}"${tags} in Consul at ${this.agent}${target.dc ? ` (dc ${target.dc})` : ''}`;
    if ((body as unknown[]).length === 0) {
      trace(
        COMPONENT,
        `${this.target}: no instances; if they exist, the ACL token may lack service:read or node:read`,
      );
    }
    return {
      endpoints: built.endpoints,
      emptyReason:
        built.skipped.length > 0
          ? `no usable ${instances} of ${where}: ${built.skipped.join('; ')}`
          : `no ${instances} of ${where}`,
      note: `${where}: ${built.endpoints.length} endpoint(s)`,
    };
  }

  private malformed(reason: string): ResolverError {
    return new ResolverError('MALFORMED_ANSWER', this.target, `Consul at ${this.agent}: ${reason}`);
  }

  /**
   * Blocking-query index rules (Consul docs): reset to 0 when it goes backwards; an index ≤ 0 (a Consul
   * bug) is sent as 1. The token bucket turns either into polling, not a busy loop.
   */
  private advanceIndex(index: number | undefined): void {
    if (index === undefined || index <= 0) {
      trace(COMPONENT, `${this.target}: X-Consul-Index missing or ${index}; using 1`);
      this.index = 1;
    } else if (index < this.index) {
      trace(
        COMPONENT,
        `${this.target}: X-Consul-Index went backwards (${this.index} -> ${index}); resetting`,
      );
      this.index = 0;
    } else {
      this.index = index;
    }
  }
}

/**
 * grpc-js resolver for `consul:` targets: follows `GET /v1/health/service/<name>` with blocking
 * queries and pushes endpoint lists to the channel when they change (see {@link LifecycleResolver}).
 */
export class ConsulResolver extends LifecycleResolver {
  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
  ) {
    const text = redactConsulTargetText(grpc.experimental.uriToString(target));
    super(text, listener, () => new ConsulAdapter(text, parseConsulTarget(target), channelOptions));
  }

  /** The `:authority` default: the service name. Never throws, so a bad target fails calls, not the constructor. */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    const path = target.path;
    const end = path.indexOf('?');
    return end < 0 ? path : path.slice(0, end);
  }
}
