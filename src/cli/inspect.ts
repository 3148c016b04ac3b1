import * as grpc from '@grpc/grpc-js';
import { ConsistentHashConfigError, type ConsistentHashSettings, validateConfig } from '../balancer';
import { ringEndpoints } from '../balancer/ring-members';
import type { DiscoveredEndpoint } from '../endpoint';
import { parseGoDuration } from '../go-duration';
import { register } from '../register';
import { createRingBuilder } from '../rings';
import { CandidateOrder } from '../rings/candidate-order';
import { hashKeys } from '../rings/distribution';
import { ringOwnership } from '../rings/ownership';
import { keyHashBits } from '../rings/ring-options';
import type { HashRing, RingMember } from '../rings/types';
import { formatUint64Decimal } from '../rings/uint64';
import { alignedTable, positionUnit } from './format';
import type { Subcommand } from './main';
import { parseCommandArgs } from './ring-flags';
import { UsageError } from './usage-error';

const HELP = `usage: grpc-consistent-hash inspect <target> [--key K ...] [--config JSON] [--timeout 5s]

Resolves <target> once through the registered resolvers (static:, consul:, etcd:, kubernetes:,
dns:, ipv4:, ipv6:, unix:; a target without a scheme uses dns:, as grpc-js does), prints the
endpoints (ring identity, e.g. a Kubernetes pod name, and addresses) with their weights and their
share of the ring, and for each --key the endpoint that owns it.
  --key K        a hash key to place (repeat for several)
  --config JSON  the consistent_hash config to build the ring with, as the policy's JSON
                 ({"algorithm":"maglev"}), a loadBalancingConfig entry
                 ({"consistent_hash":{...}}) or a service config; default: the policy's defaults
  --timeout D    how long to wait for the resolver's first answer (default 5s; e.g. 500ms, 1m)
Exit codes: 0 resolved; 1 the resolver failed, timed out or returned no endpoints;
2 bad arguments (flags, config, target syntax or scheme).`;

/** Longest accepted `--timeout`. */
const MAX_TIMEOUT_MS = 10 * 60_000;

/** The parsed `inspect` configuration. */
export interface InspectSettings {
  readonly target: string;
  readonly keys: readonly string[];
  readonly config: ConsistentHashSettings;
  readonly timeoutMs: number;
}

/** Parses `--timeout`: a Go-style duration (`5s`, `500ms`) or a number of seconds. */
function parseTimeout(text: string): number {
  const ms = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) * 1000 : parseGoDuration(text);
  if (ms === null || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new UsageError(`--timeout must be a duration in (0, 10m], such as 5s or 500ms, got '${text}'`);
  }
  return ms;
}

/** Parses and validates `inspect` arguments; throws a UsageError naming the problem. Returns null for --help. */
export function parseInspectArgs(argv: readonly string[]): InspectSettings | null {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      key: { type: 'string', multiple: true },
      config: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError('a target is required, e.g. static:///10.0.0.1:50051');
  if (positionals.length > 1) {
    throw new UsageError(`expected one target, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  const target = positionals[0]!;
  if (target.trim() === '') throw new UsageError('the target is empty');

  let config: ConsistentHashSettings;
  const configText = values.config as string | undefined;
  try {
    let json: unknown = {};
    if (configText !== undefined) {
      try {
        json = JSON.parse(configText);
      } catch (err) {
        throw new UsageError(`--config is not valid JSON: ${(err as Error).message}`);
      }
    }
    // A policy config, an entry, a loadBalancingConfig list or a whole service config.
    config = validateConfig(json);
  } catch (err) {
    if (err instanceof ConsistentHashConfigError) throw new UsageError(`--config: ${err.message}`);
    throw err;
  }
  const timeoutText = values.timeout as string | undefined;
  return {
    target,
    keys: (values.key as string[] | undefined) ?? [],
    config,
    timeoutMs: timeoutText === undefined ? 5000 : parseTimeout(timeoutText),
  };
}

/** A failure the resolver reported (or its silence): exit code 1. */
export class ResolutionError extends Error {
  override readonly name = 'ResolutionError';
}

const URI = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/;

function parseTarget(target: string): grpc.experimental.GrpcUri {
  const match = URI.exec(target);
  if (match === null) throw new UsageError(`target '${target}' is not a URI (scheme:[//authority/]path)`);
  return {
    ...(match[1] === undefined ? {} : { scheme: match[1] }),
    ...(match[2] === undefined ? {} : { authority: match[2] }),
    path: match[3]!,
  };
}

/** What the resolver answered first. */
export interface Resolution {
  readonly endpoints: readonly grpc.experimental.Endpoint[];
  readonly note: string;
}

/**
 * Resolves a target once through grpc-js's registered resolvers (after `register()`), waiting at
 * most `timeoutMs` for the first answer, then destroys the resolver.
 * @throws UsageError for a target that is not a URI or names an unknown scheme;
 *   ResolutionError for a resolver error, an empty list or a timeout.
 */
export async function resolveOnce(target: string, timeoutMs: number): Promise<Resolution> {
  register();
  let uri = parseTarget(target);
  let resolver: grpc.experimental.Resolver | undefined;
  let settle: (r: Resolution | Error) => void = () => {};
  const answered = new Promise<Resolution | Error>((resolve) => {
    settle = resolve;
  });
  let settled = false;
  const listener: grpc.experimental.ResolverListener = (endpointList, _attributes, _serviceConfig, note) => {
    if (settled) return true;
    settled = true;
    if (endpointList.ok) settle({ endpoints: endpointList.value, note });
    else settle(new ResolutionError(endpointList.error.details || note || 'resolution failed'));
    return true;
  };
  const create = (u: grpc.experimental.GrpcUri) => grpc.experimental.createResolver(u, listener, {});
  try {
    resolver = create(uri);
  } catch (err) {
    const message = (err as Error).message;
    if (!/No resolver could be created/.test(message)) throw new ResolutionError(message);
    // As grpc-js does: an unregistered scheme means the whole target is a dns: name ("host:port").
    if (target.includes('://')) {
      throw new UsageError(
        `unknown scheme '${uri.scheme}' in target '${target}' (known: static, consul, etcd, kubernetes, dns, ipv4, ipv6, unix)`,
      );
    }
    uri = { scheme: 'dns', path: target };
    resolver = create(uri);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    resolver.updateResolution();
    timer = setTimeout(
      () => settle(new ResolutionError(`no answer from the resolver within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const result = await answered;
    settled = true;
    if (result instanceof Error) throw result;
    if (result.endpoints.length === 0) {
      throw new ResolutionError(
        `the resolver returned no endpoints${result.note ? ` (${result.note})` : ''}`,
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
    resolver.destroy();
  }
}

/** One ring member built from resolved endpoints. */
export interface InspectedMember {
  readonly id: string;
  readonly addresses: readonly string[];
  readonly weight: number;
  /** The weight the endpoints asked for; above `weight` when the balancer clamped it. */
  readonly requestedWeight: number;
  readonly tags: readonly string[];
}

/** The ring members the balancer builds from these endpoints ({@link ringEndpoints}), with what is printed of each. */
export function membersOf(endpoints: readonly grpc.experimental.Endpoint[]): InspectedMember[] {
  return ringEndpoints(endpoints).map(({ endpoint, hashKey, weight, requestedWeight }) => {
    const tags = (endpoint as DiscoveredEndpoint).tags;
    return {
      id: hashKey,
      addresses: endpoint.addresses.map((a) => grpc.experimental.subchannelAddressToString(a)),
      weight,
      requestedWeight,
      tags: Array.isArray(tags) ? tags.map(String) : [],
    };
  });
}

/** The hash of a key as the balancer computes it ({@link hashKeys}), in decimal: 32 bits for ketama and rendezvous, 64 otherwise. */
export function keyHash(ring: HashRing, key: string): string {
  const { hi, lo } = hashKeys(ring.algorithm, [key]);
  return keyHashBits(ring.algorithm) === 32 ? String(lo[0]) : formatUint64Decimal(hi[0]!, lo[0]!);
}

/** How many of a key's next candidates `inspect` shows. */
const FAILOVER_SHOWN = 3;

/**
 * The members a key's calls go to, in order, when its owner is down (failover affinity): the ring
 * walk, or for rendezvous the score order. At most `count`, the owner not included.
 */
export function failoverOrder(ring: HashRing, position: number, key: string, count: number): number[] {
  const order = new CandidateOrder(ring);
  order.start(position, key, 0, 0, ring.memberAt(position));
  const out: number[] = [];
  for (let m = order.next(); m >= 0 && out.length < count; m = order.next()) out.push(m);
  return out;
}

function formatWeight(weight: number): string {
  return String(Number(weight.toFixed(6)));
}

/** The printed report for a resolution. */
export function formatInspection(settings: InspectSettings, resolution: Resolution): string {
  const members = membersOf(resolution.endpoints);
  if (members.length === 0)
    throw new ResolutionError('the resolver returned only endpoints without addresses');
  const ringMembers: RingMember[] = members.map((m) => ({ id: m.id, weight: m.weight }));
  const ring = createRingBuilder(settings.config.algorithm, settings.config.ringOptions).build(ringMembers);
  const shares = ringOwnership(ring);
  const lines = [
    `target: ${settings.target}`,
    ...(resolution.note ? [`resolver: ${resolution.note}`] : []),
    `ring: ${ring.algorithm}, ${members.length} endpoint${members.length === 1 ? '' : 's'}, ${ring.size} ${positionUnit(ring.algorithm)}`,
    '',
    alignedTable(
      ['endpoint', 'addresses', 'weight', 'tags', 'ring share'],
      members.map((m, i) => [
        m.id,
        m.addresses.join(','),
        m.requestedWeight > m.weight
          ? `${formatWeight(m.weight)} (clamped from ${formatWeight(m.requestedWeight)})`
          : formatWeight(m.weight),
        m.tags.length > 0 ? m.tags.join(',') : '-',
        `${(shares[i]! * 100).toFixed(2)}%`,
      ]),
      'text',
    ),
  ];
  if (settings.keys.length > 0) {
    lines.push(
      '',
      alignedTable(
        ['key', 'hash', 'position', 'endpoint', 'failover order'],
        settings.keys.map((key) => {
          const position = ring.locateKey(key);
          return [
            key,
            keyHash(ring, key),
            String(position),
            members[ring.memberAt(position)]!.id,
            failoverOrder(ring, position, key, FAILOVER_SHOWN)
              .map((m) => members[m]!.id)
              .join(', ') || '-',
          ];
        }),
        'text',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The `inspect` subcommand. */
export const inspectCommand: Subcommand = {
  summary: 'resolve a target and show its endpoints, ring shares and key owners',
  async run(argv) {
    const settings = parseInspectArgs(argv);
    if (settings === null) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    // A resolver that leaves a handle open after destroy() must not keep the command alive.
    const forceExit = () => setTimeout(() => process.exit(), 2000).unref();
    // The resolver logs its errors at ERROR; the one that ends the command is said once, below.
    const logged: string[] = [];
    grpc.setLogger({ error: (...args: unknown[]) => logged.push(args.map(String).join(' ')) });
    const flushLog = (except: string | null) => {
      grpc.setLogger(console);
      for (const line of logged)
        if (except === null || !line.includes(except)) process.stderr.write(`${line}\n`);
    };
    try {
      const resolution = await resolveOnce(settings.target, settings.timeoutMs);
      flushLog(null);
      process.stdout.write(formatInspection(settings, resolution));
      forceExit();
      return 0;
    } catch (err) {
      flushLog(err instanceof Error ? err.message : null);
      if (err instanceof ResolutionError) {
        // Resolver errors already name the target.
        const message = err.message.startsWith(settings.target)
          ? err.message
          : `${settings.target}: ${err.message}`;
        process.stderr.write(`grpc-consistent-hash inspect: ${message}\n`);
        process.exitCode = 1;
        forceExit();
        return 1;
      }
      throw err;
    }
  },
};
