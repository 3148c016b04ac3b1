// Hosts a registered load-balancing policy outside a channel, with fake subchannels that are READY
// at once, so that a benchmark can call the policy's real picker directly (no deep imports).
import * as grpc from '@grpc/grpc-js';

type Picker = grpc.experimental.Picker;
type SubchannelInterface = grpc.experimental.SubchannelInterface;
type Listener = grpc.experimental.ConnectivityStateListener;
const { READY } = grpc.connectivityState;

/** A subchannel that is READY from the start; `startConnecting` reports READY to listeners. */
class ReadySubchannel implements SubchannelInterface {
  private readonly listeners = new Set<Listener>();
  constructor(private readonly address: string) {}
  getConnectivityState(): grpc.connectivityState {
    return READY;
  }
  addConnectivityStateListener(listener: Listener): void {
    this.listeners.add(listener);
  }
  removeConnectivityStateListener(listener: Listener): void {
    this.listeners.delete(listener);
  }
  startConnecting(): void {}
  getAddress(): string {
    return this.address;
  }
  throttleKeepalive(): void {}
  ref(): void {}
  unref(): void {}
  getChannelzRef(): ReturnType<SubchannelInterface['getChannelzRef']> {
    return { kind: 'subchannel', id: 0, name: this.address } as ReturnType<
      SubchannelInterface['getChannelzRef']
    >;
  }
  isHealthy(): boolean {
    return true;
  }
  addHealthStateWatcher(): void {}
  removeHealthStateWatcher(): void {}
  addDataWatcher(): void {}
  getRealSubchannel(): ReturnType<SubchannelInterface['getRealSubchannel']> {
    return this as unknown as ReturnType<SubchannelInterface['getRealSubchannel']>;
  }
  realSubchannelEquals(other: SubchannelInterface): boolean {
    return other === this;
  }
  getCallCredentials(): grpc.CallCredentials {
    return grpc.credentials.createEmpty();
  }
  getChannel(): ReturnType<SubchannelInterface['getChannel']> {
    throw new Error('not a real subchannel');
  }
}

/** A policy hosted in a `ChildLoadBalancerHandler`; `picker` is the latest one it reported. */
export interface HostedPolicy {
  readonly state: grpc.connectivityState;
  readonly picker: Picker;
  destroy(): void;
}

/** `count` loopback-looking endpoints (never dialled): 10.x.y.1:50051. */
export function benchEndpoints(count: number): grpc.experimental.Endpoint[] {
  return Array.from({ length: count }, (_, i) => ({
    addresses: [{ host: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 50051 }],
  }));
}

/**
 * Hosts the policy named by `lbConfig` (e.g. `{ round_robin: {} }`) over `endpoints`, then makes
 * every endpoint READY by picking with each of `warmPicks` until no pick queues (policies that
 * connect lazily, like ring_hash, connect an endpoint when a pick reaches it).
 */
export async function hostPolicy(
  lbConfig: object,
  endpoints: grpc.experimental.Endpoint[],
  warmPicks: readonly grpc.experimental.PickArgs[],
): Promise<HostedPolicy> {
  const latest: { state: grpc.connectivityState; picker: Picker | null } = {
    state: grpc.connectivityState.IDLE,
    picker: null,
  };
  const helper: grpc.experimental.ChannelControlHelper = {
    createSubchannel: (address) => new ReadySubchannel(grpc.experimental.subchannelAddressToString(address)),
    updateState: (state, picker) => {
      latest.state = state;
      latest.picker = picker;
    },
    requestReresolution: () => {},
    addChannelzChild: () => {},
    removeChannelzChild: () => {},
  };
  const handler = new grpc.experimental.ChildLoadBalancerHandler(helper);
  const config = grpc.experimental.parseLoadBalancingConfig(
    lbConfig as Parameters<typeof grpc.experimental.parseLoadBalancingConfig>[0],
  );
  handler.updateAddressList(grpc.experimental.statusOrFromValue(endpoints), config, {}, 'bench');
  const queue = grpc.experimental.PickResultType.QUEUE;
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; attempt < 3000 && Date.now() < deadline; attempt++) {
    // Policies may build asynchronously (grpc-js-xds instantiates its WebAssembly hash first) and
    // connect on a later tick.
    await new Promise((resolve) => setTimeout(resolve, attempt < 20 ? 0 : 5));
    const current = latest.picker;
    if (current === null) continue;
    let queued = 0;
    for (const args of warmPicks) if (current.pick(args).pickResultType === queue) queued++;
    if (queued === 0 && latest.state === READY) {
      return {
        get state() {
          return latest.state;
        },
        get picker() {
          return latest.picker!;
        },
        destroy: () => handler.destroy(),
      };
    }
  }
  throw new Error(`policy ${JSON.stringify(lbConfig)} did not become READY for every pick within 15 s`);
}
