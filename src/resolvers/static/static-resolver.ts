import { promises as dns } from 'node:dns';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../endpoint';
import { trace } from '../../trace';
import { EndpointListPublisher } from '../shared/endpoint-publisher';
import { parseStaticTarget, type StaticTargetEntry } from './static-target';

type SubchannelAddress = grpc.experimental.SubchannelAddress;

/** Minimum time between DNS lookups of a target's hostnames, as grpc-js's DNS resolver. */
export const DEFAULT_MIN_TIME_BETWEEN_LOOKUPS_MS = 30_000;

/**
 * `static:///host1:port1,host2:port2`: a fixed list of endpoints, one per entry. IP entries are
 * used as they are; hostnames are looked up with the system resolver (all addresses, which become
 * the addresses of that entry's endpoint, tried in order) and looked up again when the channel asks,
 * at most once per `grpc.dns_min_time_between_resolutions_ms` (default 30 s). A hostname entry's
 * ring identity (`hashKey`) is the entry as written, so its keys stay put when its IPs change.
 */
export class StaticResolver implements grpc.experimental.Resolver {
  private readonly entries: StaticTargetEntry[] | null = null;
  private readonly parseError: string | null = null;
  private readonly hasHostnames: boolean = false;
  private readonly minTimeBetweenLookupsMs: number;
  /** Bumped by destroy(): results of older lookups are dropped. */
  private generation = 0;
  private started = false;
  private lookupInFlight = false;
  private lookupTimer: NodeJS.Timeout | null = null;
  private lastLookupAt = Number.NEGATIVE_INFINITY;
  private readonly publisher: EndpointListPublisher;
  /** Last good addresses of each hostname entry, kept when a later lookup fails. */
  private readonly lastGoodAddresses = new Map<string, SubchannelAddress[]>();

  constructor(
    target: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
  ) {
    this.publisher = new EndpointListPublisher(listener);
    const text = grpc.experimental.uriToString(target);
    try {
      this.entries = parseStaticTarget(text);
      this.hasHostnames = this.entries.some((e) => e.ipVersion === 0);
    } catch (e) {
      const message = (e as Error).message;
      this.parseError = message.includes(`"${text}"`) ? message : `${message} (target "${text}")`;
    }
    const option = channelOptions['grpc.dns_min_time_between_resolutions_ms'];
    this.minTimeBetweenLookupsMs =
      typeof option === 'number' && option >= 0 ? option : DEFAULT_MIN_TIME_BETWEEN_LOOKUPS_MS;
    trace('static', `resolver created for ${text}`);
  }

  updateResolution(): void {
    if (this.parseError !== null || !this.hasHostnames) {
      // Fixed result: deliver once per start, never synchronously.
      if (this.started) return;
      this.started = true;
      const generation = this.generation;
      setImmediate(() => {
        if (generation !== this.generation) return;
        if (this.parseError !== null) {
          this.publisher.fail(this.parseError, '');
        } else {
          this.push(
            this.entries!.map((e) => this.endpointOf(e, [{ host: e.host, port: e.port }])),
            '',
          );
        }
      });
      return;
    }
    this.started = true;
    if (this.lookupInFlight || this.lookupTimer !== null) return;
    const wait = this.lastLookupAt + this.minTimeBetweenLookupsMs - performance.now();
    if (wait > 0) {
      trace('static', `lookup delayed ${Math.ceil(wait)} ms by the minimum time between lookups`);
      this.lookupTimer = setTimeout(() => {
        this.lookupTimer = null;
        this.startLookup();
      }, wait);
      this.lookupTimer.unref();
      return;
    }
    this.startLookup();
  }

  destroy(): void {
    this.generation++;
    this.started = false;
    this.lookupInFlight = false;
    if (this.lookupTimer !== null) clearTimeout(this.lookupTimer);
    this.lookupTimer = null;
    this.lastLookupAt = Number.NEGATIVE_INFINITY;
    this.publisher.forget();
  }

  /** The channel's default authority: the first entry (or the raw path if it does not parse). */
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    try {
      return parseStaticTarget(target.path)[0]?.hostPort ?? target.path;
    } catch {
      return target.path;
    }
  }

  private startLookup(): void {
    const generation = this.generation;
    this.lookupInFlight = true;
    this.lastLookupAt = performance.now();
    const entries = this.entries!;
    void Promise.all(
      entries.map(async (entry): Promise<SubchannelAddress[] | Error> => {
        if (entry.ipVersion !== 0) return [{ host: entry.host, port: entry.port }];
        try {
          const found = await this.lookupHost(entry.host);
          if (found.length === 0) return new Error('no addresses');
          return found.map((address) => ({ host: address, port: entry.port }));
        } catch (e) {
          return e as Error;
        }
      }),
    ).then((results) => {
      if (generation !== this.generation) return;
      this.lookupInFlight = false;
      const endpoints: DiscoveredEndpoint[] = [];
      const failures: string[] = [];
      for (const [i, entry] of entries.entries()) {
        let addresses = results[i]!;
        if (addresses instanceof Error) {
          const kept = this.lastGoodAddresses.get(entry.hostPort);
          const reason = (addresses as NodeJS.ErrnoException).code ?? addresses.message;
          failures.push(`cannot resolve "${entry.host}" (entry "${entry.hostPort}"): ${reason}`);
          if (kept === undefined) continue;
          addresses = kept;
        } else if (entry.ipVersion === 0) {
          this.lastGoodAddresses.set(entry.hostPort, addresses);
        }
        endpoints.push(this.endpointOf(entry, addresses));
      }
      const note = failures.length > 0 ? `static: ${failures.join('; ')}` : '';
      if (note) trace('static', note);
      if (endpoints.length === 0) this.publisher.fail(note, note);
      else this.push(endpoints, note);
    });
  }

  /** Every address of `host` (system resolver, like grpc-js's DNS resolver). Overridable for tests. */
  protected async lookupHost(host: string): Promise<string[]> {
    return (await dns.lookup(host, { all: true })).map((a) => a.address);
  }

  private endpointOf(entry: StaticTargetEntry, addresses: SubchannelAddress[]): DiscoveredEndpoint {
    return entry.ipVersion === 0 ? { addresses, hashKey: entry.hostPort } : { addresses };
  }

  /** Pushes the list unless it equals the last one pushed. */
  private push(endpoints: DiscoveredEndpoint[], note: string): void {
    if (this.publisher.push(endpoints, note)) trace('static', `pushed ${endpoints.length} endpoints`);
    else trace('static', 'lookup result unchanged; not pushed');
  }
}
