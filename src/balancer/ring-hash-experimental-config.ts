import type { RingOptions } from '../rings/types';
import {
  type ConsistentHashSettings,
  HashPolicyConfig,
  type InvalidHashPolicyConfig,
  parseOrInvalid,
  readField,
  readRingSize,
  requireObject,
  validateHeaderName,
  validateRingOptions,
} from './config';

/**
 * gRFC A76's policy name, as grpc-go and grpc-java register it. grpc-js-xds registers `ring_hash`
 * (and only inside xDS), so the two never clash.
 */
export const RING_HASH_EXPERIMENTAL_TYPE_NAME = 'ring_hash_experimental';

/**
 * Parses A76's `ring_hash_experimental` config: `minRingSize`, `maxRingSize`, `requestHashHeader`.
 * Unknown fields are ignored, as every gRPC client does (other clients share these configs); invalid
 * values of known fields are errors.
 * The policy is ring_hash with failover and a random hash for calls without the header; with no
 * `requestHashHeader` at all every call gets a random hash, as in grpc-go outside xDS.
 */
export function parseRingHashExperimentalSettings(
  raw: unknown,
  policy: string = RING_HASH_EXPERIMENTAL_TYPE_NAME,
): ConsistentHashSettings {
  const json = requireObject(policy, raw);
  const ringOptions: { -readonly [K in keyof RingOptions]: RingOptions[K] } = {};
  for (const field of ['minRingSize', 'maxRingSize'] as const) {
    const value = readRingSize(json, policy, field);
    if (value !== undefined) ringOptions[field] = value;
  }
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

  /** Parses a config. @throws ConsistentHashConfigError naming the field and the value. */
  static parse(json: unknown): RingHashExperimentalConfig {
    return new RingHashExperimentalConfig(parseRingHashExperimentalSettings(json));
  }

  /** Called by grpc-js; an invalid config fails the channel's calls instead of becoming pick_first. */
  static createFromJson(json: unknown): RingHashExperimentalConfig | InvalidHashPolicyConfig {
    return parseOrInvalid(RING_HASH_EXPERIMENTAL_TYPE_NAME, json, RingHashExperimentalConfig.parse);
  }
}
