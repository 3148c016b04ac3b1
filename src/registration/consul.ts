import { agentToString, readConsulCaFile, resolveConsulAgent } from '../consul/agent';
import { ConsulHttpClient, ConsulHttpError, describeConsulError } from '../consul/http-client';
import { parseGoDuration } from '../go-duration';
import { logError, trace } from '../trace';
import { deregisterOnSignal } from './signal-deregistration';

const COMPONENT = 'consul_registration';
const REQUEST_TIMEOUT_MS = 10_000;

/** Consul calls `grpc.health.v1.Health/Check` on the server every `interval`. */
export interface ConsulGrpcCheck {
  type: 'grpc';
  /** Go duration, default `"10s"`. */
  interval?: string;
  /** Go duration, default `"5s"`. */
  timeout?: string;
  /** `host:port` Consul dials; default the registered address and port. */
  target?: string;
  /** Health service name to ask for; default `''` (the whole server). */
  healthService?: string;
  /** The server uses TLS. Default false. */
  useTls?: boolean;
}

/** We report liveness ourselves: `PUT /v1/agent/check/pass/<id>` every `ttl` × `heartbeatFraction`. */
export interface ConsulTtlCheck {
  type: 'ttl';
  /** Go duration, e.g. `"10s"` (at least 1s). */
  ttl: string;
  /** Heartbeat period as a fraction of the TTL, in (0, 1). Default 1/3. */
  heartbeatFraction?: number;
}

/** Options for {@link registerWithConsul}. */
export interface ConsulRegistrationOptions {
  /** Consul service name. */
  service: string;
  /** Service instance ID; default `<service>-<address>-<port>`. */
  id?: string;
  /** Address clients dial (an IP or host name; IPv6 raw, no brackets). */
  address: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  /** `Weights.Passing` (integer >= 1): the endpoint weight consistent_hash reads. Default 1. */
  weight?: number;
  /** Health check; without one Consul counts the instance as passing while its node is. */
  check?: ConsulGrpcCheck | ConsulTtlCheck;
  /** Agent `host:port` or `http(s)://host:port`; default `CONSUL_HTTP_ADDR`, else 127.0.0.1:8500. */
  agent?: string;
  /** ACL token; default `CONSUL_HTTP_TOKEN`. Sent only as `X-Consul-Token`. */
  token?: string;
  /** PEM CA for an https agent; default the file named by `CONSUL_CACERT`. */
  ca?: string | Buffer;
  /** Consul removes the service after its check has been critical this long (Go duration, e.g. `"1m"`). */
  deregisterCriticalServiceAfter?: string;
  /**
   * Deregister on SIGINT/SIGTERM. If the application listens for the signal itself (`on` or `once`),
   * the exit is left to it (await `deregister()` in its handler to be sure deregistration finished);
   * otherwise every registration of the process is deregistered (waiting at most 5 s) and the
   * process then ends by the signal, as it would have without a listener. Default false.
   */
  deregisterOnSignal?: boolean;
}

/** A live registration. */
export interface ConsulRegistration {
  /** The service instance ID. */
  readonly id: string;
  /** The check ID, when there is a check. */
  readonly checkId: string | undefined;
  /** Stops heartbeats and signal handlers, then deregisters. Idempotent. */
  deregister(): Promise<void>;
}

/** A failed registration call; the message names the agent and Consul's answer, never the token. */
export class ConsulRegistrationError extends Error {
  override readonly name = 'ConsulRegistrationError';
}

function requireDuration(value: string, field: string, minMs: number): number {
  const ms = parseGoDuration(value);
  if (ms === null || ms < minMs) {
    throw new ConsulRegistrationError(
      `registerWithConsul: ${field} must be a Go duration of at least ${minMs} ms, got "${value}"`,
    );
  }
  return ms;
}

/** The JSON body of `PUT /v1/agent/service/register` for these options. */
export function consulRegistrationBody(options: ConsulRegistrationOptions): Record<string, unknown> {
  const { service, address, port } = options;
  if (typeof service !== 'string' || service === '' || /[/\s]/.test(service)) {
    throw new ConsulRegistrationError(
      `registerWithConsul: service must be a non-empty name without "/" or spaces, got "${service}"`,
    );
  }
  if (typeof address !== 'string' || address === '' || address.startsWith('[')) {
    throw new ConsulRegistrationError(
      `registerWithConsul: address must be a host or IP (IPv6 without brackets), got "${address}"`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConsulRegistrationError(`registerWithConsul: port must be an integer in 1..65535, got ${port}`);
  }
  const weight = options.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 1) {
    throw new ConsulRegistrationError(`registerWithConsul: weight must be an integer >= 1, got ${weight}`);
  }
  const id = options.id ?? `${service}-${address}-${port}`;
  const body: Record<string, unknown> = {
    Name: service,
    ID: id,
    Address: address,
    Port: port,
    Tags: options.tags ?? [],
    Meta: options.meta ?? {},
    Weights: { Passing: weight, Warning: 1 },
  };
  const check = options.check;
  if (check !== undefined) {
    const common: Record<string, unknown> = { Name: `${service} ${check.type} check` };
    if (options.deregisterCriticalServiceAfter !== undefined) {
      requireDuration(options.deregisterCriticalServiceAfter, 'deregisterCriticalServiceAfter', 1);
      common['DeregisterCriticalServiceAfter'] = options.deregisterCriticalServiceAfter;
    }
    if (check.type === 'grpc') {
      const interval = check.interval ?? '10s';
      const timeout = check.timeout ?? '5s';
      requireDuration(interval, 'check.interval', 1);
      requireDuration(timeout, 'check.timeout', 1);
      const host = address.includes(':') ? `[${address}]` : address;
      const target = check.target ?? `${host}:${port}`;
      body['Check'] = {
        ...common,
        GRPC: check.healthService ? `${target}/${check.healthService}` : target,
        GRPCUseTLS: check.useTls ?? false,
        Interval: interval,
        Timeout: timeout,
      };
    } else if (check.type === 'ttl') {
      requireDuration(check.ttl, 'check.ttl', 1000);
      const fraction = check.heartbeatFraction ?? 1 / 3;
      if (!(fraction > 0 && fraction < 1)) {
        throw new ConsulRegistrationError(
          `registerWithConsul: check.heartbeatFraction must be in (0, 1), got ${fraction}`,
        );
      }
      body['Check'] = { ...common, TTL: check.ttl };
    } else {
      throw new ConsulRegistrationError(
        `registerWithConsul: check.type must be "grpc" or "ttl", got "${(check as { type?: unknown }).type}"`,
      );
    }
  } else if (options.deregisterCriticalServiceAfter !== undefined) {
    throw new ConsulRegistrationError('registerWithConsul: deregisterCriticalServiceAfter needs a check');
  }
  return body;
}

/** The agent's client: the same agent, scheme and CA choice as the `consul:` resolver makes. */
function resolveAgent(options: ConsulRegistrationOptions): ConsulHttpClient {
  try {
    const address = resolveConsulAgent(options.agent, { what: 'agent', schemeAllowed: true });
    return new ConsulHttpClient(address, options.ca ?? readConsulCaFile());
  } catch (error) {
    throw new ConsulRegistrationError(`registerWithConsul: ${(error as Error).message}`);
  }
}

/**
 * Registers a server instance with the local Consul agent (`PUT /v1/agent/service/register`)
 * and keeps it registered: a TTL check is heartbeated, and re-registered when the agent
 * answers 404 (it restarted and forgot us). Resolves once the agent accepted the registration.
 *
 * @throws ConsulRegistrationError on invalid options or when the agent refuses
 */
export async function registerWithConsul(options: ConsulRegistrationOptions): Promise<ConsulRegistration> {
  const body = consulRegistrationBody(options);
  const client = resolveAgent(options);
  const token = options.token ?? (process.env['CONSUL_HTTP_TOKEN'] || undefined);
  const id = body['ID'] as string;
  const checkId = options.check ? `service:${id}` : undefined;
  const where = `Consul at ${agentToString(client.address)}`;

  const put = async (path: string, payload?: unknown) => {
    try {
      return await client.request({
        method: 'PUT',
        path,
        timeoutMs: REQUEST_TIMEOUT_MS,
        ...(payload !== undefined && { body: payload }),
        ...(token !== undefined && { token }),
      });
    } catch (error) {
      throw new ConsulRegistrationError(error instanceof ConsulHttpError ? error.message : String(error));
    }
  };
  const register = async () => {
    const response = await put('/v1/agent/service/register', body);
    if (response.status !== 200) {
      throw new ConsulRegistrationError(
        `${where}: registering service "${options.service}" (ID "${id}") failed: ${describeConsulError(response.status, response.body, token)}`,
      );
    }
  };
  const passTtl = async () => {
    const response = await put(`/v1/agent/check/pass/${encodeURIComponent(checkId!)}`);
    if (response.status === 404) {
      trace(COMPONENT, `${where}: check ${checkId} unknown (agent restarted?); registering again`);
      await register();
      const again = await put(`/v1/agent/check/pass/${encodeURIComponent(checkId!)}`);
      if (again.status !== 200)
        throw new ConsulRegistrationError(
          `${where}: TTL update: ${describeConsulError(again.status, again.body, token)}`,
        );
    } else if (response.status !== 200) {
      throw new ConsulRegistrationError(
        `${where}: TTL update: ${describeConsulError(response.status, response.body, token)}`,
      );
    }
  };

  try {
    await register();
    if (options.check?.type === 'ttl') await passTtl();
  } catch (error) {
    client.close();
    throw error;
  }
  trace(COMPONENT, `${where}: registered "${options.service}" as ${id}`);

  let stopped = false;
  let heartbeat: NodeJS.Timeout | null = null;
  let heartbeatRunning: Promise<void> | null = null;
  if (options.check?.type === 'ttl') {
    const ttlMs = parseGoDuration(options.check.ttl)!;
    const periodMs = Math.max(100, Math.floor(ttlMs * (options.check.heartbeatFraction ?? 1 / 3)));
    const beat = () => {
      heartbeat = null;
      if (stopped) return;
      heartbeatRunning = passTtl()
        .catch((error: unknown) =>
          logError(COMPONENT, `heartbeat for ${id} failed: ${(error as Error).message}`),
        )
        .finally(() => {
          heartbeatRunning = null;
          if (!stopped) {
            heartbeat = setTimeout(beat, periodMs);
            heartbeat.unref(); // our heartbeat alone must not keep a process alive
          }
        });
    };
    heartbeat = setTimeout(beat, periodMs);
    heartbeat.unref();
  }

  let deregistering: Promise<void> | null = null;
  const withdrawFromSignals = options.deregisterOnSignal
    ? deregisterOnSignal(`Consul service ${id}`, () => handle.deregister())
    : () => {};
  const handle: ConsulRegistration = {
    id,
    checkId,
    deregister(): Promise<void> {
      if (deregistering) return deregistering;
      stopped = true;
      if (heartbeat) clearTimeout(heartbeat);
      heartbeat = null;
      withdrawFromSignals();
      deregistering = (async () => {
        try {
          await heartbeatRunning;
          const response = await put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`);
          if (response.status !== 200 && response.status !== 404) {
            throw new ConsulRegistrationError(
              `${where}: deregistering "${id}" failed: ${describeConsulError(response.status, response.body, token)}`,
            );
          }
          trace(COMPONENT, `${where}: deregistered ${id}`);
        } finally {
          client.close();
        }
      })();
      return deregistering;
    },
  };
  return handle;
}
