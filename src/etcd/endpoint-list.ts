import * as grpc from '@grpc/grpc-js';

/** The default etcd client endpoint when neither the target nor `ETCD_ENDPOINTS` names one. */
export const DEFAULT_ETCD_ENDPOINT = '127.0.0.1:2379';

/** Parses one endpoint (`host[:port]`, optionally with http:// or https://) to `host:port` and its scheme. */
export function parseEtcdEndpoint(
  raw: string,
  origin: string,
): { hostPort: string; secure: boolean | undefined } {
  // Never echo an endpoint that carries user:password@.
  if (raw.includes('@')) {
    throw new Error(`${origin}: credentials in an etcd endpoint are not supported (use username/password)`);
  }
  let text = raw.trim();
  let secure: boolean | undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name === 'http') secure = false;
    else if (name === 'https') secure = true;
    else
      throw new Error(
        `${origin}: unsupported scheme "${name}://" in etcd endpoint "${raw}" (use http or https)`,
      );
    text = text.slice(scheme[0].length).replace(/\/+$/, '');
  }
  if (text === '') throw new Error(`${origin}: empty etcd endpoint in "${raw}"`);
  const split = grpc.experimental.splitHostPort(text);
  if (!split || split.host === '' || /[/\s@?#]/.test(split.host)) {
    throw new Error(`${origin}: invalid etcd endpoint "${raw}" (expected host:port)`);
  }
  const port = split.port ?? 2379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${origin}: invalid port in etcd endpoint "${raw}"`);
  }
  const host = split.host.includes(':') ? `[${split.host}]` : split.host;
  return { hostPort: `${host}:${port}`, secure };
}

/** Parses a comma-separated list (or array) of endpoints. */
export function parseEtcdEndpointList(
  list: string | readonly string[],
  origin: string,
): { endpoints: string[]; secure: boolean | undefined } {
  const items = (typeof list === 'string' ? list.split(',') : [...list])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new Error(`${origin}: no etcd endpoint given`);
  const endpoints: string[] = [];
  let secure: boolean | undefined;
  for (const item of items) {
    const parsed = parseEtcdEndpoint(item, origin);
    if (parsed.secure !== undefined) {
      if (secure !== undefined && secure !== parsed.secure) {
        throw new Error(`${origin}: etcd endpoints mix http:// and https://`);
      }
      secure = parsed.secure;
    }
    if (!endpoints.includes(parsed.hostPort)) endpoints.push(parsed.hostPort);
  }
  return { endpoints, secure };
}
