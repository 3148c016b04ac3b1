import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../src/endpoint';
import { waitFor } from './hello-servers';

/** One call of a resolver listener. */
export interface RecordedUpdate {
  endpoints?: DiscoveredEndpoint[];
  error?: { code: number; details: string };
  note: string;
}

/** A resolver listener that records every call (and whether any came synchronously). */
export function recordingListener() {
  const updates: RecordedUpdate[] = [];
  const listener: grpc.experimental.ResolverListener = (endpointList, _attributes, _serviceConfig, note) => {
    if (endpointList.ok) updates.push({ endpoints: endpointList.value as DiscoveredEndpoint[], note });
    else
      updates.push({ error: { code: endpointList.error.code, details: endpointList.error.details }, note });
    return true;
  };
  return {
    listener,
    updates,
    last: (): RecordedUpdate | undefined => updates[updates.length - 1],
    /** Addresses of the last endpoint list pushed, sorted. */
    addresses: (): string[] | undefined => {
      for (let i = updates.length - 1; i >= 0; i--) {
        const endpoints = updates[i]!.endpoints;
        if (endpoints)
          return endpoints.map((e) => grpc.experimental.subchannelAddressToString(e.addresses[0]!)).sort();
      }
      return undefined;
    },
    /** Waits until the last pushed list has exactly these addresses. */
    async waitForAddresses(expected: string[], what: string, timeoutMs = 10_000): Promise<void> {
      const want = JSON.stringify([...expected].sort());
      await waitFor(() => JSON.stringify(this.addresses()) === want, `${what}: addresses ${want}`, timeoutMs);
    },
  };
}

/** A grpc-js GrpcUri for `etcd://authority/path`. */
export function etcdUri(authority: string, path: string): grpc.experimental.GrpcUri {
  return { scheme: 'etcd', authority, path };
}
