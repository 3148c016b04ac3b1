import { promises as dns } from 'node:dns';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../endpoint';
import type { LifecycleSchedule, RegistryAnswer, ResolverAdapter } from '../shared/adapter';
import { LifecycleResolver } from '../shared/lifecycle';
import { ResolverError } from '../shared/resolver-error';
import {
  parseStaticTarget,
  STATIC_ENDPOINT_PER_ADDRESS_OPTION,
  STATIC_RE_RESOLUTION_INTERVAL_OPTION,
  type StaticTargetEntry,
} from './static-target';

type SubchannelAddress = grpc.experimental.SubchannelAddress;

/** Minimum time between DNS lookups of a target's hostnames, as grpc-js's DNS resolver. */
export const DEFAULT_MIN_TIME_BETWEEN_LOOKUPS_MS = 30_000;

/** Looks up every address of a hostname (the system resolver by default). */
export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) =>
  (await dns.lookup(host, { all: true })).map((a) => a.address);

/** DNS answers that mean "this name has no addresses", as opposed to "DNS did not answer". */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'NO_ADDRESSES']);

/** The `static:` adapter: a fetch that returns the entries, looking hostnames up. */
class StaticAdapter implements ResolverAdapter {
  readonly component = 'static';
  readonly schedule: LifecycleSchedule;
  private readonly entries: StaticTargetEntry[];
  private readonly endpointPerAddress: boolean;
  /** Last good addresses of each hostname entry, kept when a later lookup fails. */
  private readonly lastGoodAddresses = new Map<string, SubchannelAddress[]>();

  constructor(
    readonly target: string,
    path: string,
    channelOptions: grpc.ChannelOptions,
    private readonly lookupHost: HostLookup,
  ) {
    this.entries = parseStaticTarget(path, target);
    const option = channelOptions['grpc.dns_min_time_between_resolutions_ms'];
    const minInterval =
      typeof option === 'number' && option >= 0 ? option : DEFAULT_MIN_TIME_BETWEEN_LOOKUPS_MS;
    // Look up again when the channel asks, at most once per interval, like grpc-js's DNS resolver;
    // with a re-resolution interval also every interval (never faster than the minimum). The token
    // bucket only guards a zero interval: it never binds at the interval's pace.
    const requestsPerSecond = Math.max(1, 1000 / Math.max(minInterval, 1));
    const interval = channelOptions[STATIC_RE_RESOLUTION_INTERVAL_OPTION] as unknown;
    if (
      interval !== undefined &&
      (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0)
    ) {
      throw new ResolverError(
        'INVALID_TARGET',
        target,
        `channel option "${STATIC_RE_RESOLUTION_INTERVAL_OPTION}" must be a number of milliseconds > 0, got ${JSON.stringify(interval)}`,
      );
    }
    const perAddress = channelOptions[STATIC_ENDPOINT_PER_ADDRESS_OPTION] as unknown;
    if (perAddress !== undefined && typeof perAddress !== 'boolean') {
      throw new ResolverError(
        'INVALID_TARGET',
        target,
        `channel option "${STATIC_ENDPOINT_PER_ADDRESS_OPTION}" must be true or false, got ${JSON.stringify(perAddress)}`,
      );
    }
    this.endpointPerAddress = perAddress === true;
    const periodic = interval !== undefined && this.entries.some((e) => e.ipVersion === 0);
    this.schedule = {
      minRefetchIntervalMs: minInterval,
      requestsPerSecond,
      burst: 2,
      ...(periodic && { refetchAfterMs: Math.max(interval, minInterval) }),
    };
  }

  async fetch(): Promise<RegistryAnswer> {
    const results = await Promise.all(
      this.entries.map(async (entry): Promise<SubchannelAddress[] | NodeJS.ErrnoException> => {
        if (entry.ipVersion !== 0) return [{ host: entry.host, port: entry.port }];
        try {
          const found = await this.lookupHost(entry.host);
          if (found.length === 0) return Object.assign(new Error('no addresses'), { code: 'NO_ADDRESSES' });
          return found.map((address) => ({ host: address, port: entry.port }));
        } catch (e) {
          return e as NodeJS.ErrnoException;
        }
      }),
    );
    const endpoints: DiscoveredEndpoint[] = [];
    const seen = new Set<string>();
    const failures: string[] = [];
    let allNotFound = true;
    for (const [i, entry] of this.entries.entries()) {
      let addresses = results[i]!;
      if (addresses instanceof Error) {
        const reason = addresses.code ?? addresses.message;
        if (!NOT_FOUND_CODES.has(reason)) allNotFound = false;
        failures.push(`cannot resolve "${entry.host}" (entry "${entry.hostPort}"): ${reason}`);
        const kept = this.lastGoodAddresses.get(entry.hostPort);
        if (kept === undefined) continue;
        addresses = kept;
      } else if (entry.ipVersion === 0) {
        this.lastGoodAddresses.set(entry.hostPort, addresses);
      }
      if (entry.ipVersion === 0 && this.endpointPerAddress) {
        // Each address its own ring member, keyed by IP:port (the same address twice is one member).
        for (const address of addresses) {
          const key = grpc.experimental.subchannelAddressToString(address);
          if (seen.has(key)) continue;
          seen.add(key);
          endpoints.push({ addresses: [address] });
        }
        continue;
      }
      // A hostname entry's ring identity is the entry as written, so its keys stay when its IPs change.
      endpoints.push(entry.ipVersion === 0 ? { addresses, hashKey: entry.hostPort } : { addresses });
    }
    const note = failures.join('; ');
    if (endpoints.length === 0) {
      // Every entry failed: "no such name" is an answer; anything else is DNS being unreachable.
      throw new ResolverError(allNotFound ? 'NO_ENDPOINTS' : 'UNREACHABLE', this.target, note);
    }
    return { endpoints, note };
  }
}

/**
 * `static:///host1:port1,host2:port2`: a fixed list of endpoints, one per entry. IP entries are
 * used as they are; hostnames are looked up with the system resolver (all addresses, which become
 * the addresses of that entry's endpoint, tried in order) and looked up again when the channel asks,
 * at most once per `grpc.dns_min_time_between_resolutions_ms` (default 30 s). A hostname entry's
 * ring identity (`hashKey`) is the entry as written, so its keys stay put when its IPs change.
 * When every hostname fails to resolve, calls fail at once with UNAVAILABLE naming them.
 * With {@link STATIC_RE_RESOLUTION_INTERVAL_OPTION} hostnames are also looked up on that interval
 * (never faster than the minimum), and with {@link STATIC_ENDPOINT_PER_ADDRESS_OPTION} each address
 * is its own endpoint: a headless Service's name then follows its pods without any dependency.
 */
export class StaticResolver extends LifecycleResolver {
  /** @param lookupHost replaces the system resolver (tests) */
  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
    lookupHost: HostLookup = systemLookup,
  ) {
    const text = grpc.experimental.uriToString(target);
    super(text, listener, () => new StaticAdapter(text, target.path, channelOptions, lookupHost));
  }

  /** The channel's default authority: the first entry (or the raw path if it does not parse). */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    try {
      return parseStaticTarget(target.path)[0]?.hostPort ?? target.path;
    } catch {
      return target.path;
    }
  }
}
