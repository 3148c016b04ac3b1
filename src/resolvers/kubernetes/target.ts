import type * as grpc from '@grpc/grpc-js';
import type { PortSelector } from '../../kubernetes/endpoint-slices';
import { ResolverError } from '../shared/resolver-error';

/** URI scheme of the Kubernetes resolver. */
export const KUBERNETES_SCHEME = 'kubernetes';

/**
 * Channel option: `'address'` makes each endpoint's ring identity its `IP:port` instead of its pod
 * name (default `'pod'`: a pod keeps its keys when it restarts with a new IP).
 */
export const KUBERNETES_IDENTITY_OPTION = 'grpc-consistent-hash.kubernetes.identity';
/** Channel option: a kubeconfig file to use instead of `KUBECONFIG`, the pod's service account or `~/.kube/config`. */
export const KUBERNETES_KUBECONFIG_OPTION = 'grpc-consistent-hash.kubernetes.kubeconfig';

/** A parsed Kubernetes target. */
export interface KubernetesTarget {
  readonly service: string;
  /** Undefined: the pod's namespace, else the kubeconfig context's, else `default`. */
  readonly namespace: string | undefined;
  /** A port number or name; `{kind: 'only'}` when the target names none (the service must have one port). */
  readonly port: PortSelector;
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const FORMS =
  'kubernetes:///<service>[.<namespace>][:<port>] or kubernetes://<namespace>/<service>[:<port>], <port> a number or a port name';

/**
 * Parses a `kubernetes:` target, as kuberesolver writes them:
 * - `kubernetes:///<service>.<namespace>:<port>` (also `<service>.<namespace>.svc[.<cluster-domain>]`),
 * - `kubernetes:///<service>:<port>` (the namespace comes from the pod or the kubeconfig context),
 * - `kubernetes://<namespace>/<service>:<port>`.
 *
 * `<port>` is a port number or a port name of the service's EndpointSlices; without it the service
 * must have exactly one port.
 * @throws ResolverError (code `INVALID_TARGET`) naming the bad part.
 */
export function parseKubernetesTarget(target: string | grpc.experimental.GrpcUri): KubernetesTarget {
  let authority: string | undefined;
  let path: string;
  let text: string;
  if (typeof target === 'string') {
    text = target;
    const match = /^(?:([A-Za-z0-9+.-]+):)?(?:\/\/([^/]*)\/)?(.*)$/.exec(target)!;
    if (match[1] !== undefined && match[1].toLowerCase() !== KUBERNETES_SCHEME) {
      throw new ResolverError('INVALID_TARGET', text, `the scheme must be "${KUBERNETES_SCHEME}"`);
    }
    authority = match[2];
    path = match[3]!;
  } else {
    authority = target.authority;
    path = target.path;
    text = `${KUBERNETES_SCHEME}://${authority ?? ''}/${path}`;
  }
  const fail = (why: string): never => {
    throw new ResolverError('INVALID_TARGET', text, `${why} (expected ${FORMS})`);
  };
  if (path === '') fail('no service');
  if (/[/?#@\s]/.test(path)) fail(`"${path}" is not <service>[.<namespace>][:<port>]`);
  const colon = path.lastIndexOf(':');
  const hostPart = colon < 0 ? path : path.slice(0, colon);
  const portText = colon < 0 ? undefined : path.slice(colon + 1);
  const labels = hostPart.split('.');
  const service = labels[0]!;
  let namespace: string | undefined;
  if (labels.length > 1) {
    namespace = labels[1]!;
    if (labels.length > 2 && labels[2] !== 'svc') {
      fail(
        `"${hostPart}" has too many dots: after <service>.<namespace> only ".svc[.<cluster-domain>]" may follow`,
      );
    }
  }
  if (authority !== undefined && authority !== '') {
    if (namespace !== undefined) fail(`the namespace is given twice ("${authority}" and "${namespace}")`);
    namespace = authority;
  }
  if (service === '') fail('no service');
  if (service.length > 63 || !DNS_1035_LABEL.test(service)) {
    fail(
      `"${service}" is not a Service name (lowercase letters, digits and "-", starting with a letter, at most 63)`,
    );
  }
  if (namespace !== undefined && (namespace.length > 63 || !DNS_1123_LABEL.test(namespace))) {
    fail(`"${namespace}" is not a namespace name (lowercase letters, digits and "-", at most 63)`);
  }
  return { service, namespace, port: parsePort(portText, fail) };
}

function parsePort(text: string | undefined, fail: (why: string) => never): PortSelector {
  if (text === undefined) return { kind: 'only' };
  if (text === '') fail('the port after ":" is empty');
  if (/^\d+$/.test(text!)) {
    const port = Number(text);
    if (port < 1 || port > 65535) fail(`port ${text} is not in 1-65535`);
    return { kind: 'number', port };
  }
  const name = text!;
  if (name.length > 15 || !PORT_NAME.test(name) || name.includes('--') || !/[a-z]/.test(name)) {
    fail(
      `"${name}" is neither a port number nor a port name (lowercase letters, digits and "-", at most 15)`,
    );
  }
  return { kind: 'name', name };
}

/**
 * The channel's default :authority: `<service>[.<namespace>]` as written, with the port when it is
 * a number. A port name cannot be in an authority (grpc-js builds a URL from it).
 */
export function kubernetesDefaultAuthority(target: grpc.experimental.GrpcUri): string {
  const colon = target.path.lastIndexOf(':');
  let host = colon < 0 ? target.path : target.path.slice(0, colon);
  const port = colon < 0 ? '' : target.path.slice(colon + 1);
  if (target.authority) host = `${host}.${target.authority}`;
  return /^\d+$/.test(port) ? `${host}:${port}` : host;
}
