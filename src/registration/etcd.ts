import * as grpc from '@grpc/grpc-js';
import { acquireEtcdClient, type EtcdClientLease } from '../etcd/client';
import { type EtcdConnectionOptions, resolveEtcdConnection } from '../etcd/connection-options';
import { encodeEtcdEndpointValue } from '../resolvers/etcd/naming';
import { type BackoffOptions, ExponentialBackoff } from '../resolvers/shared';
import { logError, trace, traceInfo } from '../trace';
import { deregisterOnSignal } from './signal-deregistration';

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
  /**
   * How long `ready` may stay pending before it rejects, in ms (default 10 000; `Infinity` waits for
   * ever). Registering goes on in the background after the rejection; `deregister()` stops it.
   */
  readyTimeoutMs?: number;
  /**
   * Deregister on SIGINT/SIGTERM. If the application listens for the signal itself (`on` or `once`),
   * the exit is left to it (await `deregister()` in its handler to be sure deregistration finished);
   * otherwise every registration of the process is deregistered (waiting at most 5 s) and the
   * process then ends by the signal, as it would have without a listener. Default false.
   */
  deregisterOnSignal?: boolean;
}

/** A live registration. */
export interface EtcdRegistration {
  /** The etcd key written. */
  readonly key: string;
  /** The current lease id (decimal), or undefined while none is held. */
  readonly leaseId: string | undefined;
  /**
   * Resolves once the key is in etcd for the first time. Rejects if that takes longer than
   * `readyTimeoutMs` (retries go on) or if deregistered before that.
   */
  readonly ready: Promise<void>;
  /**
   * Stops keep-alives and revokes the lease, which deletes the key. Never rejects: if etcd cannot be
   * reached, the error is logged and the key expires with its lease.
   */
  deregister(): Promise<void>;
}

/** Default bound on how long `ready` stays pending. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

function validate(options: EtcdRegistrationOptions): { ttl: number; readyTimeoutMs: number } {
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
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (typeof readyTimeoutMs !== 'number' || Number.isNaN(readyTimeoutMs) || readyTimeoutMs <= 0) {
    throw new Error(
      `readyTimeoutMs: expected a positive number of ms (or Infinity), got ${JSON.stringify(readyTimeoutMs)}`,
    );
  }
  return { ttl, readyTimeoutMs };
}

/**
 * Registers a server in etcd under `<target>/<id>`, in etcd's gRPC naming convention, so both our
 * `etcd:` resolver and Go's `naming/resolver` find it. The key is bound to a lease kept alive every
 * ttl/3; when the lease is lost (etcd restart with lost data, partition longer than the TTL, revoked),
 * a new lease is granted and the key written again, with backoff. Validation errors throw at once;
 * etcd being unreachable does not: it is logged at ERROR once per outage, naming the endpoints, and
 * retried; `ready` rejects after `readyTimeoutMs` (default 10 s) while the retries go on.
 */
export function registerWithEtcd(options: EtcdRegistrationOptions): EtcdRegistration {
  const { ttl, readyTimeoutMs } = validate(options);
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
  const where = `etcd at ${connection.endpoints.join(', ')}`;
  /** The error of the outage under way, or null while etcd answers. Logged once per outage. */
  let outage: string | null = null;
  const failed = (doing: string, error: unknown) => {
    const message = (error as Error).message;
    if (outage === null) {
      logError(
        COMPONENT,
        `${key}: cannot register with ${where} (${doing}: ${message}); retrying with backoff until it answers`,
      );
    }
    outage = message;
  };
  const answered = () => {
    if (outage !== null) traceInfo(COMPONENT, `${key}: ${where} answers again`);
    outage = null;
  };
  let readyTimer: NodeJS.Timeout | undefined;
  if (Number.isFinite(readyTimeoutMs)) {
    readyTimer = setTimeout(() => {
      rejectReady(
        new Error(
          `etcd registration ${key} is not in etcd after ${readyTimeoutMs} ms: ${outage === null ? `no answer from ${where}` : `cannot register with ${where}: ${outage}`}; still retrying (deregister() stops it)`,
        ),
      );
    }, readyTimeoutMs);
    // Not unref'd: a process awaiting `ready` gets its answer rather than exiting silently.
  }

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
      answered();
      clearTimeout(readyTimer);
      resolveReady();
      schedule(keepAliveMs, keepAlive);
    } catch (error) {
      if (stopped) return;
      failed('registering', error);
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
      answered();
      backoff.reset();
      schedule(keepAliveMs, keepAlive);
    } catch (error) {
      if (stopped) return;
      failed('keeping the lease alive', error);
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
  const withdrawFromSignals = options.deregisterOnSignal
    ? deregisterOnSignal(`etcd key ${key}`, () => registration.deregister())
    : () => {};
  const registration: EtcdRegistration = {
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
      clearTimeout(readyTimer);
      withdrawFromSignals();
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
  return registration;
}
