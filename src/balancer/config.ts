import type * as grpc from '@grpc/grpc-js';
import { boundedLoadFactorError } from '../rings/bounded-load';
import { checkAlgorithm, RING_ALGORITHMS, resolveRingOptions } from '../rings/ring-options';
import type { RingAlgorithm, RingOptions } from '../rings/types';
import { logError } from '../trace';

/** The policy name to use in `loadBalancingConfig`. */
export const CONSISTENT_HASH_TYPE_NAME = 'consistent_hash';

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

/** Raw JSON form of the `consistent_hash` config (snake_case spellings are accepted too). */
export interface ConsistentHashJsonConfig {
  algorithm?: RingAlgorithm;
  vnodes?: number;
  minRingSize?: number;
  maxRingSize?: number;
  tableSize?: number;
  hashHeader?: string;
  missingKey?: MissingKeyMode;
  affinity?: AffinityMode;
  connect?: ConnectMode;
  /** Bounded-load balance factor c >= 1 (e.g. 1.25); off when absent. */
  boundedLoad?: number;
  [unknownField: string]: unknown;
}

// gRPC header names: lowercase letters, digits, '_', '-', '.'.
const HEADER_NAME = /^[0-9a-z_.-]+$/;

/** An invalid load-balancing config; the message names the policy, the field and the value. */
export class ConsistentHashConfigError extends Error {
  override readonly name = 'ConsistentHashConfigError';
}

/** Reads a field given in lowerCamelCase or snake_case (proto3 JSON accepts both). */
export function readField(json: Record<string, unknown>, policy: string, camel: string): unknown {
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
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

/** Validates a header name; returns it lowercased. */
export function validateHeaderName(policy: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must be a non-empty string, got ${show(value)}`,
    );
  }
  const header = value.toLowerCase();
  if (!HEADER_NAME.test(header)) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" is not a valid header name (allowed: a-z 0-9 _ - .), got ${show(value)}`,
    );
  }
  if (header.endsWith('-bin')) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must not name a binary (-bin) header, got ${show(value)}`,
    );
  }
  if (header.startsWith('grpc-')) {
    throw new ConsistentHashConfigError(
      `${policy}: field "${field}" must not name a reserved grpc- header, got ${show(value)}`,
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
 * Parses a `consistent_hash` config. Unknown fields are ignored (service-config forward
 * compatibility); known ones are validated strictly.
 * @throws ConsistentHashConfigError naming the field and the value.
 */
export function parseConsistentHashSettings(raw: unknown): ConsistentHashSettings {
  const policy = CONSISTENT_HASH_TYPE_NAME;
  const json = requireObject(policy, raw);
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
    missingKey: readEnum(json, policy, 'missingKey', ['random', 'fail'], 'random'),
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

  /**
   * Called by grpc-js while it selects a policy. grpc-js swallows the error and silently falls
   * back to pick_first, so the error is logged at ERROR (the default verbosity) first.
   */
  static createFromJson(json: unknown): ConsistentHashConfig {
    return new ConsistentHashConfig(parseLogged(parseConsistentHashSettings, json));
  }
}

/** Runs a parser; logs its error at ERROR before rethrowing it. */
export function parseLogged<T>(parse: (json: unknown) => T, json: unknown): T {
  try {
    return parse(json);
  } catch (e) {
    logError('config', `invalid load-balancing config, grpc-js will skip it: ${(e as Error).message}`);
    throw e;
  }
}
