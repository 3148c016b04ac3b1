import { isIP } from 'node:net';
import { ResolverError } from '../shared/resolver-error';

/** The URI scheme of the static resolver. */
export const STATIC_SCHEME = 'static';

/**
 * Channel option: look hostnames up again every this many ms, without waiting for a connection to
 * fail (grpc-js's `dns:` waits), so that a headless Service's new pods are picked up. Never faster
 * than `grpc.dns_min_time_between_resolutions_ms` (default 30 s). Absent: only when the channel asks.
 */
export const STATIC_RE_RESOLUTION_INTERVAL_OPTION = 'grpc-consistent-hash.static.re_resolution_interval_ms';
/**
 * Channel option: `true` makes every address a hostname resolves to its own endpoint (ring identity
 * `IP:port`), as grpc-js's `dns:` does: each pod behind a headless Service is a ring member. Default
 * `false`: one endpoint per entry, keyed by the entry as written, with all its addresses.
 */
export const STATIC_ENDPOINT_PER_ADDRESS_OPTION = 'grpc-consistent-hash.static.endpoint_per_address';

/** One `host:port` entry of a static target. */
export interface StaticTargetEntry {
  /** The host without brackets: an IP address or a hostname (lowercased). */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for an IP address, 0 for a hostname (resolved by DNS). */
  readonly ipVersion: 0 | 4 | 6;
  /** `host:port` with an IPv6 host in brackets: the endpoint's ring identity. */
  readonly hostPort: string;
}

const HOSTNAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/;
const PORT = /^\d{1,5}$/;

function parseEntry(entry: string, target: string): StaticTargetEntry {
  const invalid = (reason: string) => new ResolverError('INVALID_TARGET', target, reason);
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) throw invalid(`entry "${entry}" has an unclosed "["`);
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest === '') portText = undefined;
    else if (rest.startsWith(':')) portText = rest.slice(1);
    else throw invalid(`entry "${entry}" has text after "]" that is not ":port"`);
    if (isIP(host) !== 6) throw invalid(`entry "${entry}": "${host}" is not an IPv6 address`);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon >= 0 && entry.indexOf(':') !== colon) {
      throw invalid(`entry "${entry}": put an IPv6 address in brackets, as [addr]:port`);
    }
    host = colon < 0 ? entry : entry.slice(0, colon);
    portText = colon < 0 ? undefined : entry.slice(colon + 1);
  }
  if (host === '') throw invalid(`entry "${entry}" has no host`);
  if (portText === undefined) throw invalid(`entry "${entry}" has no port (host:port)`);
  const port = PORT.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw invalid(`entry "${entry}" has a bad port "${portText}" (1-65535)`);
  }
  const ipVersion = isIP(host) as 0 | 4 | 6;
  if (ipVersion === 0) {
    host = host.toLowerCase();
    if (!HOSTNAME.test(host)) throw invalid(`entry "${entry}": "${host}" is not a valid hostname`);
  }
  return { host, port, ipVersion, hostPort: ipVersion === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/**
 * Parses a static target, `static:///host1:port1,host2:port2` (or just its address list), with `,`
 * or `;` between entries, IPv6 addresses in brackets and hostnames allowed. Repeated entries are
 * kept once. Use it to validate a target up front.
 * @throws ResolverError (code `INVALID_TARGET`) naming the bad entry: empty list, missing port, bad
 *   port, bad host.
 * @param targetText the target as the error should name it (default: `target`, as a `static:` URI)
 */
export function parseStaticTarget(
  target: string,
  targetText = target.startsWith(`${STATIC_SCHEME}:`) ? target : `${STATIC_SCHEME}:///${target}`,
): StaticTargetEntry[] {
  const invalid = (reason: string) => new ResolverError('INVALID_TARGET', targetText, reason);
  let list = target;
  const schemePrefix = `${STATIC_SCHEME}:`;
  if (list.startsWith(schemePrefix)) list = list.slice(schemePrefix.length);
  // An authority (static://authority/list) carries nothing for us. grpc-js hands over the path of
  // "static:///" (nothing after the slashes) as "///", so this applies to a bare path too.
  if (list.startsWith('//')) {
    const slash = list.indexOf('/', 2);
    list = slash < 0 ? '' : list.slice(slash + 1);
  }
  const entries: StaticTargetEntry[] = [];
  const seen = new Set<string>();
  const raw = list.split(/[,;]/).map((s) => s.trim());
  if (raw.every((s) => s === '')) {
    // static://10.0.0.1:50051 puts the address in the authority, which the list never reads.
    const authority = /^static:\/\/([^/]+)/.exec(targetText)?.[1] ?? /^\/\/([^/]+)/.exec(target)?.[1];
    if (authority !== undefined) {
      throw invalid(
        `the target lists no addresses: "${authority}" is in the authority position (two slashes); write static:///${authority} (three slashes)`,
      );
    }
    throw invalid('the target lists no addresses');
  }
  for (const [index, text] of raw.entries()) {
    if (text === '') throw invalid(`entry ${index + 1} is empty`);
    const entry = parseEntry(text, targetText);
    if (seen.has(entry.hostPort)) continue;
    seen.add(entry.hostPort);
    entries.push(entry);
  }
  return entries;
}
