import * as grpc from '@grpc/grpc-js';
import { closestName } from './closest-name';
import {
  CONSISTENT_HASH_FIELDS,
  CONSISTENT_HASH_TYPE_NAME,
  ConsistentHashConfigError,
  type ConsistentHashSettings,
  parseConsistentHashSettings,
  show,
  snakeCase,
} from './config';
import {
  parseRingHashExperimentalSettings,
  RING_HASH_EXPERIMENTAL_TYPE_NAME,
} from './ring-hash-experimental-config';

/** Our policies and their parsers. */
const OUR_POLICIES: Record<string, (json: unknown, label: string) => ConsistentHashSettings> = {
  [CONSISTENT_HASH_TYPE_NAME]: parseConsistentHashSettings,
  [RING_HASH_EXPERIMENTAL_TYPE_NAME]: parseRingHashExperimentalSettings,
};
/** grpc-js's own policies, known even when nothing else is registered yet. */
const GRPC_JS_POLICIES = ['pick_first', 'round_robin', 'weighted_round_robin', 'outlier_detection'];
/** The fields of a gRPC service config (grpc/service_config.proto, as grpc-js reads it). */
const SERVICE_CONFIG_FIELDS = [
  'loadBalancingConfig',
  'loadBalancingPolicy',
  'methodConfig',
  'retryThrottling',
  'healthCheckConfig',
];

function fail(path: string, message: string): never {
  throw new ConsistentHashConfigError(`${path}: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function knownPolicyNames(): string[] {
  return [...Object.keys(OUR_POLICIES), ...GRPC_JS_POLICIES];
}

/** What an entry selects: its policy name, and the parsed settings when it is one of ours. */
interface CheckedEntry {
  readonly name: string;
  readonly settings: ConsistentHashSettings | null;
}

/**
 * Checks one `loadBalancingConfig` entry. `path` locates it in messages (`''` for an entry given on
 * its own, whose messages then start with the policy name, as the channel's do).
 */
function checkEntry(entry: unknown, path: string): CheckedEntry {
  const where = path === '' ? 'loadBalancingConfig entry' : path;
  if (!isObject(entry))
    fail(where, `an entry must be an object with one key, the policy name; got ${show(entry)}`);
  const keys = Object.keys(entry);
  if (keys.length !== 1) {
    fail(
      where,
      `an entry must have exactly one key, the policy name; got ${keys.length === 0 ? 'none' : keys.map((k) => `"${k}"`).join(', ')}` +
        (keys.length > 1 ? ' (list alternatives as separate entries, in order of preference)' : ''),
    );
  }
  const name = keys[0]!;
  const parse = OUR_POLICIES[name];
  if (parse !== undefined) {
    return { name, settings: parse(entry[name], path === '' ? name : `${path}.${name}`) };
  }
  const registered = grpc.experimental.isLoadBalancerNameRegistered(name);
  if (!registered && !GRPC_JS_POLICIES.includes(name)) {
    const suggestion = closestName(name, knownPolicyNames());
    fail(
      where,
      `unknown load-balancing policy ${show(name)}${suggestion === null ? '' : ` (did you mean "${suggestion}"?)`}`,
    );
  }
  if (registered) {
    try {
      grpc.experimental.parseLoadBalancingConfig(
        entry as Parameters<typeof grpc.experimental.parseLoadBalancingConfig>[0],
      );
    } catch (e) {
      fail(where, (e as Error).message);
    }
  }
  return { name, settings: null };
}

/** Checks a `loadBalancingConfig` list; returns the settings of the entry the channel would use. */
function checkList(list: unknown, path: string): ConsistentHashSettings {
  if (!Array.isArray(list)) fail(path, `must be a list of policy entries, got ${show(list)}`);
  const entries = list.map((entry, i) => checkEntry(entry, `${path}[${i}]`));
  const ours = entries.findIndex((entry) => entry.settings !== null);
  if (ours < 0) {
    fail(path, `has no "${CONSISTENT_HASH_TYPE_NAME}" or "${RING_HASH_EXPERIMENTAL_TYPE_NAME}" entry`);
  }
  if (ours > 0) {
    fail(
      `${path}[0]`,
      `"${entries[0]!.name}" comes first, and the channel uses the first policy it knows, so "${entries[ours]!.name}" would never be used`,
    );
  }
  return entries[0]!.settings!;
}

/** Checks a whole service config object. */
function checkServiceConfig(config: Record<string, unknown>): ConsistentHashSettings {
  for (const field of Object.keys(config)) {
    if (!SERVICE_CONFIG_FIELDS.includes(field)) {
      const suggestion = closestName(field, SERVICE_CONFIG_FIELDS);
      fail(
        'service config',
        `unknown field ${show(field)}${suggestion === null ? '' : ` (did you mean "${suggestion}"?)`}`,
      );
    }
  }
  if (config['loadBalancingConfig'] === undefined) {
    fail(
      'service config',
      config['loadBalancingPolicy'] === undefined
        ? 'has no "loadBalancingConfig"'
        : `"loadBalancingPolicy" only names grpc-js's built-in policies; select ${CONSISTENT_HASH_TYPE_NAME} with "loadBalancingConfig": [{ "${CONSISTENT_HASH_TYPE_NAME}": {} }]`,
    );
  }
  return checkList(config['loadBalancingConfig'], 'loadBalancingConfig');
}

/** A service config field, or a misspelling of one (and not a policy field). */
function isServiceConfigField(key: string): boolean {
  if (SERVICE_CONFIG_FIELDS.includes(key)) return true;
  if (CONSISTENT_HASH_FIELDS.some((f) => f === key || snakeCase(f) === key)) return false;
  return closestName(key, SERVICE_CONFIG_FIELDS) !== null;
}

/** Whether an object's keys are all `consistent_hash` fields, i.e. it is the policy's own config. */
function isBarePolicyConfig(json: Record<string, unknown>): boolean {
  const fields = new Set<string>(CONSISTENT_HASH_FIELDS.flatMap((f) => [f, snakeCase(f)]));
  const keys = Object.keys(json);
  // One snake_case key (as policy names are) or one close to a known policy name, whose value is an
  // object: an entry with a misspelt or unknown policy name.
  const only = keys.length === 1 ? keys[0]! : null;
  if (
    only !== null &&
    !fields.has(only) &&
    isObject(json[only]) &&
    (/^[a-z0-9]+(_[a-z0-9]+)+$/.test(only) || closestName(only, knownPolicyNames()) !== null)
  ) {
    return false;
  }
  return keys.every((key) => fields.has(key) || !(key in OUR_POLICIES));
}

/**
 * Checks a config before it reaches a channel, as strictly as the channel will. Accepts:
 * - the policy's own config: `{ hashHeader: "x-user-id" }`;
 * - a `loadBalancingConfig` entry: `{ consistent_hash: {...} }` or `{ ring_hash_experimental: {...} }`;
 * - a `loadBalancingConfig` list: `[{ consistent_hash: {...} }, { round_robin: {} }]`;
 * - a whole service config, as an object or as the JSON string given in `grpc.service_config`.
 *
 * Returns the parsed settings (defaults filled in) of the entry the channel would use.
 * @throws ConsistentHashConfigError naming the path of the problem, e.g.
 *   `loadBalancingConfig[0].consistent_hash: unknown field "hashheader" (did you mean "hashHeader"?)`.
 */
export function validateConfig(input: unknown): ConsistentHashSettings {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (e) {
      fail('service config', `not valid JSON: ${(e as Error).message}`);
    }
    if (!isObject(json)) fail('service config', `must be a JSON object, got ${show(json)}`);
    return checkServiceConfig(json);
  }
  if (Array.isArray(json)) return checkList(json, 'loadBalancingConfig');
  if (!isObject(json)) return parseConsistentHashSettings(json);
  const keys = Object.keys(json);
  if (keys.some(isServiceConfigField)) return checkServiceConfig(json);
  if (keys.some((key) => key in OUR_POLICIES) || !isBarePolicyConfig(json)) {
    const { settings } = checkEntry(json, '');
    if (settings !== null) return settings;
    fail(
      'loadBalancingConfig entry',
      `"${keys[0]}" is not ${CONSISTENT_HASH_TYPE_NAME} or ${RING_HASH_EXPERIMENTAL_TYPE_NAME}`,
    );
  }
  return parseConsistentHashSettings(json);
}
