import * as grpc from '@grpc/grpc-js';
import { type DiscoveredEndpoint, formatHostPort } from '../../endpoint';
import { acquireEtcdClient, type EtcdClientLease, EtcdError, type EtcdWatch } from '../../etcd/client';
import { type ResolvedEtcdConnection, resolveEtcdConnection } from '../../etcd/connection-options';
import { ETCD_CREDENTIALS_OPTION, EtcdCredentials } from '../../etcd/credentials';
import type { KeyValue, WatchResponse } from '../../etcd/protocol';
import { forEachInSlices, nextLoopIteration } from '../../loop-iteration';
import { trace } from '../../trace';
import type { LifecycleSchedule, ResolverAdapter, WatchHandle, WatchSink } from '../shared/adapter';
import { LifecycleResolver } from '../shared/lifecycle';
import { ResolverError } from '../shared/resolver-error';
import { ETCD_INITIAL_BACKOFF_OPTION, ETCD_MAX_BACKOFF_OPTION } from './channel-options';
import { decodeEtcdEndpointValue } from './naming';
import { type EtcdTarget, parseEtcdTarget, redactEtcdTargetText } from './target';

const COMPONENT = 'etcd-resolver';
/** Longest slice of a large first answer's keys applied in one event-loop turn. */
const APPLY_SLICE_MS = 20;

function readBackoffOption(options: grpc.ChannelOptions, key: string): number | undefined {
  const value = options[key] as unknown;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new Error(
      `channel option ${key}: expected a positive number of milliseconds, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** An etcd failure as the lifecycle's error: "no leader" and auth problems are refusals, the rest unreachability. */
function etcdFailure(target: string, error: Error): ResolverError {
  const code =
    error instanceof EtcdError &&
    error.code !== undefined &&
    error.code !== grpc.status.UNAVAILABLE &&
    error.code !== grpc.status.DEADLINE_EXCEEDED
      ? 'REJECTED'
      : /no leader/.test(error.message)
        ? 'REJECTED'
        : 'UNREACHABLE';
  return new ResolverError(code, target, error.message, { cause: error });
}

/**
 * The `etcd:` adapter: a watch that reads every key under `<service>/` (etcd's gRPC naming
 * convention), then watches from the next revision, reporting the whole list on every change.
 */
class EtcdAdapter implements ResolverAdapter {
  readonly component = COMPONENT;
  readonly schedule: LifecycleSchedule;
  private readonly prefix: Buffer;
  private readonly connection: ResolvedEtcdConnection;
  private clientLease: EtcdClientLease | undefined;

  constructor(
    readonly target: string,
    private readonly parsed: EtcdTarget,
    options: grpc.ChannelOptions,
  ) {
    const credentialsOption = options[ETCD_CREDENTIALS_OPTION] as unknown;
    if (credentialsOption !== undefined && !(credentialsOption instanceof EtcdCredentials)) {
      throw new Error(`channel option ${ETCD_CREDENTIALS_OPTION}: must be made with createEtcdCredentials()`);
    }
    const credentials = credentialsOption as EtcdCredentials | undefined;
    this.connection = resolveEtcdConnection({
      endpoints: parsed.endpoints,
      username: credentials?.username,
      password: credentials?.revealPassword(),
      tls: credentials?.tls,
    });
    const initialBackoffMs = readBackoffOption(options, ETCD_INITIAL_BACKOFF_OPTION) ?? 250;
    this.schedule = {
      initialBackoffMs,
      maxBackoffMs: Math.max(initialBackoffMs, readBackoffOption(options, ETCD_MAX_BACKOFF_OPTION) ?? 10_000),
      // A compaction restarts the watch at once (the burst covers it); a watch that keeps ending
      // degrades into two restarts a second at most.
      requestsPerSecond: 2,
      burst: 3,
    };
    this.prefix = Buffer.from(parsed.prefix);
  }

  open(): void {
    this.clientLease = acquireEtcdClient(this.connection);
  }

  close(): void {
    this.clientLease?.release();
    this.clientLease = undefined;
  }

  watch(sink: WatchSink): WatchHandle {
    const client = this.clientLease!.client;
    const entries = new Map<string, DiscoveredEndpoint>();
    let closed = false;
    let watch: EtcdWatch | undefined;
    const fail = (error: Error) => {
      if (!closed) sink.end(etcdFailure(this.target, error));
    };
    const publish = (note: string) => {
      sink.update({
        endpoints: this.endpointList(entries),
        emptyReason: `no endpoints registered under "${this.parsed.prefix}" in etcd ${this.connection.endpoints.join(',')}`,
        note,
      });
    };
    const onResponse = (response: WatchResponse) => {
      if (closed) return;
      if (response.canceled) {
        if (response.compact_revision !== '0' && response.compact_revision !== '') {
          // Our revision was compacted away: read everything again at once; nothing is wrong with etcd.
          sink.end(new Error(`watch compacted at revision ${response.compact_revision}`), true);
        } else {
          client.invalidateToken();
          fail(new Error(`etcd watch canceled: ${response.cancel_reason || 'no reason given'}`));
        }
        return;
      }
      if (response.created) {
        trace(COMPONENT, `${this.target}: watching on ${client.currentEndpoint}`);
        sink.healthy();
      }
      if (response.events.length === 0) return;
      for (const event of response.events) {
        if (event.type === 1) entries.delete(event.kv.key.toString());
        else this.applyPut(entries, event.kv);
      }
      publish(`etcd revision ${response.header.revision}`);
    };
    void (async () => {
      const response = await client.range(this.prefix);
      if (closed) return;
      // Decoding a 20,000-key answer took this turn (about 100 ms); applying its keys, a JSON value
      // each, takes later ones, a slice at a time.
      await nextLoopIteration();
      if (closed) return;
      const stopped = () => closed;
      if (!(await forEachInSlices(response.kvs, (kv) => this.applyPut(entries, kv), APPLY_SLICE_MS, stopped)))
        return;
      const revision = response.header.revision;
      trace(COMPONENT, `${this.target}: read ${response.kvs.length} keys at revision ${revision}`);
      publish(`etcd revision ${revision}`);
      const opened = await client.watch(this.prefix, (BigInt(revision) + 1n).toString(), {
        onResponse,
        onEnd: fail,
      });
      if (closed) opened.cancel();
      else watch = opened;
    })().catch(fail);
    return {
      close: () => {
        closed = true;
        watch?.cancel();
      },
    };
  }

  private applyPut(entries: Map<string, DiscoveredEndpoint>, kv: KeyValue): void {
    const key = kv.key.toString();
    const decoded = decodeEtcdEndpointValue(kv.value);
    if (decoded.kind === 'add') {
      entries.set(key, decoded.endpoint);
      if (decoded.warning) trace(COMPONENT, `${this.target}: key "${key}": ${decoded.warning}`);
    } else {
      entries.delete(key);
      if (decoded.kind === 'invalid')
        trace(COMPONENT, `${this.target}: skipping key "${key}": ${decoded.reason}`);
    }
  }

  /** The endpoints, one per address (the smallest key wins), in address order. */
  private endpointList(entries: Map<string, DiscoveredEndpoint>): DiscoveredEndpoint[] {
    const byAddress = new Map<string, { key: string; endpoint: DiscoveredEndpoint }>();
    for (const [key, endpoint] of entries) {
      const { host, port } = endpoint.addresses[0] as { host: string; port: number };
      const address = formatHostPort(host, port);
      const existing = byAddress.get(address);
      if (!existing || key < existing.key) {
        if (existing) trace(COMPONENT, `${this.target}: address ${address} under two keys; using "${key}"`);
        byAddress.set(address, { key, endpoint });
      }
    }
    // The default sort orders by UTF-16 code units, as `<` does, without a comparator call per pair.
    return [...byAddress.keys()].sort().map((address) => byAddress.get(address)!.endpoint);
  }
}

/**
 * The `etcd:` resolver: `etcd://[host:port[,host:port...]]/<service>`. Reads every key under
 * `<service>/` (etcd's gRPC naming convention), then watches from the next revision, on one shared
 * lifecycle ({@link LifecycleResolver}): after a watch failure, a compaction, "no leader" or an etcd
 * restart it re-syncs (Range + Watch) on the next endpoint with capped, jittered backoff, keeping the
 * last good list meanwhile; it reports an error only while it never had a list.
 */
export class EtcdResolver extends LifecycleResolver {
  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
  ) {
    const text = redactEtcdTargetText(grpc.experimental.uriToString(target));
    super(text, listener, () => new EtcdAdapter(text, parseEtcdTarget(target), channelOptions));
  }
}
