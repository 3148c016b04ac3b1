import * as grpc from '@grpc/grpc-js';
import type { DiscoveredEndpoint } from '../../src/endpoint';

const SCHEME = 'test-controlled';

/** A resolver a test drives by hand: `push()` sends an endpoint list (or an error) to the channel. */
export interface ResolverController {
  /** The channel target, `test-controlled:///<name>`. */
  readonly target: string;
  /** Sends endpoints to the channel (now, if it has a resolver, else when it creates one). */
  push(endpoints: DiscoveredEndpoint[] | grpc.StatusObject): void;
  /** Number of `updateResolution()` calls seen, i.e. re-resolution requests. */
  readonly resolutionRequests: number;
}

interface State {
  latest: DiscoveredEndpoint[] | grpc.StatusObject | null;
  listeners: Set<grpc.experimental.ResolverListener>;
  resolutionRequests: number;
}

const states = new Map<string, State>();
let registered = false;
let counter = 0;

class ControlledResolver implements grpc.experimental.Resolver {
  private readonly state: State;
  constructor(
    target: grpc.experimental.GrpcUri,
    private readonly listener: grpc.experimental.ResolverListener,
  ) {
    const state = states.get(target.path);
    if (!state) throw new Error(`no controlled resolver named ${target.path}`);
    this.state = state;
    state.listeners.add(listener);
  }
  updateResolution(): void {
    this.state.resolutionRequests++;
    const latest = this.state.latest;
    if (latest !== null) setImmediate(() => deliver(this.listener, latest));
  }
  destroy(): void {
    this.state.listeners.delete(this.listener);
  }
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return target.path;
  }
}

function deliver(
  listener: grpc.experimental.ResolverListener,
  value: DiscoveredEndpoint[] | grpc.StatusObject,
): void {
  if (Array.isArray(value)) listener(grpc.experimental.statusOrFromValue(value), {}, null, 'test');
  else listener(grpc.experimental.statusOrFromError(value), {}, null, 'test');
}

/** Creates a controlled resolver with a fresh name. */
export function createControlledResolver(
  initial: DiscoveredEndpoint[] | grpc.StatusObject | null = null,
): ResolverController {
  if (!registered) {
    grpc.experimental.registerResolver(SCHEME, ControlledResolver);
    registered = true;
  }
  const name = `r${++counter}`;
  const state: State = { latest: initial, listeners: new Set(), resolutionRequests: 0 };
  states.set(name, state);
  return {
    target: `${SCHEME}:///${name}`,
    push(value) {
      state.latest = value;
      for (const listener of state.listeners) setImmediate(() => deliver(listener, value));
    },
    get resolutionRequests() {
      return state.resolutionRequests;
    },
  };
}

/** An endpoint for a loopback `host:port` address, with optional extra properties. */
export function endpointOf(address: string, extra: Partial<DiscoveredEndpoint> = {}): DiscoveredEndpoint {
  const colon = address.lastIndexOf(':');
  return { addresses: [{ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }], ...extra };
}
