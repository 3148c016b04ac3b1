import type * as grpc from '@grpc/grpc-js';
import { parseEtcdEndpointList } from '../../etcd/endpoint-list';
import { ResolverError } from '../shared/resolver-error';

/** URI scheme of the etcd resolver. */
export const ETCD_SCHEME = 'etcd';

/** A parsed `etcd://[host:port[,host:port...]]/<target>`. */
export interface EtcdTarget {
  /** Endpoints from the authority, as `host:port`; undefined when the authority is empty (use `ETCD_ENDPOINTS`). */
  readonly endpoints: readonly string[] | undefined;
  /** The naming target (Go's `endpoints.NewManager(client, target)`), without trailing slash. */
  readonly service: string;
  /** The key prefix watched: `<service>/`. The trailing slash keeps `svc` from matching `svc2/...`. */
  readonly prefix: string;
}

// The same split as grpc-js's uri-parser: scheme, optional //authority/, path.
const URI_REGEX = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.+)$/;

/** A target as text for messages, without any `user:password@` in the authority. */
export function redactEtcdTargetText(text: string): string {
  return text.replace(/^([a-z0-9+.-]*:\/\/)[^/]*@/i, '$1<redacted>@');
}

/**
 * Parses an etcd target, given as a string (`etcd://127.0.0.1:2379/my-service`) or as grpc-js's
 * parsed `GrpcUri`.
 * @throws ResolverError (code `INVALID_TARGET`) naming the bad part
 */
export function parseEtcdTarget(target: string | grpc.experimental.GrpcUri): EtcdTarget {
  const text =
    typeof target === 'string'
      ? target
      : `${target.scheme ?? ETCD_SCHEME}:${target.authority !== undefined ? `//${target.authority}/` : ''}${target.path}`;
  try {
    return parseTarget(target);
  } catch (error) {
    throw new ResolverError('INVALID_TARGET', redactEtcdTargetText(text), (error as Error).message);
  }
}

function parseTarget(target: string | grpc.experimental.GrpcUri): EtcdTarget {
  let authority: string | undefined;
  let path: string;
  if (typeof target === 'string') {
    const match = URI_REGEX.exec(target);
    if (!match) throw new Error('expected etcd://[host:port,...]/<service>');
    if (match[1] !== undefined && match[1].toLowerCase() !== ETCD_SCHEME) {
      throw new Error(`scheme must be "${ETCD_SCHEME}", got "${match[1]}"`);
    }
    authority = match[2];
    path = match[3]!;
  } else {
    authority = target.authority;
    path = target.path;
  }
  // user:password@ in the authority is not supported; say so without echoing the text.
  if (authority?.includes('@')) {
    throw new Error(
      'credentials in the authority are not supported (use createEtcdCredentials or ETCD_USERNAME/ETCD_PASSWORD)',
    );
  }
  const service = path.replace(/\/+$/, '');
  if (service === '' || service.startsWith('/')) {
    throw new Error('the service name is empty (expected etcd://[host:port,...]/<service>)');
  }
  if (/\s/.test(service) || service.includes('\u0000')) {
    throw new Error(`the service name "${service}" contains whitespace or NUL`);
  }
  let endpoints: readonly string[] | undefined;
  if (authority !== undefined && authority !== '') {
    const parsed = parseEtcdEndpointList(authority, 'the authority');
    endpoints = parsed.endpoints;
  }
  return { endpoints, service, prefix: `${service}/` };
}

/** The channel's default :authority for an etcd target: the last segment of the service name. */
export function etcdDefaultAuthority(target: grpc.experimental.GrpcUri): string {
  const segments = target.path.replace(/\/+$/, '').split('/');
  return segments[segments.length - 1] || target.path;
}
