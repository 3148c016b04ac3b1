import type { RingOptions } from '../rings/types';
import {
  ConsistentHashConfigError,
  type ConsistentHashSettings,
  HashPolicyConfig,
  parseLogged,
  readField,
  show,
  validateHeaderName,
  validateRingOptions,
} from './config';

/**
 * gRFC A76's policy name, as grpc-go and grpc-java register it. grpc-js-xds registers `ring_hash`
 * (and only inside xDS), so the two never clash.
 */
export const RING_HASH_EXPERIMENTAL_TYPE_NAME = 'ring_hash_experimental';

function readRingSize(json: Record<string, unknown>, field: string): number | undefined {
  const value = readField(json, RING_HASH_EXPERIMENTAL_TYPE_NAME, field);
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new ConsistentHashConfigError(
      `${RING_HASH_EXPERIMENTAL_TYPE_NAME}: field "${field}" must be a positive integer, got ${show(value)}`,
    );
  }
  return n;
}

/**
 * Parses A76's `ring_hash_experimental` config: `minRingSize`, `maxRingSize`, `requestHashHeader`.
 * The policy is ring_hash with failover and a random hash for calls without the header; with no
 * `requestHashHeader` at all every call gets a random hash, as in grpc-go outside xDS.
 */
export function parseRingHashExperimentalSettings(raw: unknown): ConsistentHashSettings {
  const policy = RING_HASH_EXPERIMENTAL_TYPE_NAME;
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConsistentHashConfigError(`${policy}: the config must be a JSON object, got ${show(raw)}`);
  }
  const json = (raw ?? {}) as Record<string, unknown>;
  const ringOptions: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  const min = readRingSize(json, 'minRingSize');
  const max = readRingSize(json, 'maxRingSize');
  if (min !== undefined) ringOptions.minRingSize = min;
  if (max !== undefined) ringOptions.maxRingSize = max;
  validateRingOptions(policy, 'ring_hash', ringOptions);
  const header = readField(json, policy, 'requestHashHeader');
  return {
    algorithm: 'ring_hash',
    ringOptions,
    hashHeader:
      header === undefined || header === '' ? null : validateHeaderName(policy, 'requestHashHeader', header),
    missingKey: 'random',
    affinity: 'failover',
    connect: 'lazy',
    boundedLoad: null,
  };
}

/** The parsed `ring_hash_experimental` config. */
export class RingHashExperimentalConfig extends HashPolicyConfig {
  getLoadBalancerName(): string {
    return RING_HASH_EXPERIMENTAL_TYPE_NAME;
  }

  toJsonObject(): object {
    const s = this.settings;
    return {
      [RING_HASH_EXPERIMENTAL_TYPE_NAME]: {
        ...s.ringOptions,
        ...(s.hashHeader === null ? {} : { requestHashHeader: s.hashHeader }),
      },
    };
  }

  /** Called by grpc-js; logs the error at ERROR before throwing (grpc-js would swallow it). */
  static createFromJson(json: unknown): RingHashExperimentalConfig {
    return new RingHashExperimentalConfig(parseLogged(parseRingHashExperimentalSettings, json));
  }
}
