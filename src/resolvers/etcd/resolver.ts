import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../endpoint';
import { acquireEtcdClient, type EtcdClientLease, type EtcdWatch } from '../../etcd/client';
import { type ResolvedEtcdConnection, resolveEtcdConnection } from '../../etcd/connection-options';
import { ETCD_CREDENTIALS_OPTION, EtcdCredentials } from '../../etcd/credentials';
import type { KeyValue, WatchResponse } from '../../etcd/protocol';
import { logError, trace } from '../../trace';
import { ExponentialBackoff } from '../shared/backoff';
import { EndpointListPublisher } from '../shared/endpoint-publisher';
import { ETCD_INITIAL_BACKOFF_OPTION, ETCD_MAX_BACKOFF_OPTION } from './channel-options';
import { decodeEtcdEndpointValue } from './naming';
import { type EtcdTarget, parseEtcdTarget } from './target';

type GrpcUri = grpc.experimental.GrpcUri;
type ResolverListener = grpc.experimental.ResolverListener;

const COMPONENT = 'etcd-resolver';

interface ResolverConfig {
  target: EtcdTarget;
  connection: ResolvedEtcdConnection;
  initialBackoffMs: number | undefined;
  maxBackoffMs: number | undefined;
}

function readConfig(target: GrpcUri, options: grpc.ChannelOptions): ResolverConfig {
  const parsed = parseEtcdTarget(target);
  const credentialsOption = options[ETCD_CREDENTIALS_OPTION] as unknown;
  if (credentialsOption !== undefined && !(credentialsOption instanceof EtcdCredentials)) {
    throw new Error(`channel option ${ETCD_CREDENTIALS_OPTION}: must be made with createEtcdCredentials()`);
  }
  const credentials = credentialsOption as EtcdCredentials | undefined;
  const connection = resolveEtcdConnection({
    endpoints: parsed.endpoints,
    username: credentials?.username,
    password: credentials?.revealPassword(),
    tls: credentials?.tls,
  });
  const readMs = (key: string): number | undefined => {
    const value = options[key] as unknown;
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
      throw new Error(
        `channel option ${key}: expected a positive number of milliseconds, got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  return {
    target: parsed,
    connection,
    initialBackoffMs: readMs(ETCD_INITIAL_BACKOFF_OPTION),
    maxBackoffMs: readMs(ETCD_MAX_BACKOFF_OPTION),
  };
}

/**
 * The `etcd:` resolver: `etcd://[host:port[,host:port...]]/<service>`. Reads every key under
 * `<service>/` (etcd's gRPC naming convention), then watches from the next revision. After a watch
 * failure, a compaction or an etcd restart it re-syncs (Range + Watch) with capped, jittered backoff,
 * keeping the last good list meanwhile; it reports an error only while it never had a list.
 */
export class EtcdResolver implements grpc.experimental.Resolver {
  private readonly config: ResolverConfig | undefined;
  private readonly configError: Error | undefined;
  private readonly backoff: ExponentialBackoff;
  private readonly prefix: Buffer;
  private running = false;
  /** Bumped by destroy() and by each re-sync, so stale callbacks do nothing. */
  private generation = 0;
  private clientLease: EtcdClientLease | undefined;
  private watch: EtcdWatch | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly entries = new Map<string, DiscoveredEndpoint>();
  private readonly publisher: EndpointListPublisher;

  constructor(target: GrpcUri, listener: ResolverListener, channelOptions: grpc.ChannelOptions) {
    this.publisher = new EndpointListPublisher(listener);
    try {
      this.config = readConfig(target, channelOptions);
    } catch (error) {
      this.configError = error as Error;
      logError(COMPONENT, this.configError.message);
    }
    const initialMs = this.config?.initialBackoffMs ?? 250;
    this.backoff = new ExponentialBackoff({
      initialMs,
      maxMs: Math.max(initialMs, this.config?.maxBackoffMs ?? 10_000),
    });
    this.prefix = Buffer.from(this.config?.target.prefix ?? '');
  }

  updateResolution(): void {
    if (this.configError) {
      const generation = this.generation;
      const message = `etcd resolver: ${this.configError.message}`;
      setImmediate(() => {
        if (generation === this.generation) this.publisher.fail(message, message);
      });
      return;
    }
    // While running, the watch keeps the list current: a re-resolution request costs nothing.
    if (this.running) return;
    this.running = true;
    this.clientLease = acquireEtcdClient(this.config!.connection);
    const generation = ++this.generation;
    trace(COMPONENT, `${this.describe()} starting`);
    // sync() is async: the listener is never called synchronously from here.
    void this.sync(generation);
  }

  destroy(): void {
    this.generation++;
    this.running = false;
    this.stopWatch();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.clientLease?.release();
    this.clientLease = undefined;
    this.entries.clear();
    this.publisher.forget();
    this.backoff.reset();
    trace(COMPONENT, `${this.describe()} destroyed`);
  }

  private describe(): string {
    return this.config
      ? `etcd ${this.config.connection.endpoints.join(',')} prefix "${this.config.target.prefix}"`
      : 'etcd';
  }

  private async sync(generation: number): Promise<void> {
    const client = this.clientLease!.client;
    let revision: string;
    try {
      const response = await client.range(this.prefix);
      if (generation !== this.generation) return;
      this.entries.clear();
      for (const kv of response.kvs) this.applyPut(kv);
      revision = response.header.revision;
      trace(COMPONENT, `${this.describe()} read ${response.kvs.length} keys at revision ${revision}`);
      this.push(`etcd revision ${revision}`);
    } catch (error) {
      if (generation === this.generation) this.fail(generation, error as Error);
      return;
    }
    try {
      const startRevision = (BigInt(revision) + 1n).toString();
      const watch = await client.watch(this.prefix, startRevision, {
        onResponse: (response) => this.onWatchResponse(generation, response),
        onEnd: (error) => {
          if (generation === this.generation) this.fail(generation, error);
        },
      });
      if (generation !== this.generation) watch.cancel();
      else this.watch = watch;
    } catch (error) {
      if (generation === this.generation) this.fail(generation, error as Error);
    }
  }

  private onWatchResponse(generation: number, response: WatchResponse): void {
    if (generation !== this.generation) return;
    if (response.canceled) {
      if (response.compact_revision !== '0' && response.compact_revision !== '') {
        // Our revision was compacted away: re-read everything at once; nothing is wrong with etcd.
        trace(COMPONENT, `${this.describe()} watch compacted at ${response.compact_revision}; re-syncing`);
        this.restart(0);
      } else {
        this.clientLease?.client.invalidateToken();
        this.fail(
          generation,
          new Error(`etcd watch canceled: ${response.cancel_reason || 'no reason given'}`),
        );
      }
      return;
    }
    if (response.created) {
      this.backoff.reset();
      trace(COMPONENT, `${this.describe()} watching`);
    }
    if (response.events.length === 0) return;
    for (const event of response.events) {
      if (event.type === 1) this.entries.delete(event.kv.key.toString());
      else this.applyPut(event.kv);
    }
    this.push(`etcd revision ${response.header.revision}`);
  }

  private applyPut(kv: KeyValue): void {
    const key = kv.key.toString();
    const decoded = decodeEtcdEndpointValue(kv.value);
    if (decoded.kind === 'add') {
      this.entries.set(key, decoded.endpoint);
      if (decoded.warning) trace(COMPONENT, `${this.describe()} key "${key}": ${decoded.warning}`);
    } else {
      this.entries.delete(key);
      if (decoded.kind === 'invalid')
        trace(COMPONENT, `${this.describe()} skipping key "${key}": ${decoded.reason}`);
    }
  }

  /** Pushes the current list if it differs from the last one pushed. Deterministic order: by address, then key. */
  private push(note: string): void {
    const byAddress = new Map<string, { key: string; endpoint: DiscoveredEndpoint }>();
    for (const [key, endpoint] of this.entries) {
      const address = grpc.experimental.subchannelAddressToString(endpoint.addresses[0]!);
      const existing = byAddress.get(address);
      if (!existing || key < existing.key) {
        if (existing)
          trace(COMPONENT, `${this.describe()} address ${address} under two keys; using "${key}"`);
        byAddress.set(address, { key, endpoint });
      }
    }
    const list = [...byAddress.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, entry]) => entry.endpoint);
    const resolutionNote =
      list.length === 0 ? `no endpoints registered in etcd under "${this.config!.target.prefix}"` : '';
    if (this.publisher.push(list, resolutionNote)) {
      trace(COMPONENT, `${this.describe()} pushed ${list.length} endpoints (${note})`);
    }
  }

  private fail(generation: number, error: Error): void {
    if (generation !== this.generation) return;
    const delay = this.backoff.next();
    trace(COMPONENT, `${this.describe()} failed: ${error.message}; re-syncing in ${delay} ms`);
    if (!this.publisher.hasList) {
      const details = `etcd resolver (${this.describe()}): ${error.message}`;
      this.publisher.fail(details, details);
    }
    this.restart(delay);
  }

  private restart(delayMs: number): void {
    this.stopWatch();
    const generation = ++this.generation;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (generation === this.generation) void this.sync(generation);
    }, delayMs);
    this.retryTimer.unref?.();
  }

  private stopWatch(): void {
    this.watch?.cancel();
    this.watch = undefined;
  }
}
