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
import { trace } from '../../trace';
import { ExponentialBackoff } from '../shared/backoff';
import { EndpointListPublisher } from '../shared/endpoint-publisher';
import { TokenBucket } from '../shared/token-bucket';
import {
  KUBERNETES_IDENTITY_OPTION,
  KUBERNETES_KUBECONFIG_OPTION,
  type KubernetesTarget,
  kubernetesDefaultAuthority,
  parseKubernetesTarget,
} from './target';

const COMPONENT = 'kubernetes_resolver';
/** At most one request per second in the long run, three at once: a flapping API server cannot cause a storm. */
const REQUESTS_PER_SECOND = 1;
const REQUEST_BURST = 3;

interface Settings {
  target: KubernetesTarget;
  identity: EndpointIdentity;
  kubeconfigPath: string | undefined;
}

function readSettings(uri: grpc.experimental.GrpcUri, options: grpc.ChannelOptions): Settings {
  const target = parseKubernetesTarget(uri);
  const identity = options[KUBERNETES_IDENTITY_OPTION] ?? 'pod';
  if (identity !== 'pod' && identity !== 'address') {
    throw new Error(
      `channel option "${KUBERNETES_IDENTITY_OPTION}" must be "pod" or "address", got ${JSON.stringify(identity)}`,
    );
  }
  const kubeconfigPath = options[KUBERNETES_KUBECONFIG_OPTION];
  if (kubeconfigPath !== undefined && (typeof kubeconfigPath !== 'string' || kubeconfigPath === '')) {
    throw new Error(`channel option "${KUBERNETES_KUBECONFIG_OPTION}" must be a file path`);
  }
  return { target, identity, kubeconfigPath };
}

/** A hint for the statuses a user can fix. */
function hintFor(error: unknown, namespace: string): string {
  if (!(error instanceof KubernetesError)) return '';
  if (error.status === 401) {
    return ' (the API server rejected the credentials: check the kubeconfig user, or the service-account token)';
  }
  if (error.status === 403) {
    return ` (grant get, list and watch on endpointslices in API group discovery.k8s.io in namespace "${namespace}" with a Role and RoleBinding)`;
  }
  if (error.status === 404)
    return ' (the API server does not serve discovery.k8s.io/v1: Kubernetes 1.21 or later is needed)';
  return '';
}

/**
 * grpc-js resolver for `kubernetes:` targets: lists and watches the service's EndpointSlices and
 * pushes the merged endpoint list, keyed by pod name, whenever it changes.
 */
export class KubernetesResolver implements grpc.experimental.Resolver {
  private readonly publisher: EndpointListPublisher;
  private readonly targetText: string;
  private settings: Settings | null = null;
  private settingsError: string | null = null;
  private running = false;
  private generation = 0;
  private client: KubernetesClient | null = null;
  private watch: EndpointSliceWatch | null = null;
  private backoff: ExponentialBackoff | null = null;
  private bucket: TokenBucket | null = null;
  private controller: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waitingAfterError = false;

  constructor(
    uri: grpc.experimental.GrpcUri,
    listener: grpc.experimental.ResolverListener,
    channelOptions: grpc.ChannelOptions,
  ) {
    this.publisher = new EndpointListPublisher(listener);
    this.targetText = grpc.experimental.uriToString(uri);
    try {
      this.settings = readSettings(uri, channelOptions);
    } catch (error) {
      this.settingsError = (error as Error).message;
    }
  }

  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return kubernetesDefaultAuthority(target);
  }

  updateResolution(): void {
    if (!this.running) {
      this.start();
      return;
    }
    if (this.waitingAfterError && this.timer !== null && this.bucket !== null) {
      // The channel asks again after a failure: retry early, still within the rate limit.
      clearTimeout(this.timer);
      this.timer = null;
      this.schedule(this.bucket.delayUntilAvailable(), false);
    }
  }

  destroy(): void {
    trace(COMPONENT, `${this.targetText}: destroyed`);
    this.running = false;
    this.generation++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
    this.client?.close();
    this.client = null;
    this.watch = null;
    this.publisher.forget();
  }

  private start(): void {
    this.running = true;
    this.generation++;
    const generation = this.generation;
    let connection: KubernetesConnection;
    try {
      if (this.settings === null) throw new Error(this.settingsError!);
      connection = loadKubernetesConnection(
        this.settings.kubeconfigPath !== undefined ? { kubeconfigPath: this.settings.kubeconfigPath } : {},
      );
    } catch (error) {
      const message = `${this.targetText}: ${(error as Error).message}`;
      // Never call the listener synchronously from updateResolution().
      process.nextTick(() => {
        if (generation === this.generation) this.publisher.fail(message, message);
      });
      return;
    }
    const { target } = this.settings;
    const namespace = target.namespace ?? connection.namespace ?? 'default';
    this.client = new KubernetesClient(connection);
    this.watch = new EndpointSliceWatch(this.client, namespace, target.service);
    this.backoff = new ExponentialBackoff({ initialMs: 1000, maxMs: 30_000 });
    this.bucket = new TokenBucket(REQUESTS_PER_SECOND, REQUEST_BURST);
    trace(
      COMPONENT,
      `${this.targetText}: watching EndpointSlices of service "${target.service}" in namespace "${namespace}" at ${connection.server.origin} (${connection.source})`,
    );
    this.schedule(0, false);
  }

  private schedule(delayMs: number, afterError: boolean): void {
    const generation = this.generation;
    this.waitingAfterError = afterError;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.waitingAfterError = false;
      if (generation !== this.generation) return;
      const wait = this.bucket!.reserve();
      if (wait === 0) {
        this.step();
        return;
      }
      trace(COMPONENT, `${this.targetText}: rate limit: next request in ${wait} ms`);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (generation === this.generation) this.step();
      }, wait);
      this.timer.unref();
    }, delayMs);
    this.timer.unref();
  }

  private step(): void {
    const generation = this.generation;
    const watch = this.watch!;
    const controller = new AbortController();
    this.controller = controller;
    watch
      .step(
        {
          onProgress: () => {
            if (generation === this.generation) this.backoff!.reset();
          },
          onChange: (slices) => {
            if (generation === this.generation) this.publish(slices);
          },
        },
        controller.signal,
      )
      .then(
        () => {
          if (generation !== this.generation) return;
          this.controller = null;
          this.schedule(0, false);
        },
        (error: unknown) => {
          if (generation !== this.generation) return;
          this.controller = null;
          this.onFailure(error);
        },
      );
  }

  private publish(slices: Iterable<EndpointSlice>): void {
    const settings = this.settings!;
    const watch = this.watch!;
    const label = `${watch.labelSelector} in namespace "${watch.namespace}"`;
    const built = buildKubernetesEndpoints(slices, settings.target.port, settings.identity, label);
    for (const reason of built.skipped) trace(COMPONENT, `${this.targetText}: skipped ${reason}`);
    if (built.emptyReason !== null) {
      // The registry's own answer (no slices, none ready, no such port), not an outage: calls fail
      // with the reason instead of going to endpoints that are gone.
      const message = `${this.targetText}: ${built.emptyReason}`;
      trace(COMPONENT, message);
      this.publisher.fail(message, message);
      return;
    }
    const note = `kubernetes service "${watch.service}" in namespace "${watch.namespace}": ${built.endpoints.length} endpoint(s)`;
    if (this.publisher.push(built.endpoints, note))
      trace(COMPONENT, `${this.targetText}: pushed ${built.endpoints.length} endpoint(s)`);
  }

  private onFailure(error: unknown): void {
    const watch = this.watch!;
    const delay = this.backoff!.next();
    const cause = error instanceof Error ? error.message : String(error);
    const message = `${this.targetText}: watching EndpointSlices of service "${watch.service}" in namespace "${watch.namespace}" failed: ${cause}${hintFor(error, watch.namespace)}`;
    trace(COMPONENT, `${message}; retrying in ${delay} ms`);
    // Before the first list calls fail fast, naming the cause; after it the last good list stays.
    if (!watch.hasListed) this.publisher.fail(message, message);
    this.schedule(delay, true);
  }
}
