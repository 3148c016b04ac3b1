import * as grpc from '@grpc/grpc-js';
import { type ConsulAgentAddress, resolveConsulAgent } from '../../consul/agent';
import { parseGoDuration } from '../../go-duration';
import { ResolverError } from '../shared/resolver-error';

/** Consul's longest blocking wait. */
export const MAX_WAIT_MS = 10 * 60_000;
/** Consul's default blocking wait, which we also use. */
export const DEFAULT_WAIT_MS = 5 * 60_000;

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
  /** Each endpoint's ring identity; see {@link ConsulHashKey}. */
  hashKey: ConsulHashKey;
}

/**
 * What identifies an instance on the ring (`hashkey=` in the target):
 * - `address` (default): `host:port`, as every gRPC ring_hash client does; an instance whose IP
 *   changes moves its keys;
 * - `id`: the Consul service ID (qualified by the node name when two nodes register the same ID),
 *   so an instance that comes back with a new IP keeps its keys;
 * - `meta`: the value of `Service.Meta[key]` (an instance without it falls back to its address).
 */
export type ConsulHashKey = { kind: 'address' } | { kind: 'id' } | { kind: 'meta'; key: string };

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
  'hashkey',
]);

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new Error(`parameter "${name}" given ${values.length} times`);
  return values[0];
}

function boolParam(params: URLSearchParams, name: string, defaultValue: boolean): boolean {
  const value = single(params, name);
  if (value === undefined) return defaultValue;
  if (value === '') return true; // a bare `?stale` is a flag, as in Consul's own API
  const parsed = value === 'true' ? true : value === 'false' ? false : null;
  if (parsed === null) {
    throw new Error(`parameter "${name}" must be true or false, got "${value}"`);
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
 * @throws ResolverError (code `INVALID_TARGET`) naming the parameter and value
 */
export function parseConsulTarget(
  target: string | grpc.experimental.GrpcUri,
  env: NodeJS.ProcessEnv = process.env,
): ConsulTarget {
  try {
    return parseTarget(target, env);
  } catch (error) {
    const text = redactConsulTargetText(
      typeof target === 'string' ? target : grpc.experimental.uriToString(target),
    );
    throw new ResolverError('INVALID_TARGET', text, (error as Error).message);
  }
}

function parseHashKey(text: string | undefined): ConsulHashKey {
  if (text === undefined || text === 'address') return { kind: 'address' };
  if (text === 'id') return { kind: 'id' };
  if (text.startsWith('meta:') && text.length > 'meta:'.length) return { kind: 'meta', key: text.slice(5) };
  throw new Error(`parameter "hashkey" must be address, id or meta:<key>, got "${text}"`);
}

function parseTarget(target: string | grpc.experimental.GrpcUri, env: NodeJS.ProcessEnv): ConsulTarget {
  let authority: string | undefined;
  let pathAndQuery: string;
  if (typeof target === 'string') {
    const match = /^consul:(?:\/\/([^/]*)\/)?(.*)$/.exec(target);
    if (!match) throw new Error(`must start with "consul:"`);
    authority = match[1];
    pathAndQuery = match[2] ?? '';
  } else {
    if (target.scheme !== 'consul') {
      throw new Error(`scheme must be "consul", got "${target.scheme ?? ''}"`);
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
    throw new Error(`service name "${rawService}" is not valid percent-encoding`);
  }
  if (service === '') throw new Error('the service name (the path) is empty');
  if (/[/\s?#]/.test(service)) {
    throw new Error(`service name "${service}" must not contain "/", "?", "#" or spaces`);
  }

  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.has(name)) {
      throw new Error(`unknown parameter "${name}" (known: ${[...KNOWN_PARAMS].join(', ')})`);
    }
  }

  const tags = params.getAll('tag');
  for (const tag of tags) if (tag === '') throw new Error('parameter "tag" is empty');

  const dc = single(params, 'dc');
  if (dc !== undefined && !/^[A-Za-z0-9_.-]+$/.test(dc)) {
    throw new Error(`parameter "dc" must be a datacenter name, got "${dc}"`);
  }
  const near = single(params, 'near');
  if (near === '') throw new Error('parameter "near" is empty');
  const filter = single(params, 'filter');
  if (filter === '') throw new Error('parameter "filter" is empty');

  const passing = boolParam(params, 'passing', true);
  const stale = boolParam(params, 'stale', false);
  const consistent = boolParam(params, 'consistent', false);
  if (stale && consistent) {
    throw new Error('parameters "stale" and "consistent" exclude each other');
  }

  const waitText = single(params, 'wait');
  let waitMs = DEFAULT_WAIT_MS;
  let wait = '5m';
  if (waitText !== undefined) {
    const parsed = parseGoDuration(waitText);
    if (parsed === null || parsed < 1000 || parsed > MAX_WAIT_MS) {
      throw new Error(
        `parameter "wait" must be a duration from 1s to 10m such as "30s" or "5m", got "${waitText}"`,
      );
    }
    waitMs = parsed;
    wait = waitText;
  }

  const limitText = single(params, 'limit');
  let limit: number | undefined;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || !Number.isSafeInteger(Number(limitText))) {
      throw new Error(`parameter "limit" must be an integer >= 1, got "${limitText}"`);
    }
    limit = Number(limitText);
  }

  const schemeParam = single(params, 'scheme');
  if (schemeParam !== undefined && schemeParam !== 'http' && schemeParam !== 'https') {
    throw new Error(`parameter "scheme" must be http or https, got "${schemeParam}"`);
  }

  if (authority?.includes('@')) {
    throw new Error('credentials in the authority are not supported (use a token option)');
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
    hashKey: parseHashKey(single(params, 'hashkey')),
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
