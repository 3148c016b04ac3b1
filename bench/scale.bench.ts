// Scale: what a resolver push costs the event loop at N = 100 … 20,000 endpoints, measured at the
// layer the channel calls: the whole synchronous `updateAddressList` of the policy (through
// grpc-js's ChildLoadBalancerHandler, as a channel hosts it), for the first list, a list with one
// endpoint replaced, and the same list again (fresh objects, as a resolver parses them); the
// largest event-loop delay over those pushes; our ring build alone; consistent_hash (each
// algorithm) against grpc-js round_robin and pick_first in the same run. Subchannels are stubs
// that never connect, so the figures are the policies' own work. Then a real channel resolving a
// 20,000-entry Consul answer (served by a child process): the longest event-loop stall from
// channel creation until the policy has the list.
// Run: npm run bench:scale
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { register } from '../src';
import { createRingBuilder, type RingAlgorithm } from '../src/rings';
import { median, printTable, type Row, writeResults } from './support/table';

type Endpoint = grpc.experimental.Endpoint;
type Listener = grpc.experimental.ConnectivityStateListener;
type SubchannelInterface = grpc.experimental.SubchannelInterface;

const SIZES = [100, 1000, 5000, 10000, 20000] as const;
const ALGORITHMS: readonly RingAlgorithm[] = ['ketama', 'ring_hash', 'maglev'];
const POLICIES: readonly { name: string; config: object; algorithm?: RingAlgorithm }[] = [
  ...ALGORITHMS.map((algorithm) => ({
    name: `consistent_hash ${algorithm}`,
    config: { consistent_hash: { algorithm } },
    algorithm,
  })),
  { name: 'round_robin', config: { round_robin: {} } },
  { name: 'pick_first', config: { pick_first: {} } },
];
/** Pushes per measured case; fewer at the largest sizes, and fewer still for a slow policy. */
const rounds = (n: number, firstMs: number) => (firstMs > 500 ? 3 : n >= 10000 ? 5 : 9);
const CONSUL_SIZES = [10000, 20000] as const;

/** A subchannel that stays IDLE: connecting is the network's work, not the policy's. */
class StubSubchannel implements SubchannelInterface {
  constructor(private readonly address: string) {}
  getConnectivityState(): grpc.connectivityState {
    return grpc.connectivityState.IDLE;
  }
  addConnectivityStateListener(_listener: Listener): void {}
  removeConnectivityStateListener(_listener: Listener): void {}
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

const helper: grpc.experimental.ChannelControlHelper = {
  createSubchannel: (address) => new StubSubchannel(grpc.experimental.subchannelAddressToString(address)),
  updateState: () => {},
  requestReresolution: () => {},
  addChannelzChild: () => {},
  removeChannelzChild: () => {},
};

/** Loopback-looking endpoint i (never dialled: the subchannels are stubs). */
function endpointAt(i: number, salt = 0): Endpoint {
  return { addresses: [{ host: `127.${1 + salt}.${(i >> 8) & 255}.${i & 255}`, port: 1 + (i >> 16) }] };
}

/** A fresh list of the n endpoints, with the first `replaced` ones swapped for others. */
function endpointList(n: number, replaced: number): Endpoint[] {
  const list: Endpoint[] = new Array(n);
  for (let i = 0; i < n; i++) list[i] = endpointAt(i, i < replaced ? 100 : 0);
  return list;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Measured {
  first: number;
  changed: number;
  same: number;
  maxDelay: number;
}

/** One policy at one size: each push in its own event-loop turn, timed synchronously. */
async function measurePolicy(config: object, n: number): Promise<Measured> {
  const handler = new grpc.experimental.ChildLoadBalancerHandler(helper);
  const lbConfig = grpc.experimental.parseLoadBalancingConfig(
    config as Parameters<typeof grpc.experimental.parseLoadBalancingConfig>[0],
  );
  const push = (list: Endpoint[]): number => {
    const started = performance.now();
    handler.updateAddressList(grpc.experimental.statusOrFromValue(list), lbConfig, {}, '');
    return performance.now() - started;
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await nextTurn();
  const first = push(endpointList(n, 0));
  const count = rounds(n, first);
  const changed: number[] = [];
  const same: number[] = [];
  for (let r = 1; r <= count; r++) {
    await nextTurn();
    changed.push(push(endpointList(n, r)));
    await nextTurn();
    same.push(push(endpointList(n, r)));
  }
  // Let work a policy deferred (connects on the next tick) show in the delay too.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  handler.destroy();
  return { first, changed: median(changed), same: median(same), maxDelay: delay.max / 1e6 };
}

/** Median ms of our ring build alone (fresh builder, the same members the policy sees). */
function ringBuildMs(algorithm: RingAlgorithm, n: number): number {
  const members = Array.from({ length: n }, (_, i) => ({
    id: grpc.experimental.subchannelAddressToString(endpointAt(i).addresses[0]!),
  }));
  const times: number[] = [];
  for (let r = 0; r < (n >= 10000 ? 3 : 5); r++) {
    const builder = createRingBuilder(algorithm);
    const started = performance.now();
    builder.build(members);
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Starts the Consul answer child; resolves with it and its host:port. */
function startConsulAnswer(count: number): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'support', 'consul-answer-server.ts'), String(count)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('Consul answer child did not start within 20 s'));
    }, 20_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, address: line.replace(/^listening /, '') });
    });
    child.once('exit', (code) => reject(new Error(`Consul answer child exited with ${code}`)));
  });
}

/**
 * A real channel with the Consul resolver and consistent_hash over `count` entries: the longest
 * event-loop delay and the wall time from channel creation until the policy has applied the list
 * (the channel leaves CONNECTING: with lazy connect every endpoint is IDLE).
 */
async function consulAnswer(
  agent: string,
  algorithm: RingAlgorithm,
): Promise<{ ms: number; maxDelay: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const channel = new grpc.Channel(`consul://${agent}/big?wait=1m`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ consistent_hash: { algorithm } }] }),
  });
  const { CONNECTING, IDLE } = grpc.connectivityState;
  channel.getConnectivityState(true);
  const deadline = Date.now() + 30_000;
  while (channel.getConnectivityState(false) !== IDLE || performance.now() - started < 1) {
    const state = channel.getConnectivityState(false);
    if (state !== CONNECTING && state !== IDLE)
      throw new Error(`channel went ${grpc.connectivityState[state]}`);
    await new Promise<void>((resolve, reject) =>
      channel.watchConnectivityState(state, deadline, (error) => (error ? reject(error) : resolve())),
    );
  }
  const ms = performance.now() - started;
  delay.disable();
  channel.close();
  return { ms, maxDelay: delay.max / 1e6 };
}

async function main(): Promise<void> {
  const started = performance.now();
  register();
  const rows: Row[] = [];
  for (const n of SIZES) {
    const results = new Map<string, Measured>();
    for (const policy of POLICIES) results.set(policy.name, await measurePolicy(policy.config, n));
    const roundRobin = results.get('round_robin')!;
    for (const policy of POLICIES) {
      const m = results.get(policy.name)!;
      const row: Row = {
        policy: policy.name,
        N: n,
        'first list ms': m.first,
        'one changed ms': m.changed,
        'same list ms': m.same,
        'max loop delay ms': m.maxDelay,
      };
      if (policy.algorithm) {
        const build = ringBuildMs(policy.algorithm, n);
        row['ring build ms'] = build;
        row['first / build'] = m.first / build;
        row['rr / ours, one changed'] = roundRobin.changed / m.changed;
        row['rr / ours, same list'] = roundRobin.same / m.same;
      }
      rows.push(row);
    }
    console.log(`N = ${n} done (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  printTable('updateAddressList (ms, median of pushes) and max event-loop delay', rows);

  const consulRows: Row[] = [];
  for (const count of CONSUL_SIZES) {
    const { child, address } = await startConsulAnswer(count);
    try {
      for (const algorithm of ALGORITHMS) {
        const r = await consulAnswer(address, algorithm);
        consulRows.push({
          algorithm,
          entries: count,
          'answer to channel ms': r.ms,
          'max loop delay ms': r.maxDelay,
        });
      }
    } finally {
      child.stdin!.end();
    }
  }
  printTable('Consul answer through a real channel (consul resolver + consistent_hash)', consulRows);
  const file = writeResults('scale', { updates: rows, consulAnswer: consulRows });
  console.log(`\nwrote ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
