import type { KubernetesClient, WatchEvent } from './client';
import type { EndpointSlice } from './endpoint-slices';
import { KubernetesError } from './errors';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Page size of a list: a service has one slice per 100 endpoints, so one page is the usual case. */
const LIST_PAGE_SIZE = 500;
/** A request before the first list must fail fast: calls fail within 5 s naming the cause. */
const FIRST_REQUEST_TIMEOUT_MS = 4000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Watches last 4–6 minutes (server side), so that a silently dead connection is noticed. */
const WATCH_SECONDS_MIN = 240;
const WATCH_SECONDS_SPREAD = 120;
/** The client's own deadline beyond the server's `timeoutSeconds`. */
const WATCH_DEADLINE_SLACK_MS = 30_000;

/** What one {@link EndpointSliceWatch.step} reports. */
export interface WatchHooks {
  /** The set of slices changed (after a list, or after a batch of watch events). */
  onChange(slices: Iterable<EndpointSlice>): void;
  /** A list succeeded or a watch was established: the API server is healthy (reset the backoff). */
  onProgress(): void;
}

/**
 * List-then-watch of one service's EndpointSlices (`discovery.k8s.io/v1`, label
 * `kubernetes.io/service-name`), holding ALL its slices by name. Each {@link step} lists when it
 * has no resourceVersion, then watches from the last one with bookmarks until the stream ends. A
 * 410 Gone (HTTP, or an ERROR event with code 410) drops the resourceVersion, so the next step
 * lists again; any other failure keeps it, so the next step watches on from where it was.
 * Scheduling (backoff, rate limit) is the caller's.
 */
export class EndpointSliceWatch {
  private readonly slices = new Map<string, EndpointSlice>();
  private resourceVersion: string | null = null;
  private listedOnce = false;
  private readonly selector: string;

  constructor(
    private readonly client: KubernetesClient,
    readonly namespace: string,
    readonly service: string,
    private readonly random: () => number = Math.random,
  ) {
    this.selector = `${SERVICE_NAME_LABEL}=${service}`;
  }

  /** `kubernetes.io/service-name=<service>`, for messages. */
  get labelSelector(): string {
    return this.selector;
  }

  /** Whether a list has succeeded (since construction). */
  get hasListed(): boolean {
    return this.listedOnce;
  }

  /** One list (if needed) and one watch. Resolves when the watch ends or after a 410; rejects on failures. */
  async step(hooks: WatchHooks, signal: AbortSignal): Promise<void> {
    if (this.resourceVersion === null) {
      await this.list(signal);
      hooks.onProgress();
      hooks.onChange(this.slices.values());
    }
    try {
      await this.watch(hooks, signal);
    } catch (error) {
      if (error instanceof KubernetesError && error.gone) {
        this.resourceVersion = null;
        return;
      }
      throw error;
    }
  }

  private collectionPath(): string {
    return `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/endpointslices`;
  }

  private async list(signal: AbortSignal): Promise<void> {
    const items: EndpointSlice[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    const timeoutMs = this.listedOnce ? REQUEST_TIMEOUT_MS : FIRST_REQUEST_TIMEOUT_MS;
    do {
      const params = new URLSearchParams({ labelSelector: this.selector, limit: String(LIST_PAGE_SIZE) });
      if (continueToken !== undefined) params.set('continue', continueToken);
      let body: unknown;
      try {
        body = await this.client.getJson(`${this.collectionPath()}?${params}`, { timeoutMs, signal });
      } catch (error) {
        // An expired continue token: start the list over.
        if (error instanceof KubernetesError && error.gone && continueToken !== undefined) {
          items.length = 0;
          continueToken = undefined;
          continue;
        }
        throw error;
      }
      const list = body as {
        items?: unknown;
        metadata?: { resourceVersion?: unknown; continue?: unknown };
      } | null;
      if (list === null || typeof list !== 'object' || !Array.isArray(list.items)) {
        throw new KubernetesError(
          `${this.client.serverText}: the EndpointSlice list has no items array`,
          undefined,
          'malformed',
        );
      }
      for (const item of list.items) items.push(checkSlice(item, 'list'));
      const rv = list.metadata?.resourceVersion;
      if (typeof rv !== 'string' || rv === '') {
        throw new KubernetesError(
          `${this.client.serverText}: the EndpointSlice list has no resourceVersion`,
          undefined,
          'malformed',
        );
      }
      resourceVersion = rv;
      const next = list.metadata?.continue;
      continueToken = typeof next === 'string' && next !== '' ? next : undefined;
    } while (continueToken !== undefined);
    this.slices.clear();
    for (const slice of items) this.slices.set(slice.metadata.name, slice);
    this.resourceVersion = resourceVersion!;
    this.listedOnce = true;
  }

  private async watch(hooks: WatchHooks, signal: AbortSignal): Promise<void> {
    const timeoutSeconds = WATCH_SECONDS_MIN + Math.floor(this.random() * WATCH_SECONDS_SPREAD);
    const params = new URLSearchParams({
      labelSelector: this.selector,
      watch: '1',
      resourceVersion: this.resourceVersion!,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    await this.client.watch(`${this.collectionPath()}?${params}`, {
      headersTimeoutMs: REQUEST_TIMEOUT_MS,
      deadlineMs: timeoutSeconds * 1000 + WATCH_DEADLINE_SLACK_MS,
      signal,
      onOpen: () => hooks.onProgress(),
      onEvents: (events) => {
        let changed = false;
        try {
          for (const event of events) changed = this.apply(event) || changed;
        } finally {
          // Events applied before a bad one are kept (the resourceVersion moved past them).
          if (changed) hooks.onChange(this.slices.values());
        }
      },
    });
  }

  /** Applies one event; returns whether the set of slices changed. */
  private apply(event: WatchEvent): boolean {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: unknown; message?: unknown; reason?: unknown };
      const code = typeof status.code === 'number' ? status.code : undefined;
      const message =
        typeof status.message === 'string' ? status.message : String(status.reason ?? 'unknown');
      throw new KubernetesError(
        `${this.client.serverText}: watch ERROR event${code !== undefined ? ` ${code}` : ''}: ${message}`,
        code,
        'status',
      );
    }
    const object = event.object as { metadata?: { resourceVersion?: unknown } };
    const rv = object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
      return false;
    }
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') {
      throw new KubernetesError(
        `${this.client.serverText}: unknown watch event type "${event.type}"`,
        undefined,
        'malformed',
      );
    }
    const slice = checkSlice(event.object, `${event.type} event`);
    if (slice.metadata.resourceVersion !== undefined) this.resourceVersion = slice.metadata.resourceVersion;
    if (event.type === 'DELETED') return this.slices.delete(slice.metadata.name);
    this.slices.set(slice.metadata.name, slice);
    return true;
  }
}

/** Checks the fields discovery relies on; a malformed object is a failed answer, not a silent gap. */
function checkSlice(value: unknown, where: string): EndpointSlice {
  const slice = value as EndpointSlice | null;
  const name = slice?.metadata?.name;
  if (slice === null || typeof slice !== 'object' || typeof name !== 'string' || name === '') {
    throw new KubernetesError(
      `malformed EndpointSlice in the ${where}: no metadata.name`,
      undefined,
      'malformed',
    );
  }
  if (typeof slice.addressType !== 'string') {
    throw new KubernetesError(
      `malformed EndpointSlice ${name} in the ${where}: no addressType`,
      undefined,
      'malformed',
    );
  }
  if (slice.endpoints !== undefined && slice.endpoints !== null && !Array.isArray(slice.endpoints)) {
    throw new KubernetesError(
      `malformed EndpointSlice ${name} in the ${where}: endpoints is not a list`,
      undefined,
      'malformed',
    );
  }
  if (slice.ports !== undefined && slice.ports !== null && !Array.isArray(slice.ports)) {
    throw new KubernetesError(
      `malformed EndpointSlice ${name} in the ${where}: ports is not a list`,
      undefined,
      'malformed',
    );
  }
  return slice;
}
