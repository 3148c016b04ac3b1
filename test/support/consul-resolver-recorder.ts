import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../src/endpoint';

/** One listener call a resolver made. */
export interface RecordedResolution {
  endpoints: DiscoveredEndpoint[] | null;
  error: { code: number; details: string } | null;
  attributes: unknown;
  note: string;
  /** True if the call happened while a synchronous section the test marked was running. */
  synchronous: boolean;
}

/** Records a resolver's listener calls and lets tests wait for them without sleeping. */
export class ResolutionRecorder extends EventEmitter {
  readonly results: RecordedResolution[] = [];
  /** Set around constructor/updateResolution calls to catch synchronous listener calls. */
  inSyncSection = false;

  readonly listener: grpc.experimental.ResolverListener = (
    endpointList,
    attributes,
    _serviceConfig,
    note,
  ) => {
    const result: RecordedResolution = {
      endpoints: endpointList.ok ? (endpointList.value as DiscoveredEndpoint[]) : null,
      error: endpointList.ok ? null : { code: endpointList.error.code, details: endpointList.error.details },
      attributes,
      note,
      synchronous: this.inSyncSection,
    };
    this.results.push(result);
    this.emit('result', result);
    return true;
  };

  /** Runs `fn` marked as a synchronous section. */
  sync<T>(fn: () => T): T {
    this.inSyncSection = true;
    try {
      return fn();
    } finally {
      this.inSyncSection = false;
    }
  }

  /** Waits for a result at position >= `from` matching `predicate`. */
  waitFor(
    predicate: (r: RecordedResolution) => boolean,
    what: string,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<RecordedResolution> {
    const found = this.results.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onResult = (r: RecordedResolution) => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.off('result', onResult);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off('result', onResult);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.results.slice(from))}`,
          ),
        );
      }, timeoutMs);
      this.on('result', onResult);
    });
  }
}

/** `host:port` of each endpoint, for assertions. */
export function addressesOf(endpoints: readonly DiscoveredEndpoint[] | null): string[] {
  return (endpoints ?? []).map((e) => {
    const a = e.addresses[0] as { host: string; port: number };
    return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  });
}
