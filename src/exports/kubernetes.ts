/**
 * `grpc-consistent-hash/kubernetes`: the Kubernetes API. The `kubernetes:` resolver itself is
 * registered by the main entry's `register()`; this entry point holds what a program calls
 * directly: target parsing, the resolver's channel options, and the EndpointSlice-to-endpoint rules.
 * @module
 */

export { KubernetesClient, type WatchEvent } from '../kubernetes/client';
export { type KubernetesConnection, loadKubernetesConnection } from '../kubernetes/connection';
export { EndpointSliceWatch, SERVICE_NAME_LABEL } from '../kubernetes/endpoint-slice-watch';
export {
  buildKubernetesEndpoints,
  type EndpointIdentity,
  type EndpointSlice,
  type KubernetesEndpoint,
  type PortSelector,
} from '../kubernetes/endpoint-slices';
export { KubernetesError } from '../kubernetes/errors';
export { registerKubernetesResolver } from '../resolvers/kubernetes/index';
export { KubernetesResolver } from '../resolvers/kubernetes/resolver';
export {
  KUBERNETES_IDENTITY_OPTION,
  KUBERNETES_KUBECONFIG_OPTION,
  KUBERNETES_SCHEME,
  type KubernetesTarget,
  parseKubernetesTarget,
} from '../resolvers/kubernetes/target';
