import * as grpc from '@grpc/grpc-js';
import { acquireEtcdClient, type EtcdClientLease } from '../etcd/client';
import { type EtcdConnectionOptions, resolveEtcdConnection } from '../etcd/connection-options';
import { encodeEtcdEndpointValue } from '../resolvers/etcd/naming';
import { type BackoffOptions, ExponentialBackoff } from '../resolvers/shared';
import { logError, trace } from '../trace';

const COMPONENT = 'etcd-registration';

/** Options of {@link registerWithEtcd}. */
export interface EtcdRegistrationOptions extends EtcdConnectionOptions {
  /** The naming target (service name): the key is `<target>/<id>`. Same as the resolver's `etcd:///<target>`. */
  target: string;
  /** This instance's id, unique within the target. */
  id: string;
  /** The address clients dial, `host:port`. */
  addr: string;
  /** Go-convention `Metadata`. A numeric `weight` sets the endpoint's weight; `hashKey` its ring hash key. */
  metadata?: Record<string, unknown>;
  /** Lease TTL in whole seconds (default 10, minimum 2). The key disappears this long after the process dies. */
  ttl?: number;
  /** Retry backoff after etcd failures (default 250 ms growing ×1.6 up to 5 s, ±20 % jitter). */
  backoff?: BackoffOptions;
}

/** A live registration. */
export interface EtcdRegistration {
  /** The etcd key written. */
  readonly key: string;
  /** The current lease id (decimal), or undefined while none is held. */
  readonly leaseId: string | undefined;
  /** Resolves once the key is in etcd for the first time (rejects only if deregistered before that). */
  readonly ready: Promise<void>;
  /**
   * Stops keep-alives and revokes the lease, which deletes the key. Never rejects: if etcd cannot be
   * reached, the error is logged and the key expires with its lease.
   */
  deregister(): Promise<void>;
}

function validate(options: EtcdRegistrationOptions): { ttl: number } {
  const { target, id, addr } = options;
  if (typeof target !== 'string' || target === '' || target.endsWith('/')) {
    throw new Error(
      `target: expected a non-empty service name without trailing "/", got ${JSON.stringify(target)}`,
    );
  }
  if (typeof id !== 'string' || id === '' || id.includes('/')) {
    throw new Error(`id: expected a non-empty string without "/", got ${JSON.stringify(id)}`);
  }
  const split = typeof addr === 'string' ? grpc.experimental.splitHostPort(addr) : null;
  if (!split || split.host === '' || split.port === undefined || split.port < 1 || split.port > 65535) {
    throw new Error(`addr: expected host:port, got ${JSON.stringify(addr)}`);
  }
  const ttl = options.ttl ?? 10;
  if (!Number.isInteger(ttl) || ttl < 2)
    throw new Error(`ttl: expected whole seconds >= 2, got ${JSON.stringify(ttl)}`);
  const weight = options.metadata?.['weight'];
  if (weight !== undefined && !(typeof weight === 'number' && Number.isFinite(weight) && weight > 0)) {
    throw new Error(`metadata.weight: expected a positive number, got ${JSON.stringify(weight)}`);
  }
  return { ttl };
}

/**
 * Registers a server in etcd under `<target>/<id>`, in etcd's gRPC naming convention, so both our
 * `etcd:` resolver and Go's `naming/resolver` find it. The key is bound to a lease kept alive every
 * ttl/3; when the lease is lost (etcd restart with lost data, partition longer than the TTL, revoked),
 * a new lease is granted and the key written again, with backoff. Validation errors throw at once;
 * etcd being unreachable does not (it keeps trying; await `ready` to know when the key is in).
 */
export function registerWithEtcd(options: EtcdRegistrationOptions): EtcdRegistration {
  const { ttl } = validate(options);
  const connection = resolveEtcdConnection(options);
  const key = `${options.target}/${options.id}`;
  const value = encodeEtcdEndpointValue(options.addr, options.metadata ?? null);
  const initialMs = options.backoff?.initialMs ?? 250;
  const backoff = new ExponentialBackoff({
    ...options.backoff,
    initialMs,
    maxMs: Math.max(initialMs, options.backoff?.maxMs ?? 5_000),
  });
  const clientLease: EtcdClientLease = acquireEtcdClient(connection);
  const client = clientLease.client;
  const keepAliveMs = Math.max(500, Math.floor((ttl * 1000) / 3));

  let leaseId: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastKeepAlive = 0;
  /** The step running now, so deregister() can wait for a grant or put in flight. */
  let inflight: Promise<void> = Promise.resolve();
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {});

  // Timers are unref'd: a registration alone does not keep the process alive (the server does).
  const schedule = (delayMs: number, step: () => Promise<void>) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      inflight = step();
    }, delayMs);
    timer.unref?.();
  };

  const establish = async (): Promise<void> => {
    if (stopped) return;
    try {
      const granted = await client.leaseGrant(ttl);
      if (stopped) {
        await client.leaseRevoke(granted.id).catch(() => {});
        return;
      }
      leaseId = granted.id;
      await client.put(key, value, granted.id);
      lastKeepAlive = Date.now();
      backoff.reset();
      trace(COMPONENT, `${key} -> ${options.addr} registered with lease ${granted.id} (ttl ${ttl}s)`);
      resolveReady();
      schedule(keepAliveMs, keepAlive);
    } catch (error) {
      const delay = backoff.next();
      trace(COMPONENT, `${key}: registering failed: ${(error as Error).message}; retrying in ${delay} ms`);
      schedule(delay, establish);
    }
  };

  const keepAlive = async (): Promise<void> => {
    if (stopped || leaseId === undefined) return;
    const id = leaseId;
    try {
      const remaining = await client.leaseKeepAliveOnce(id);
      if (stopped) return;
      if (remaining <= 0) {
        trace(COMPONENT, `${key}: lease ${id} is gone; registering again`);
        leaseId = undefined;
        await establish();
        return;
      }
      lastKeepAlive = Date.now();
      backoff.reset();
      schedule(keepAliveMs, keepAlive);
    } catch (error) {
      if (stopped) return;
      // After a full TTL without a successful keep-alive the lease has surely expired.
      if (Date.now() - lastKeepAlive > ttl * 1000) {
        trace(COMPONENT, `${key}: no keep-alive for ${ttl}s; registering again`);
        leaseId = undefined;
        schedule(backoff.next(), establish);
        return;
      }
      const delay = Math.min(backoff.next(), keepAliveMs);
      trace(COMPONENT, `${key}: keep-alive failed: ${(error as Error).message}; retrying in ${delay} ms`);
      schedule(delay, keepAlive);
    }
  };

  inflight = establish();

  let deregistering: Promise<void> | undefined;
  return {
    key,
    get leaseId() {
      return leaseId;
    },
    ready,
    deregister(): Promise<void> {
      if (deregistering) return deregistering;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      rejectReady(new Error(`etcd registration ${key} was deregistered`));
      deregistering = (async () => {
        // Let a grant or put in flight finish (bounded), so its lease is revoked too.
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([inflight, new Promise((r) => (bound = setTimeout(r, 6_000)))]);
        clearTimeout(bound);
        const id = leaseId;
        leaseId = undefined;
        try {
          if (id !== undefined) await client.leaseRevoke(id);
          trace(COMPONENT, `${key}: deregistered`);
        } catch (error) {
          logError(
            COMPONENT,
            `${key}: revoking lease failed (${(error as Error).message}); the key expires within ${ttl}s`,
          );
        } finally {
          clientLease.release();
        }
      })();
      return deregistering;
    },
  };
}
