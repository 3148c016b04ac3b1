import * as grpc from '@grpc/grpc-js';
import { withoutEmptyResolutionNote } from '../grpc-message';
import { trace } from '../trace';
import type { ResolvedEtcdConnection } from './connection-options';
import {
  type EtcdServiceConstructors,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  loadEtcdServices,
  type RangeResponse,
  type WatchResponse,
} from './protocol';
import { UnrefChannelCredentials } from './unref-credentials';

const COMPONENT = 'etcd-client';
const UNARY_DEADLINE_MS = 5_000;
/**
 * How long one endpoint may take to connect before the client tries the next. Short, so that a
 * blackholed first endpoint (accepts TCP, never answers) costs a new channel about 1.5 s, not the
 * 5 s of a typical call deadline; a slow endpoint is not lost, its connection goes on in the background.
 */
export const ETCD_CONNECT_TIMEOUT_MS = 1_500;

/** Channel options for etcd channels: reconnect soon after an etcd restart; detect dead peers. */
const ETCD_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 3_000,
  // etcd's default --grpc-keepalive-min-time is 5 s; stay well above it.
  'grpc.keepalive_time_ms': 15_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.enable_retries': 0,
};

interface EndpointClients {
  channel: grpc.Channel;
  kv: grpc.Client;
  watch: grpc.Client;
  lease: grpc.Client;
  auth: grpc.Client;
}

type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

/** The smallest key greater than every key with this prefix (etcd's `GetPrefixRangeEnd`). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}

/** Callbacks of one watch stream. */
export interface EtcdWatchHandlers {
  onResponse(response: WatchResponse): void;
  /** The stream ended or failed (not called after `cancel()`). */
  onEnd(error: Error): void;
}

/** A running watch stream. */
export interface EtcdWatch {
  cancel(): void;
}

/** An error whose message names the etcd endpoint and method; never carries credentials. */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly code: grpc.status | undefined,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

/**
 * Whether etcd refused our auth token (it expired, or etcd lost it in a restart), so that
 * authenticating again may help. `text` is the error's details or message.
 */
function isAuthTokenRejection(code: grpc.status | undefined, text: string): boolean {
  return (
    code === grpc.status.UNAUTHENTICATED ||
    /invalid auth token|auth store is old|user name is empty/.test(text)
  );
}

/**
 * Whether an error means "this endpoint cannot serve us now, another may": unreachable, too slow, or
 * a member without a leader (cut off from its cluster). etcd sends "etcdserver: no leader" as
 * UNAVAILABLE when the call asked for a leader (`hasleader` metadata).
 */
function shouldTryAnotherEndpoint(error: unknown): boolean {
  if (!(error instanceof EtcdError)) return false;
  return (
    error.code === grpc.status.UNAVAILABLE ||
    error.code === grpc.status.DEADLINE_EXCEEDED ||
    /no leader/.test(error.message)
  );
}

/**
 * A thin client for the etcd v3 gRPC API over grpc-js. One channel per endpoint, used one at a
 * time, starting at a random endpoint (so that clients spread out and an endpoint that is down does
 * not fail every client's first calls). Each operation tries every endpoint before it fails: an
 * endpoint is skipped when it does not connect within {@link ETCD_CONNECT_TIMEOUT_MS}, or answers
 * UNAVAILABLE, DEADLINE_EXCEEDED or "no leader". Watches and reads require a leader (etcd's
 * `hasleader` metadata, clientv3's `WithRequireLeader`), so a member cut off from its peers ends them
 * with "no leader" instead of serving stale data. With a username, it authenticates once and
 * re-authenticates when etcd rejects the token (expired, or lost in an etcd restart). Its connections
 * never keep the process alive ({@link UnrefChannelCredentials}).
 */
export class EtcdClient {
  private readonly services: EtcdServiceConstructors;
  private readonly clients: (EndpointClients | undefined)[];
  private readonly credentials: grpc.ChannelCredentials;
  private current: number;
  private token: Promise<string> | undefined;
  private closed = false;

  constructor(
    private readonly connection: ResolvedEtcdConnection,
    random: () => number = Math.random,
  ) {
    this.services = loadEtcdServices();
    this.clients = connection.endpoints.map(() => undefined);
    this.credentials = new UnrefChannelCredentials(connection.channelCredentials);
    this.current = Math.floor(random() * connection.endpoints.length) % connection.endpoints.length;
  }

  /** The endpoint the client uses now (`host:port`). */
  get currentEndpoint(): string {
    return this.connection.endpoints[this.current]!;
  }

  /** All keys under `prefix` (one linearizable Range, requiring a leader), with the store revision it was read at. */
  range(prefix: Buffer): Promise<RangeResponse> {
    return this.unary(
      'kv',
      'Range',
      { key: prefix, range_end: prefixRangeEnd(prefix) },
      true,
    ) as Promise<RangeResponse>;
  }

  async put(key: string, value: string, lease = '0'): Promise<void> {
    await this.unary('kv', 'Put', { key: Buffer.from(key), value: Buffer.from(value), lease });
  }

  /** Grants a lease; returns its id (decimal string) and granted TTL in seconds. */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const response = (await this.unary('lease', 'LeaseGrant', {
      TTL: ttlSeconds,
      ID: 0,
    })) as LeaseGrantResponse;
    if (response.error) throw new EtcdError(`etcd LeaseGrant: ${response.error}`, undefined);
    return { id: response.ID, ttl: Number(response.TTL) };
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.unary('lease', 'LeaseRevoke', { ID: id });
  }

  /** One keep-alive round trip (etcd's KeepAliveOnce): returns the remaining TTL; <= 0 means the lease is gone. */
  async leaseKeepAliveOnce(id: string): Promise<number> {
    return this.withRetryOnAuth(() =>
      this.onSomeEndpoint(async (index) => {
        const endpoint = this.endpointClients(index);
        const metadata = await this.callMetadata(false);
        return new Promise<number>((resolve, reject) => {
          const call = (
            endpoint.lease as unknown as Record<
              string,
              (
                m: grpc.Metadata,
                o: grpc.CallOptions,
              ) => grpc.ClientDuplexStream<object, LeaseKeepAliveResponse>
            >
          ).LeaseKeepAlive!.call(endpoint.lease, metadata, { deadline: Date.now() + UNARY_DEADLINE_MS });
          let settled = false;
          call.on('data', (response: LeaseKeepAliveResponse) => {
            if (settled) return;
            settled = true;
            resolve(Number(response.TTL));
            call.cancel();
          });
          call.on('error', (error: grpc.ServiceError) => {
            if (settled) return;
            settled = true;
            reject(this.wrapError(index, 'LeaseKeepAlive', error));
          });
          call.on('end', () => {
            if (settled) return;
            settled = true;
            reject(
              new EtcdError(
                `etcd ${this.connection.endpoints[index]} LeaseKeepAlive: stream ended`,
                undefined,
              ),
            );
          });
          call.write({ ID: id });
        });
      }),
    );
  }

  /**
   * Opens a watch on every key under `prefix` from `startRevision`. Resolves once the stream is open
   * (not necessarily created); failures arrive through `onEnd`.
   */
  watch(prefix: Buffer, startRevision: string, handlers: EtcdWatchHandlers): Promise<EtcdWatch> {
    return this.withRetryOnAuth(() =>
      this.onSomeEndpoint((index) => this.openWatch(index, prefix, startRevision, handlers)),
    );
  }

  private async openWatch(
    index: number,
    prefix: Buffer,
    startRevision: string,
    handlers: EtcdWatchHandlers,
  ): Promise<EtcdWatch> {
    const endpoint = this.endpointClients(index);
    const metadata = await this.callMetadata(true);
    const call = (
      endpoint.watch as unknown as Record<
        string,
        (m: grpc.Metadata) => grpc.ClientDuplexStream<object, WatchResponse>
      >
    ).Watch!.call(endpoint.watch, metadata);
    let done = false;
    const finish = (error: Error) => {
      if (done) return;
      done = true;
      call.removeAllListeners('data');
      handlers.onEnd(error);
    };
    call.on('data', (response: WatchResponse) => {
      if (!done) handlers.onResponse(response);
    });
    call.on('error', (error: grpc.ServiceError) => {
      if (isAuthTokenRejection(error.code, error.details ?? '')) this.token = undefined;
      const wrapped = this.wrapError(index, 'Watch', error);
      if (shouldTryAnotherEndpoint(wrapped)) this.moveOn(index, wrapped.message);
      finish(wrapped);
    });
    call.on('end', () =>
      finish(new EtcdError(`etcd ${this.connection.endpoints[index]} Watch: stream ended`, undefined)),
    );
    call.write({
      create_request: { key: prefix, range_end: prefixRangeEnd(prefix), start_revision: startRevision },
    });
    return {
      cancel: () => {
        if (done) return;
        done = true;
        call.removeAllListeners('data');
        // Keep an error listener: cancel() makes the stream emit CANCELLED.
        call.on('error', () => {});
        call.cancel();
      },
    };
  }

  /** Forgets the auth token, so the next call authenticates again (after etcd said permission denied). */
  invalidateToken(): void {
    this.token = undefined;
  }

  /** Closes every channel. Calls in flight fail with CANCELLED. */
  close(): void {
    this.closed = true;
    for (const endpoint of this.clients) endpoint?.channel.close();
    this.clients.fill(undefined);
  }

  private endpointClients(index: number): EndpointClients {
    if (this.closed) throw new EtcdError('etcd client is closed', grpc.status.CANCELLED);
    let endpoint = this.clients[index];
    if (!endpoint) {
      const target = this.connection.endpoints[index]!;
      const channel = new grpc.Channel(target, this.credentials, ETCD_CHANNEL_OPTIONS);
      const options = { channelOverride: channel };
      endpoint = {
        channel,
        kv: new this.services.KV(target, this.credentials, options),
        watch: new this.services.Watch(target, this.credentials, options),
        lease: new this.services.Lease(target, this.credentials, options),
        auth: new this.services.Auth(target, this.credentials, options),
      };
      this.clients[index] = endpoint;
      trace(COMPONENT, `channel to etcd ${target} created`);
    }
    return endpoint;
  }

  /** Moves to the endpoint after `index`, unless another failure moved already. */
  private moveOn(index: number, reason: string): void {
    if (this.current !== index || this.connection.endpoints.length < 2) return;
    this.current = (index + 1) % this.connection.endpoints.length;
    trace(COMPONENT, `${reason}; next endpoint ${this.connection.endpoints[this.current]}`);
  }

  /**
   * Runs `operation` on the current endpoint; when that endpoint does not connect in time or fails in
   * a way another endpoint may not ({@link shouldTryAnotherEndpoint}), on the next, until every
   * endpoint was tried once. The error then names each endpoint's failure.
   */
  private async onSomeEndpoint<T>(operation: (index: number) => Promise<T>): Promise<T> {
    const failures: string[] = [];
    for (let tried = 0; tried < this.connection.endpoints.length; tried++) {
      const index = this.current;
      try {
        await this.connect(index);
        return await operation(index);
      } catch (error) {
        if (!shouldTryAnotherEndpoint(error)) throw error;
        failures.push((error as Error).message);
        this.moveOn(index, (error as Error).message);
      }
    }
    throw new EtcdError(
      failures.length === 1 ? failures[0]! : `every etcd endpoint failed: ${failures.join('; ')}`,
      grpc.status.UNAVAILABLE,
    );
  }

  /**
   * Resolves once endpoint `index` is connected, or has failed to (the call then fails at once with
   * the reason); rejects (UNAVAILABLE) when it is still connecting after the connect timeout.
   */
  private connect(index: number): Promise<void> {
    const { channel } = this.endpointClients(index);
    const name = this.connection.endpoints[index];
    const deadline = Date.now() + ETCD_CONNECT_TIMEOUT_MS;
    const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = channel.getConnectivityState(true);
        // In TRANSIENT_FAILURE the call itself fails at once, with grpc-js's reason (refused, TLS...).
        if (state === READY || state === TRANSIENT_FAILURE) resolve();
        else if (state === SHUTDOWN) {
          reject(new EtcdError('etcd client is closed', grpc.status.CANCELLED));
        } else {
          channel.watchConnectivityState(state, deadline, (error) => {
            if (error) {
              reject(
                new EtcdError(
                  `etcd ${name}: not connected within ${ETCD_CONNECT_TIMEOUT_MS} ms`,
                  grpc.status.UNAVAILABLE,
                ),
              );
            } else check();
          });
        }
      };
      check();
    });
  }

  private wrapError(index: number, method: string, error: grpc.ServiceError): EtcdError {
    const code = error.code;
    const name = grpc.status[code] ?? String(code);
    return new EtcdError(
      `etcd ${this.connection.endpoints[index]} ${method}: ${name}: ${withoutEmptyResolutionNote(error.details)}`,
      code,
    );
  }

  private rawUnary(
    index: number,
    service: keyof Omit<EndpointClients, 'channel'>,
    method: string,
    request: object,
    metadata: grpc.Metadata,
  ): Promise<unknown> {
    const endpoint = this.endpointClients(index);
    const client = endpoint[service] as unknown as Record<string, UnaryMethod>;
    return new Promise((resolve, reject) => {
      client[method]!.call(
        client,
        request,
        metadata,
        { deadline: Date.now() + UNARY_DEADLINE_MS },
        (error, response) => {
          if (error) reject(this.wrapError(index, `${method}`, error));
          else resolve(response);
        },
      );
    });
  }

  /** Call metadata: the auth token, and `hasleader: true` when the call must not be served without a leader. */
  private async callMetadata(requireLeader: boolean): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata();
    if (requireLeader) metadata.set('hasleader', 'true');
    if (this.connection.username === undefined) return metadata;
    if (!this.token) {
      const pending = this.authenticate();
      this.token = pending;
      pending.catch(() => {
        if (this.token === pending) this.token = undefined;
      });
    }
    metadata.set('token', await this.token);
    return metadata;
  }

  private async authenticate(): Promise<string> {
    const index = this.current;
    const response = (await this.rawUnary(
      index,
      'auth',
      'Authenticate',
      {
        name: this.connection.username,
        password: this.connection.password() ?? '',
      },
      new grpc.Metadata(),
    )) as { token: string };
    trace(
      COMPONENT,
      `authenticated to etcd ${this.connection.endpoints[index]} as ${this.connection.username}`,
    );
    return response.token;
  }

  private async withRetryOnAuth<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const authProblem =
        this.connection.username !== undefined &&
        isAuthTokenRejection((error as EtcdError).code, (error as Error).message);
      if (!authProblem) throw error;
      this.token = undefined;
      return operation();
    }
  }

  private unary(
    service: keyof Omit<EndpointClients, 'channel'>,
    method: string,
    request: object,
    requireLeader = false,
  ): Promise<unknown> {
    return this.withRetryOnAuth(() =>
      this.onSomeEndpoint(async (index) => {
        const metadata = await this.callMetadata(requireLeader);
        return this.rawUnary(index, service, method, request, metadata);
      }),
    );
  }
}

/** A reference to a shared {@link EtcdClient}; `release()` closes it when the last user lets go. */
export interface EtcdClientLease {
  readonly client: EtcdClient;
  release(): void;
}

const sharedClients = new Map<string, { client: EtcdClient; refs: number }>();

/**
 * Returns the process-wide client for these connection settings, creating it on first use.
 * Sharing means one connection and one authentication (bcrypt on etcd's side) per process
 * instead of one per channel.
 */
export function acquireEtcdClient(connection: ResolvedEtcdConnection): EtcdClientLease {
  let entry = sharedClients.get(connection.sharingKey);
  if (!entry) {
    entry = { client: new EtcdClient(connection), refs: 0 };
    sharedClients.set(connection.sharingKey, entry);
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    client: held.client,
    release: () => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0) {
        held.client.close();
        if (sharedClients.get(connection.sharingKey) === held) sharedClients.delete(connection.sharingKey);
      }
    },
  };
}

/** Number of shared etcd clients alive (for tests: 0 once every resolver and registration is gone). */
export function sharedEtcdClientCount(): number {
  return sharedClients.size;
}
