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

const COMPONENT = 'etcd-client';
const UNARY_DEADLINE_MS = 5_000;

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
 * A thin client for the etcd v3 gRPC API over grpc-js. One channel per endpoint, used one at a
 * time: a call failing with UNAVAILABLE or DEADLINE_EXCEEDED moves to the next endpoint, so the
 * callers' own retries fail over. With a username, it authenticates once and re-authenticates when
 * etcd rejects the token (expired, or lost in an etcd restart).
 */
export class EtcdClient {
  private readonly services: EtcdServiceConstructors;
  private readonly clients: (EndpointClients | undefined)[];
  private current = 0;
  private token: Promise<string> | undefined;
  private closed = false;

  constructor(private readonly connection: ResolvedEtcdConnection) {
    this.services = loadEtcdServices();
    this.clients = connection.endpoints.map(() => undefined);
  }

  /** All keys under `prefix` (one Range), with the store revision it was read at. */
  range(prefix: Buffer): Promise<RangeResponse> {
    return this.unary('kv', 'Range', {
      key: prefix,
      range_end: prefixRangeEnd(prefix),
    }) as Promise<RangeResponse>;
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
    return this.withRetryOnAuth(async () => {
      const index = this.current;
      const endpoint = this.endpointClients(index);
      const metadata = await this.callMetadata();
      return new Promise<number>((resolve, reject) => {
        const call = (
          endpoint.lease as unknown as Record<
            string,
            (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, LeaseKeepAliveResponse>
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
            new EtcdError(`etcd ${this.connection.endpoints[index]} LeaseKeepAlive: stream ended`, undefined),
          );
        });
        call.write({ ID: id });
      });
    });
  }

  /**
   * Opens a watch on every key under `prefix` from `startRevision`. Resolves once the stream is open
   * (not necessarily created); failures arrive through `onEnd`.
   */
  async watch(prefix: Buffer, startRevision: string, handlers: EtcdWatchHandlers): Promise<EtcdWatch> {
    const index = this.current;
    const endpoint = this.endpointClients(index);
    const metadata = await this.callMetadata();
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
      finish(this.wrapError(index, 'Watch', error));
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
      const channel = new grpc.Channel(target, this.connection.channelCredentials, ETCD_CHANNEL_OPTIONS);
      const options = { channelOverride: channel };
      endpoint = {
        channel,
        kv: new this.services.KV(target, this.connection.channelCredentials, options),
        watch: new this.services.Watch(target, this.connection.channelCredentials, options),
        lease: new this.services.Lease(target, this.connection.channelCredentials, options),
        auth: new this.services.Auth(target, this.connection.channelCredentials, options),
      };
      this.clients[index] = endpoint;
      trace(COMPONENT, `channel to etcd ${target} created`);
    }
    return endpoint;
  }

  private wrapError(index: number, method: string, error: grpc.ServiceError): EtcdError {
    const code = error.code;
    if (
      (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED) &&
      this.current === index
    ) {
      if (this.connection.endpoints.length > 1) {
        this.current = (index + 1) % this.connection.endpoints.length;
        trace(
          COMPONENT,
          `etcd ${this.connection.endpoints[index]} failed; next endpoint ${this.connection.endpoints[this.current]}`,
        );
      }
    }
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

  private async callMetadata(): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata();
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
  ): Promise<unknown> {
    return this.withRetryOnAuth(async () => {
      const index = this.current;
      const metadata = await this.callMetadata();
      return this.rawUnary(index, service, method, request, metadata);
    });
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
