import type * as grpc from '@grpc/grpc-js';
import { boundedLoadFactorError } from '../rings/bounded-load';
import { checkAlgorithm, RING_ALGORITHMS, resolveRingOptions } from '../rings/ring-options';
import type { RingAlgorithm, RingOptions } from '../rings/types';
import { closestName } from './closest-name';

/** The policy name to use in `loadBalancingConfig`. */
export const CONSISTENT_HASH_TYPE_NAME = 'consistent_hash';

/**
 * The channel option that caps ring_hash's sizes (default 4096), as grpc-js-xds reads it; grpc-go
 * reads the environment variable `GRPC_RING_HASH_CAP`, grpc-java `RingHashOptions.setRingSizeCap`.
 */
export const RING_SIZE_CAP_OPTION = 'grpc.lb.ring_hash.ring_size_cap';

/** The request header that carries the hash key when `hashHeader` is not set. */
export const DEFAULT_HASH_HEADER = 'x-hash-key';

/** What to do with a call that has no hash key header. */
export type MissingKeyMode = 'random' | 'fail';
/** Which endpoints may serve a key. */
export type AffinityMode = 'failover' | 'strict';
/** When to connect to the endpoints. */
export type ConnectMode = 'lazy' | 'eager';

/** The parsed, validated settings shared by `consistent_hash` and `ring_hash_experimental`. */
export interface ConsistentHashSettings {
  readonly algorithm: RingAlgorithm;
  /** Ring-size options as given (only the ones set); defaults come from the ring builder. */
  readonly ringOptions: RingOptions;
  /** Lowercased header name; `null` means no header: every call gets a random hash (A76 without a header). */
  readonly hashHeader: string | null;
  readonly missingKey: MissingKeyMode;
  readonly affinity: AffinityMode;
  readonly connect: ConnectMode;
  /**
   * Bounded-load balance factor c (a finite number >= 1), or `null` when bounded load is off: a key
   * goes to the first READY endpoint along its walk whose in-flight calls are below
   * ⌈c × (total in-flight + 1) × w / W⌉, W summing the READY endpoints' weights.
   */
  readonly boundedLoad: number | null;
}

/**
 * The `consistent_hash` config as written in a service config's `loadBalancingConfig` entry. Exact:
 * a misspelt field is a compile error here and a config error at run time. (The snake_case spellings
 * proto3 JSON allows, e.g. `hash_header`, are accepted at run time too.)
 */
export interface ConsistentHashJsonConfig {
  /** Ring algorithm. Default `"ketama"`. */
  algorithm?: RingAlgorithm;
  /** ketama points per unit of weight. */
  vnodes?: number;
  /** ring_hash minimum ring size. */
  minRingSize?: number;
  /** ring_hash maximum ring size. */
  maxRingSize?: number;
  /** maglev lookup table size (a prime). */
  tableSize?: number;
  /** The request header that carries the key. Default {@link DEFAULT_HASH_HEADER}. */
  hashHeader?: string;
  /** A call without the key header: `"fail"` (default) or `"random"`. */
  missingKey?: MissingKeyMode;
  /** Default `"failover"`. */
  affinity?: AffinityMode;
  /** Default `"lazy"`. */
  connect?: ConnectMode;
  /** Bounded-load balance factor c >= 1 (e.g. 1.25); off when absent. */
  boundedLoad?: number;
}

/** A `loadBalancingConfig` entry selecting `consistent_hash`. */
export interface ConsistentHashLoadBalancingConfig {
  consistent_hash: ConsistentHashJsonConfig;
}

/** The fields of {@link ConsistentHashJsonConfig}, in lowerCamelCase. */
export const CONSISTENT_HASH_FIELDS = [
  'algorithm',
  'vnodes',
  'minRingSize',
  'maxRingSize',
  'tableSize',
  'hashHeader',
  'missingKey',
  'affinity',
  'connect',
  'boundedLoad',
] as const satisfies readonly (keyof ConsistentHashJsonConfig)[];

// gRPC header names: lowercase letters, digits, '_', '-', '.'.
const HEADER_NAME = /^[0-9a-z_.-]+$/;

/** An invalid load-balancing config; the message names the policy, the field and the value. */
export class ConsistentHashConfigError extends Error {
  override readonly name = 'ConsistentHashConfigError';
}

/** The snake_case spelling of a lowerCamelCase field name. */
export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Reads a field given in lowerCamelCase or snake_case (proto3 JSON accepts both). */
export function readField(json: Record<string, unknown>, policy: string, camel: string): unknown {
  const snake = snakeCase(camel);
  const hasCamel = json[camel] !== undefined;
  const hasSnake = snake !== camel && json[snake] !== undefined;
  if (hasCamel && hasSnake && json[camel] !== json[snake]) {
    throw new ConsistentHashConfigError(
      `${policy}: fields "${camel}" and "${snake}" are both set, to different values (${show(json[camel])} and ${show(json[snake])})`,
    );
  }
  return hasCamel ? json[camel] : json[snake];
}

/** A value for an error message: JSON, cut short. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function readEnum<T extends string>(
  json: Record<string, unknown>,
  policy: string,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = readField(json, policy, field);
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(value)}`,
    );
  }
  return value as T;
}

/** Reads an optional positive integer field (a number, or a string of digits as proto3 JSON allows). */
export function readPositiveInteger(
  json: Record<string, unknown>,
  policy: string,
  field: string,
): number | undefined {
  const value = readField(json, policy, field);
  if (value === undefined) return undefined;
  // proto3 JSON may carry integers as strings.
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must be a positive integer, got ${show(value)}`,
    );
  }
  return n;
}

/**
 * Reads an optional ring size (`minRingSize`, `maxRingSize`): a positive integer, or 0, which
 * means the default, as grpc-go's ring_hash config reads it.
 */
export function readRingSize(
  json: Record<string, unknown>,
  policy: string,
  field: 'minRingSize' | 'maxRingSize',
): number | undefined {
  const value = readField(json, policy, field);
  if (value === 0 || value === '0') return undefined;
  return readPositiveInteger(json, policy, field);
}

/** Reads the optional bounded-load factor. */
function readBoundedLoad(json: Record<string, unknown>, policy: string): number | null {
  const value = readField(json, policy, 'boundedLoad');
  if (value === undefined || value === null) return null;
  const error = boundedLoadFactorError(value);
  if (error !== null) {
    throw new ConsistentHashConfigError(`${policy}: field "boundedLoad" ${error}`);
  }
  return value as number;
}

/** Headers grpc-js writes on the HTTP/2 stream itself, below the load balancer: a picker never sees them. */
const TRANSPORT_HEADERS = new Set(['user-agent', 'content-type', 'te']);
/** HTTP/2 forbids connection-specific headers; Node refuses a call that carries one. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Why `header` (lowercased) cannot carry a hash key, or null if it can. */
function unusableHeaderReason(header: string): string | null {
  if (header.startsWith(':')) return 'is an HTTP/2 pseudo-header, which gRPC sets itself';
  if (!HEADER_NAME.test(header)) return 'is not a valid header name (allowed: a-z 0-9 _ - .)';
  if (header.endsWith('-bin')) return 'is a binary (-bin) header, whose values are bytes, not keys';
  if (header.startsWith('grpc-')) return 'is reserved by gRPC (grpc-*)';
  if (TRANSPORT_HEADERS.has(header)) {
    return 'is set by grpc-js on the connection, after the load balancer has picked: the picker never sees it';
  }
  if (CONNECTION_HEADERS.has(header)) return 'is a connection-specific header, which HTTP/2 forbids';
  return null;
}

/**
 * Validates a header name that is to carry the hash key; returns it lowercased. Refuses names no call
 * can deliver to the picker (reserved, transport, pseudo, binary and invalid headers).
 */
export function validateHeaderName(policy: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must be a non-empty string, got ${show(value)}`,
    );
  }
  const header = value.toLowerCase();
  const reason = unusableHeaderReason(header);
  if (reason !== null) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" cannot carry the hash key: ${show(value)} ${reason}; use a header of your own such as "${DEFAULT_HASH_HEADER}"`,
    );
  }
  return header;
}

/** Validates ring options the way the ring builder does, so the messages agree. */
export function validateRingOptions(policy: string, algorithm: RingAlgorithm, options: RingOptions): void {
  try {
    // What createRingBuilder checks, without loading the rings themselves.
    resolveRingOptions(options);
    checkAlgorithm(algorithm);
  } catch (e) {
    throw new ConsistentHashConfigError(`${policy}: ${(e as Error).message}`);
  }
}

/** The config object; absent (`undefined` or `null`) means `{}`. */
export function requireObject(policy: string, json: unknown): Record<string, unknown> {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new ConsistentHashConfigError(`${policy}: the config must be a JSON object, got ${show(json)}`);
  }
  return json as Record<string, unknown>;
}

/**
 * Refuses fields outside `known` (in either spelling), suggesting the closest known field.
 * @throws ConsistentHashConfigError listing every unknown field.
 */
export function rejectUnknownFields(
  policy: string,
  json: Record<string, unknown>,
  known: readonly string[],
): void {
  const accepted = new Set(known.flatMap((field) => [field, snakeCase(field)]));
  const unknown = Object.keys(json).filter((field) => !accepted.has(field));
  if (unknown.length === 0) return;
  const described = unknown.map((field) => {
    const suggestion = closestName(field, known);
    return `unknown field ${show(field)}${suggestion === null ? '' : ` (did you mean "${suggestion}"?)`}`;
  });
  throw new ConsistentHashConfigError(
    `${policy}: ${described.join('; ')}; valid fields: ${known.join(', ')}`,
  );
}

/**
 * Parses a `consistent_hash` config. Every field is checked: an unknown one is an error naming the
 * closest valid field (a typo would otherwise silently leave every call keyless).
 * `policy` labels the messages (validateConfig passes the config's path).
 * @throws ConsistentHashConfigError naming the field and the value.
 */
export function parseConsistentHashSettings(
  raw: unknown,
  policy: string = CONSISTENT_HASH_TYPE_NAME,
): ConsistentHashSettings {
  const json = requireObject(policy, raw);
  rejectUnknownFields(policy, json, CONSISTENT_HASH_FIELDS);
  const algorithm = readEnum(json, policy, 'algorithm', RING_ALGORITHMS, 'ketama');
  const ringOptions: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  for (const field of ['vnodes', 'tableSize'] as const) {
    const value = readPositiveInteger(json, policy, field);
    if (value !== undefined) ringOptions[field] = value;
  }
  for (const field of ['minRingSize', 'maxRingSize'] as const) {
    const value = readRingSize(json, policy, field);
    if (value !== undefined) ringOptions[field] = value;
  }
  validateRingOptions(policy, algorithm, ringOptions);
  const header = readField(json, policy, 'hashHeader');
  return {
    algorithm,
    ringOptions,
    hashHeader: validateHeaderName(policy, 'hashHeader', header ?? DEFAULT_HASH_HEADER),
    missingKey: readEnum(json, policy, 'missingKey', ['fail', 'random'], 'fail'),
    affinity: readEnum(json, policy, 'affinity', ['failover', 'strict'], 'failover'),
    connect: readEnum(json, policy, 'connect', ['lazy', 'eager'], 'lazy'),
    boundedLoad: readBoundedLoad(json, policy),
  };
}

/** Base of both config classes: the load balancer accepts either. */
export abstract class HashPolicyConfig implements grpc.experimental.TypedLoadBalancingConfig {
  constructor(readonly settings: ConsistentHashSettings) {}
  abstract getLoadBalancerName(): string;
  abstract toJsonObject(): object;
}

/**
 * A config that failed to parse. grpc-js would skip a config whose `createFromJson` throws and
 * silently fall back to pick_first; this stand-in selects our policy instead, which then fails the
 * channel's calls with the error (see config-guard.ts).
 */
export class InvalidHashPolicyConfig implements grpc.experimental.TypedLoadBalancingConfig {
  constructor(
    private readonly policy: string,
    readonly error: ConsistentHashConfigError,
    private readonly raw: unknown,
  ) {}

  getLoadBalancerName(): string {
    return this.policy;
  }

  toJsonObject(): object {
    return { [this.policy]: this.raw };
  }
}

/** Parses with `parse`, turning a config error into an {@link InvalidHashPolicyConfig}. */
export function parseOrInvalid<T extends HashPolicyConfig>(
  policy: string,
  json: unknown,
  parse: (json: unknown) => T,
): T | InvalidHashPolicyConfig {
  try {
    return parse(json);
  } catch (e) {
    if (!(e instanceof ConsistentHashConfigError)) throw e;
    return new InvalidHashPolicyConfig(policy, e, json);
  }
}

/** The parsed `consistent_hash` config, as grpc-js's `TypedLoadBalancingConfig`. */
export class ConsistentHashConfig extends HashPolicyConfig {
  getLoadBalancerName(): string {
    return CONSISTENT_HASH_TYPE_NAME;
  }

  toJsonObject(): object {
    const s = this.settings;
    return {
      [CONSISTENT_HASH_TYPE_NAME]: {
        algorithm: s.algorithm,
        ...s.ringOptions,
        hashHeader: s.hashHeader,
        missingKey: s.missingKey,
        affinity: s.affinity,
        connect: s.connect,
        ...(s.boundedLoad === null ? {} : { boundedLoad: s.boundedLoad }),
      },
    };
  }

  /** Parses a config. @throws ConsistentHashConfigError naming the field and the value. */
  static parse(json: unknown): ConsistentHashConfig {
    return new ConsistentHashConfig(parseConsistentHashSettings(json));
  }

  /**
   * Called by grpc-js while it selects a policy. Never throws a config error: grpc-js would swallow
   * it and fall back to pick_first; an invalid config instead fails the channel's calls with it.
   */
  static createFromJson(json: unknown): ConsistentHashConfig | InvalidHashPolicyConfig {
    return parseOrInvalid(CONSISTENT_HASH_TYPE_NAME, json, ConsistentHashConfig.parse);
  }
}
