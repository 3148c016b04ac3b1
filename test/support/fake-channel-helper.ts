import * as grpc from '@grpc/grpc-js';
import { ringBuildsInProgress } from '../../src/balancer/load-balancer';

const { IDLE, CONNECTING, READY } = grpc.connectivityState;
type Listener = Parameters<grpc.experimental.SubchannelInterface['addConnectivityStateListener']>[0];

/**
 * A subchannel without a network: `startConnecting()` goes CONNECTING then, on the next
 * turn of the event loop, READY (or whatever `connectTo` says).
 */
export class FakeSubchannel implements grpc.experimental.SubchannelInterface {
  private state = IDLE;
  private readonly listeners = new Set<Listener>();
  refs = 0;
  connectTo: grpc.connectivityState = READY;

  constructor(readonly address: string) {}

  getConnectivityState(): grpc.connectivityState {
    return this.state;
  }
  addConnectivityStateListener(listener: Listener): void {
    this.listeners.add(listener);
  }
  removeConnectivityStateListener(listener: Listener): void {
    this.listeners.delete(listener);
  }
  startConnecting(): void {
    if (this.state !== IDLE) return;
    this.setState(CONNECTING);
    setImmediate(() => {
      if (this.state === CONNECTING) this.setState(this.connectTo, 'fake connection refused');
    });
  }
  setState(state: grpc.connectivityState, error?: string): void {
    const previous = this.state;
    this.state = state;
    for (const listener of [...this.listeners]) listener(this, previous, state, 0, error);
  }
  getAddress(): string {
    return this.address;
  }
  throttleKeepalive(): void {}
  ref(): void {
    this.refs++;
  }
  unref(): void {
    this.refs--;
  }
  getChannelzRef() {
    return { kind: 'subchannel', id: 0, name: this.address } as ReturnType<
      grpc.experimental.SubchannelInterface['getChannelzRef']
    >;
  }
  isHealthy(): boolean {
    return true;
  }
  addHealthStateWatcher(): void {}
  removeHealthStateWatcher(): void {}
  addDataWatcher(): void {}
  getRealSubchannel(): never {
    throw new Error('FakeSubchannel has no real subchannel');
  }
  realSubchannelEquals(other: grpc.experimental.SubchannelInterface): boolean {
    return other === this;
  }
  getCallCredentials(): grpc.CallCredentials {
    return grpc.credentials.createEmpty();
  }
  getChannel(): never {
    throw new Error('FakeSubchannel has no channel');
  }
}

/** A `ChannelControlHelper` that records what a policy does, with {@link FakeSubchannel}s. */
export class FakeChannelHelper implements grpc.experimental.ChannelControlHelper {
  readonly subchannels: FakeSubchannel[] = [];
  state: grpc.connectivityState = IDLE;
  picker: grpc.experimental.Picker | null = null;
  errorMessage: string | null = null;
  updates = 0;
  reresolutionRequests = 0;

  createSubchannel(address: grpc.experimental.SubchannelAddress): grpc.experimental.SubchannelInterface {
    const sub = new FakeSubchannel(grpc.experimental.subchannelAddressToString(address));
    this.subchannels.push(sub);
    return sub;
  }
  updateState(
    state: grpc.connectivityState,
    picker: grpc.experimental.Picker,
    errorMessage: string | null,
  ): void {
    this.state = state;
    this.picker = picker;
    this.errorMessage = errorMessage;
    this.updates++;
  }
  requestReresolution(): void {
    this.reresolutionRequests++;
  }
  addChannelzChild(): void {}
  removeChannelzChild(): void {}

  /** Picks with the latest picker; throws if the policy has not produced one. */
  pick(metadata: grpc.Metadata): grpc.experimental.PickResult {
    if (this.picker === null) throw new Error('no picker yet');
    return this.picker.pick({ metadata, extraPickInfo: {} });
  }
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Waits, one event-loop iteration at a time, until no policy has a ring build running across
 * turns; returns the iterations it waited.
 */
export async function ringBuildsDone(): Promise<number> {
  let turns = 0;
  while (ringBuildsInProgress() > 0) {
    if (++turns > 10_000) throw new Error('a ring build never finished');
    await nextTurn();
  }
  return turns;
}

/**
 * Waits until every pending `setImmediate`/`nextTick` callback queued so far has run, and until no
 * policy has a ring build running across event-loop turns (a large or slow build continues there).
 */
export async function flushEvents(turns = 3): Promise<void> {
  await ringBuildsDone();
  for (let i = 0; i < turns; i++) await nextTurn();
}
