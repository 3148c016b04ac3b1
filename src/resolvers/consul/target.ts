import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { parseGoDuration } from '../shared/go-duration';
import { ConsulToken } from './token';

/**
 * Channel option: the Consul ACL token (else `CONSUL_HTTP_TOKEN`). Sent only as `X-Consul-Token`.
 * Pass `createConsulToken(token)`: grpc-js traces channel options, and a plain string would show there.
 */
export const CONSUL_TOKEN_OPTION = 'grpc-consistent-hash.consul.token';
/** Channel option: PEM CA certificate(s) (string or Buffer) for an https agent (else the file `CONSUL_CACERT`). */
export const CONSUL_CA_OPTION = 'grpc-consistent-hash.consul.ca';
/** Channel option: steady-state health queries per second (default 1; burst 2). */
export const CONSUL_QUERIES_PER_SECOND_OPTION = 'grpc-consistent-hash.consul.queries_per_second';
/** Channel option: first retry delay after an error in ms (default 1000). */
export const CONSUL_INITIAL_BACKOFF_OPTION = 'grpc-consistent-hash.consul.initial_backoff_ms';
/** Channel option: retry delay cap after errors in ms (default 30000). */
export const CONSUL_MAX_BACKOFF_OPTION = 'grpc-consistent-hash.consul.max_backoff_ms';

/** Consul's longest blocking wait. */
export const MAX_WAIT_MS = 10 * 60_000;
/** Consul's default blocking wait, which we also use. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
const DEFAULT_AGENT = '127.0.0.1:8500';

/** Where and how to reach the Consul HTTP API. */
export interface ConsulAgentAddress {
  scheme: 'http' | 'https';
  /** Host without brackets (an IPv6 host is raw). */
  host: string;
  port: number;
}

/** A parsed `consul:` target. */
export interface ConsulTarget {
  agent: ConsulAgentAddress;
  service: string;
  tags: string[];
  dc?: string;
  passing: boolean;
  near?: string;
  filter?: string;
  waitMs: number;
  /** The `wait` value as sent to Consul (e.g. `"5m"`). */
  wait: string;
  stale: boolean;
  consistent: boolean;
  /** Keep at most this many endpoints (after Consul's order when `near` is set, else ours). */
  limit?: number;
}

/** A `consul:` target or Consul setting that is malformed; the message names the field and value. */
export class ConsulTargetError extends Error {
  override readonly name = 'ConsulTargetError';
}

const KNOWN_PARAMS = new Set([
  'tag',
  'dc',
  'passing',
  'near',
  'filter',
  'wait',
  'stale',
  'consistent',
  'limit',
  'scheme',
]);

/** Go's strconv.ParseBool, which Consul's tools use for flags like CONSUL_HTTP_SSL. */
export function parseGoBool(value: string): boolean | null {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return null;
}

/** `host[:port]` (IPv6 in brackets) → host and port; `what` names the source in errors. */
export function parseHostPort(
  text: string,
  defaultPort: number,
  what: string,
): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new ConsulTargetError(`${what} "${text}": unterminated "[" in IPv6 address`);
    host = text.slice(1, end);
    const after = text.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':'))
        throw new ConsulTargetError(`${what} "${text}": expected ":port" after "]"`);
      portText = after.slice(1);
    }
    if (!host.includes(':'))
      throw new ConsulTargetError(`${what} "${text}": brackets are only for IPv6 addresses`);
  } else {
    const parts = text.split(':');
    if (parts.length > 2) {
      throw new ConsulTargetError(`${what} "${text}": an IPv6 address must be in brackets, as [::1]:8500`);
    }
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host === '' || /[\s/?#@]/.test(host)) throw new ConsulTargetError(`${what} "${text}": invalid host`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new ConsulTargetError(
        `${what} "${text}": port must be an integer in 1..65535, got "${portText}"`,
      );
    }
    port = Number(portText);
  }
  return { host, port };
}

/**
 * Parses an agent address as `CONSUL_HTTP_ADDR` spells it: `host:port`, `http://host:port`
 * or `https://host:port`. Returns the address and the scheme if one was written.
 */
export function parseAgentAddress(
  text: string,
  what: string,
): { host: string; port: number; scheme: 'http' | 'https' | undefined } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  let scheme: 'http' | 'https' | undefined;
  let rest = text;
  if (match) {
    const written = match[1]!.toLowerCase();
    if (written !== 'http' && written !== 'https') {
      throw new ConsulTargetError(
        `${what} "${text}": scheme "${written}" is not supported (use http or https)`,
      );
    }
    scheme = written;
    rest = match[2]!.replace(/\/$/, '');
  }
  const defaultPort = scheme === 'https' ? 8501 : 8500;
  return { ...parseHostPort(rest, defaultPort, what), scheme };
}

/**
 * The agent to talk to, chosen as Consul's own tools choose it: `written` (a target's authority or
 * registration's `agent` option), else `CONSUL_HTTP_ADDR` (an empty value counts as unset), else
 * 127.0.0.1:8500; https when `scheme` says so, else when the address was written with `https://`, else
 * when `CONSUL_HTTP_SSL` is true. Shared by the resolver and `registerWithConsul`, so both find the
 * same agent from the same environment.
 * @param how `what` names `written` in errors; `schemeAllowed` lets it start with `http(s)://`
 *   (`CONSUL_HTTP_ADDR` always may)
 * @throws ConsulTargetError naming the source and value
 */
export function resolveConsulAgent(
  written: string | undefined,
  how: { what: string; schemeAllowed: boolean; scheme?: 'http' | 'https' | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ConsulAgentAddress {
  const parsed =
    written !== undefined
      ? how.schemeAllowed
        ? parseAgentAddress(written, how.what)
        : { ...parseHostPort(written, 8500, how.what), scheme: undefined }
      : env['CONSUL_HTTP_ADDR']
        ? parseAgentAddress(env['CONSUL_HTTP_ADDR'], 'CONSUL_HTTP_ADDR')
        : parseAgentAddress(DEFAULT_AGENT, 'default agent');
  const scheme = how.scheme ?? parsed.scheme ?? schemeFromConsulHttpSsl(env) ?? 'http';
  return { scheme, host: parsed.host, port: parsed.port };
}

/** The scheme `CONSUL_HTTP_SSL` asks for; undefined when it is unset or empty. */
function schemeFromConsulHttpSsl(env: NodeJS.ProcessEnv): 'http' | 'https' | undefined {
  const value = env['CONSUL_HTTP_SSL'];
  if (!value) return undefined;
  const ssl = parseGoBool(value);
  if (ssl === null) throw new ConsulTargetError(`CONSUL_HTTP_SSL must be true or false, got "${value}"`);
  return ssl ? 'https' : 'http';
}

/** The contents of the CA file named by `CONSUL_CACERT`; undefined when it is unset or empty. */
export function readConsulCaFile(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const file = env['CONSUL_CACERT'];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConsulTargetError(`CONSUL_CACERT "${file}": cannot read: ${(error as Error).message}`);
  }
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1)
    throw new ConsulTargetError(`consul target: parameter "${name}" given ${values.length} times`);
  return values[0];
}

function boolParam(params: URLSearchParams, name: string, defaultValue: boolean): boolean {
  const value = single(params, name);
  if (value === undefined) return defaultValue;
  if (value === '') return true; // a bare `?stale` is a flag, as in Consul's own API
  const parsed = value === 'true' ? true : value === 'false' ? false : null;
  if (parsed === null) {
    throw new ConsulTargetError(`consul target: parameter "${name}" must be true or false, got "${value}"`);
  }
  return parsed;
}

/**
 * Parses and validates a `consul:` target, e.g.
 * `consul://127.0.0.1:8500/my-service?tag=a&tag=b&dc=dc1&passing=true&wait=5m`.
 * The agent comes from the authority, else `CONSUL_HTTP_ADDR`, else 127.0.0.1:8500; https from
 * `scheme=https`, else the scheme in `CONSUL_HTTP_ADDR`, else `CONSUL_HTTP_SSL`.
 *
 * @param target a target string or the `GrpcUri` grpc-js gives a resolver
 * @param env environment to read `CONSUL_HTTP_ADDR`/`CONSUL_HTTP_SSL` from (default `process.env`)
 * @throws ConsulTargetError naming the parameter and value
 */
export function parseConsulTarget(
  target: string | grpc.experimental.GrpcUri,
  env: NodeJS.ProcessEnv = process.env,
): ConsulTarget {
  let authority: string | undefined;
  let pathAndQuery: string;
  if (typeof target === 'string') {
    const match = /^consul:(?:\/\/([^/]*)\/)?(.*)$/.exec(target);
    if (!match) throw new ConsulTargetError(`consul target "${target}": must start with "consul:"`);
    authority = match[1];
    pathAndQuery = match[2] ?? '';
  } else {
    if (target.scheme !== 'consul') {
      throw new ConsulTargetError(`consul target: scheme must be "consul", got "${target.scheme ?? ''}"`);
    }
    authority = target.authority;
    pathAndQuery = target.path;
  }
  const queryStart = pathAndQuery.indexOf('?');
  const rawService = queryStart < 0 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  const query = queryStart < 0 ? '' : pathAndQuery.slice(queryStart + 1);
  let service: string;
  try {
    service = decodeURIComponent(rawService);
  } catch {
    throw new ConsulTargetError(`consul target: service name "${rawService}" is not valid percent-encoding`);
  }
  if (service === '') throw new ConsulTargetError('consul target: the service name (the path) is empty');
  if (/[/\s?#]/.test(service)) {
    throw new ConsulTargetError(
      `consul target: service name "${service}" must not contain "/", "?", "#" or spaces`,
    );
  }

  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.has(name)) {
      throw new ConsulTargetError(
        `consul target: unknown parameter "${name}" (known: ${[...KNOWN_PARAMS].join(', ')})`,
      );
    }
  }

  const tags = params.getAll('tag');
  for (const tag of tags)
    if (tag === '') throw new ConsulTargetError('consul target: parameter "tag" is empty');

  const dc = single(params, 'dc');
  if (dc !== undefined && !/^[A-Za-z0-9_.-]+$/.test(dc)) {
    throw new ConsulTargetError(`consul target: parameter "dc" must be a datacenter name, got "${dc}"`);
  }
  const near = single(params, 'near');
  if (near === '') throw new ConsulTargetError('consul target: parameter "near" is empty');
  const filter = single(params, 'filter');
  if (filter === '') throw new ConsulTargetError('consul target: parameter "filter" is empty');

  const passing = boolParam(params, 'passing', true);
  const stale = boolParam(params, 'stale', false);
  const consistent = boolParam(params, 'consistent', false);
  if (stale && consistent) {
    throw new ConsulTargetError('consul target: parameters "stale" and "consistent" exclude each other');
  }

  const waitText = single(params, 'wait');
  let waitMs = DEFAULT_WAIT_MS;
  let wait = '5m';
  if (waitText !== undefined) {
    const parsed = parseGoDuration(waitText);
    if (parsed === null || parsed < 1000 || parsed > MAX_WAIT_MS) {
      throw new ConsulTargetError(
        `consul target: parameter "wait" must be a duration from 1s to 10m such as "30s" or "5m", got "${waitText}"`,
      );
    }
    waitMs = parsed;
    wait = waitText;
  }

  const limitText = single(params, 'limit');
  let limit: number | undefined;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || !Number.isSafeInteger(Number(limitText))) {
      throw new ConsulTargetError(
        `consul target: parameter "limit" must be an integer >= 1, got "${limitText}"`,
      );
    }
    limit = Number(limitText);
  }

  const schemeParam = single(params, 'scheme');
  if (schemeParam !== undefined && schemeParam !== 'http' && schemeParam !== 'https') {
    throw new ConsulTargetError(
      `consul target: parameter "scheme" must be http or https, got "${schemeParam}"`,
    );
  }

  if (authority?.includes('@')) {
    throw new ConsulTargetError(
      'consul target: credentials in the authority are not supported (use a token option)',
    );
  }
  const agent = resolveConsulAgent(
    authority || undefined,
    { what: 'consul target authority', schemeAllowed: false, scheme: schemeParam },
    env,
  );

  return {
    agent,
    service,
    tags,
    ...(dc !== undefined && { dc }),
    passing,
    ...(near !== undefined && { near }),
    ...(filter !== undefined && { filter }),
    waitMs,
    wait,
    stale,
    consistent,
    ...(limit !== undefined && { limit }),
  };
}

/**
 * A target as text for messages and traces, with secrets removed: the value of any `token`
 * parameter and any `user:password@` in the authority (both are rejected by the parser, but the
 * text still names the target in the error).
 */
export function redactConsulTargetText(text: string): string {
  return text
    .replace(/^(consul:\/\/)[^/]*@/i, '$1<redacted>@')
    .replace(/([?&][^=&]*token[^=&]*=)[^&]*/gi, '$1<redacted>');
}

/** `scheme://host:port` of an agent, for messages (never contains a token). */
export function agentToString(agent: ConsulAgentAddress): string {
  const host = agent.host.includes(':') ? `[${agent.host}]` : agent.host;
  return `${agent.scheme}://${host}:${agent.port}`;
}

/** The token to send: the channel option, else `CONSUL_HTTP_TOKEN`; undefined when neither. */
export function resolveConsulToken(
  options: grpc.ChannelOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const option = options[CONSUL_TOKEN_OPTION];
  if (option !== undefined) {
    // Only a ConsulToken: grpc-js prints channel options as JSON in its channel and subchannel
    // traces, so a plain string here would end up in the logs.
    if (!(option instanceof ConsulToken)) {
      throw new ConsulTargetError(
        `channel option "${CONSUL_TOKEN_OPTION}" must be createConsulToken(token) (a plain ${typeof option} would appear in grpc-js's traces)`,
      );
    }
    const token = option.reveal();
    return token === '' ? undefined : token;
  }
  return env['CONSUL_HTTP_TOKEN'] || undefined;
}

/** CA certificates for https: the channel option, else the file named by `CONSUL_CACERT`. */
export function resolveConsulCa(
  options: grpc.ChannelOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | Buffer | undefined {
  const fromOption = options[CONSUL_CA_OPTION];
  if (fromOption !== undefined) {
    if (typeof fromOption !== 'string' && !Buffer.isBuffer(fromOption)) {
      throw new ConsulTargetError(`channel option "${CONSUL_CA_OPTION}" must be a PEM string or a Buffer`);
    }
    return fromOption;
  }
  return readConsulCaFile(env);
}

/** A positive number channel option, or its default. */
export function positiveNumberOption(
  options: grpc.ChannelOptions,
  key: string,
  defaultValue: number,
): number {
  const value = options[key];
  if (value === undefined) return defaultValue;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ConsulTargetError(`channel option "${key}" must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}
