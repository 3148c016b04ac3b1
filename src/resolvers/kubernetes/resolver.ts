import * as grpc from '@grpc/grpc-js';
import { KubernetesClient } from '../../kubernetes/client';
import { type KubernetesConnection, loadKubernetesConnection } from '../../kubernetes/connection';
import { EndpointSliceWatch } from '../../kubernetes/endpoint-slice-watch';
import {
  buildKubernetesEndpoints,
  type EndpointIdentity,
  type EndpointSlice,
} from '../../kubernetes/endpoint-slices';
import { KubernetesError } from '../../kubernetes/errors';
import type {
  LifecycleSchedule,
  RegistryAnswer,
  ResolverAdapter,
  WatchHandle,
  WatchSink,
} from '../shared/adapter';
import { LifecycleResolver } from '../shared/lifecycle';
import { ResolverError, type ResolverErrorCode } from '../shared/resolver-error';
import {
  KUBERNETES_IDENTITY_OPTION,
  KUBERNETES_KUBECONFIG_OPTION,
  type KubernetesTarget,
  kubernetesDefaultAuthority,
  parseKubernetesTarget,
} from './target';

/**
 * Backoff from ~1 s to ~30 s with jitter, reset by a successful list or watch; at most one request
 * per second in the long run, three at once: a flapping API server cannot cause a storm.
 */
const SCHEDULE: LifecycleSchedule = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  requestsPerSecond: 1,
  burst: 3,
};

const CODES: Record<KubernetesError['kind'], ResolverErrorCode> = {
  transport: 'UNREACHABLE',
  status: 'REJECTED',
  malformed: 'MALFORMED_ANSWER',
  config: 'REJECTED',
};

/** A hint for the statuses a user can fix. */
function hintFor(error: KubernetesError, namespace: string): string {
  switch (error.status) {
    case 401:
      return ' (the API server rejected the credentials: check the kubeconfig user, or the service-account token)';
    case 403:
      return ` (grant get, list and watch on endpointslices in API group discovery.k8s.io in namespace "${namespace}" with a Role and RoleBinding)`;
    case 404:
      return ' (the API server does not serve discovery.k8s.io/v1: Kubernetes 1.21 or later is needed)';
    default:
      return '';
  }
}

/** The `kubernetes:` adapter: list, then watch, the service's EndpointSlices. */
class KubernetesAdapter implements ResolverAdapter {
  readonly component = 'kubernetes_resolver';
  readonly schedule = SCHEDULE;
  private readonly parsed: KubernetesTarget;
  private readonly identity: EndpointIdentity;
  private readonly connection: KubernetesConnection;
  private readonly namespace: string;
  private client: KubernetesClient | null = null;
  private slices: EndpointSliceWatch | null = null;

  constructor(
    readonly target: string,
    uri: grpc.experimental.GrpcUri,
    options: grpc.ChannelOptions,
  ) {
    this.parsed = parseKubernetesTarget(uri);
    const identity = options[KUBERNETES_IDENTITY_OPTION] ?? 'pod';
    if (identity !== 'pod' && identity !== 'address') {
      throw new ResolverError(
        'INVALID_TARGET',
        target,
        `channel option "${KUBERNETES_IDENTITY_OPTION}" must be "pod" or "address", got ${JSON.stringify(identity)}`,
      );
    }
    this.identity = identity;
    const kubeconfigPath = options[KUBERNETES_KUBECONFIG_OPTION] as unknown;
    if (kubeconfigPath !== undefined && (typeof kubeconfigPath !== 'string' || kubeconfigPath === '')) {
      throw new ResolverError(
        'INVALID_TARGET',
        target,
        `channel option "${KUBERNETES_KUBECONFIG_OPTION}" must be a file path`,
      );
    }
    this.connection = loadKubernetesConnection(kubeconfigPath === undefined ? {} : { kubeconfigPath });
    this.namespace = this.parsed.namespace ?? this.connection.namespace ?? 'default';
  }

  open(): void {
    this.client = new KubernetesClient(this.connection);
    this.slices = new EndpointSliceWatch(this.client, this.namespace, this.parsed.service);
  }

  close(): void {
    this.client?.close();
    this.client = null;
    this.slices = null;
  }

  watch(sink: WatchSink): WatchHandle {
    const slices = this.slices!;
    const controller = new AbortController();
    const where = `service "${slices.service}" in namespace "${slices.namespace}"`;
    slices
      .step(
        {
          onProgress: () => sink.healthy(),
          onChange: (current) => sink.update(this.answer(current)),
        },
        controller.signal,
      )
      .then(
        () => sink.end(new Error('watch ended'), true),
        (error: unknown) => {
          if (!(error instanceof KubernetesError)) {
            sink.end(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          const reason = `EndpointSlices of ${where}: ${error.message}${hintFor(error, slices.namespace)}`;
          sink.end(new ResolverError(CODES[error.kind], this.target, reason, { cause: error }));
        },
      );
    return { close: () => controller.abort() };
  }

  private answer(current: Iterable<EndpointSlice>): RegistryAnswer {
    const slices = this.slices!;
    const label = `${slices.labelSelector} in namespace "${slices.namespace}"`;
    const built = buildKubernetesEndpoints(current, this.parsed.port, this.identity, label);
    return {
      endpoints: built.endpoints,
      ...(built.emptyReason !== null && { emptyReason: built.emptyReason }),
      note: `kubernetes service "${slices.service}" in namespace "${slices.namespace}": ${built.endpoints.length} endpoint(s)${built.skipped.length > 0 ? `; skipped ${built.skipped.join('; ')}` : ''}`,
    };
  }
}

/**
 * grpc-js resolver for `kubernetes:` targets: lists and watches the service's EndpointSlices and
 * pushes the merged endpoint list, keyed by pod name, whenever it changes. Built on the shared
 * resolver lifecycle.
 */
export class KubernetesResolver extends LifecycleResolver {
  constructor(
    uri: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
  ) {
    const text = grpc.experimental.uriToString(uri);
    super(text, listener, () => new KubernetesAdapter(text, uri, channelOptions));
  }

  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return kubernetesDefaultAuthority(target);
  }
}
