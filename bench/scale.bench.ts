// Scale: what a resolver push costs the event loop at N = 100 … 20,000 endpoints, measured at the
// layer a resolver calls: the channel's resolver listener, which runs the policy's whole
// synchronous `updateAddressList` (and whatever the channel does around it), for the first list, a list with one
// endpoint replaced, and the same list again (fresh objects, as a resolver parses them); the
// largest event-loop delay over those pushes; our ring build alone; consistent_hash (each
// algorithm) against grpc-js round_robin and pick_first in the same run. Each policy runs in a real
// channel (real subchannels; the endpoints are closed loopback ports, so the connections
// round_robin and pick_first open are refused at once). Then a real channel resolving a
// 10,000- and a 20,000-entry Consul answer (served by a child process), and the same from a real
// etcd (when etcd is installed): the longest event-loop stall from channel creation until the
// policy has the list.
// Run: npm run bench:scale      (or: npm run bench:scale -- 1000 5000, only those sizes)
import { type ChildProcess, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { register } from '../src';
import { ringBuildsInProgress } from '../src/balancer/load-balancer';
import { encodeEtcdEndpointValue } from '../src/resolvers/etcd/naming';
import { createRingBuilder, type RingAlgorithm } from '../src/rings';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../test/support/etcd-server';
import { startChildUntilFirstLine } from './support/child-process';
import { median, printTable, type Row, writeResults } from './support/table';

type Endpoint = grpc.experimental.Endpoint;

/** Runs one size and policy in a child process (see main). */
const SIZE_FLAG = '--size';
const POLICY_FLAG = '--policy';
// `npm run bench:scale -- 1000 5000` measures only those sizes (and skips the Consul section).
const chosenSizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const SIZES = chosenSizes.length > 0 ? chosenSizes : [100, 1000, 5000, 10000, 20000];
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
/** Pushes per measured case (their median is reported); fewer for a slow policy. */
const rounds = (firstMs: number) => (firstMs > 2000 ? 1 : firstMs > 500 ? 3 : 15);
/** Entries of the large registry answers (Consul and etcd). */
const ANSWER_SIZES = [10000, 20000] as const;
/** Each size's process first runs every policy at this size, untimed. */
const WARM_UP_SIZE = 500;
/** round_robin is measured up to this size (see main). */
const ROUND_ROBIN_MAX_N = 10000;

const SCHEME = 'bench-scale';
/** The listener of the resolver each bench channel made, by target path. */
const listeners = new Map<string, grpc.experimental.ResolverListener>();

/** A resolver that hands its listener to the bench, which pushes the lists itself. */
class BenchResolver implements grpc.experimental.Resolver {
  constructor(target: grpc.experimental.GrpcUri, listener: grpc.experimental.ResolverListener) {
    listeners.set(target.path, listener);
  }
  updateResolution(): void {}
  destroy(): void {}
  static getDefaultAuthority(target: grpc.experimental.GrpcUri): string {
    return target.path;
  }
}

/** Loopback endpoint i; port 1 is closed, so a connection attempt is refused at once. */
function endpointAt(i: number, salt = 0): Endpoint {
  return { addresses: [{ host: `127.${1 + salt}.${(i >> 8) & 255}.${i & 255}`, port: 1 + (i >> 16) }] };
}

/** A fresh list of the n endpoints, with the first `replaced` ones swapped for others. */
function endpointList(n: number, replaced: number): Endpoint[] {
  const list: Endpoint[] = new Array(n);
  for (let i = 0; i < n; i++) list[i] = endpointAt(i, i < replaced ? 100 : 0);
  return list;
}

// No forced collection between measurements: a full `gc()` shrinks the young generation to its
// minimum, which a process that has been running does not have, and made allocation-heavy pushes
// (first lists, of every policy) 2–3× slower than in the warmed-up process measured here.

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Measured {
  first: number;
  changed: number;
  same: number;
  maxDelay: number;
}

let channels = 0;

/**
 * One policy at one size, in a real channel: each push is a call of the channel's resolver
 * listener (what a resolver does on an answer), timed synchronously, in its own event-loop turn.
 */
async function measurePolicy(config: object, n: number, firstListOnly = false): Promise<Measured> {
  const name = `c${++channels}`;
  const channel = new grpc.Channel(`${SCHEME}:///${name}`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [config] }),
    // Each channel its own subchannel pool, so that one policy's connections do not carry over.
    'grpc.use_local_subchannel_pool': 1,
  });
  channel.getConnectivityState(true);
  await nextTurn();
  const listener = listeners.get(name);
  if (listener === undefined) throw new Error('the channel made no resolver');
  // A push's time: the listener call plus, when the policy builds a large ring across event-loop
  // turns, until it has applied the list (the turns between are part of it; the longest turn shows
  // in the loop delay). The next push waits for that.
  const push = async (list: Endpoint[]): Promise<number> => {
    const started = performance.now();
    listener(grpc.experimental.statusOrFromValue(list), {}, null, '');
    while (ringBuildsInProgress() > 0) await nextTurn();
    return performance.now() - started;
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await nextTurn();
  const first = await push(endpointList(n, 0));
  const count = firstListOnly ? 0 : rounds(first);
  const changed: number[] = [];
  const same: number[] = [];
  for (let r = 1; r <= count; r++) {
    await nextTurn();
    changed.push(await push(endpointList(n, r)));
    await nextTurn();
    same.push(await push(endpointList(n, r)));
  }
  // Let work a policy deferred (connection attempts, state updates) show in the delay too.
  await new Promise((resolve) => setTimeout(resolve, 20));
  delay.disable();
  channel.close();
  listeners.delete(name);
  return { first, changed: median(changed), same: median(same), maxDelay: delay.max / 1e6 };
}

/**
 * Samples of a first list (each on a fresh channel) and of the ring build alone, the median
 * reported: one sample moves by 2× with where the garbage collector lands, and cheap ones get more.
 */
const samplesOf = (ms: number) => (ms > 500 ? 1 : ms > 20 ? 5 : 9);

/** Median ms of our ring build alone (a fresh builder, and members as the policy makes them from a first list). */
function ringBuildMs(algorithm: RingAlgorithm, n: number): number {
  const times: number[] = [];
  do {
    // Members allocated anew, as a first list brings them (fresh id strings: strings already hashed
    // and flattened by an earlier build would flatter the build).
    const members = Array.from({ length: n }, (_, i) => ({
      id: grpc.experimental.subchannelAddressToString(endpointAt(i).addresses[0]!),
      weight: 1,
    }));
    const builder = createRingBuilder(algorithm);
    const started = performance.now();
    builder.build(members);
    times.push(performance.now() - started);
  } while (times.length < samplesOf(times[0]!));
  return median(times);
}

/** Starts the Consul answer child; resolves with it and its host:port. */
async function startConsulAnswer(count: number): Promise<{ child: ChildProcess; address: string }> {
  const script = path.join(__dirname, 'support', 'consul-answer-server.ts');
  const { child, line } = await startChildUntilFirstLine(script, [String(count)], 'Consul answer child');
  return { child, address: line.replace(/^listening /, '') };
}

/** A registry serving one large answer: the channel target that reads it, and how to stop serving it. */
interface LargeAnswer {
  target: string;
  stop(): Promise<void> | void;
}

/**
 * A real channel with a registry's resolver and consistent_hash over a large answer: the longest
 * event-loop delay and the wall time from channel creation until the policy has applied the list.
 * The probe is a call without a key under `missingKey: "fail"`: it waits while the channel
 * resolves, and the policy's picker fails it at once, without connecting to any endpoint.
 */
async function answerThroughChannel(
  target: string,
  algorithm: RingAlgorithm,
): Promise<{ ms: number; maxDelay: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({
      loadBalancingConfig: [{ consistent_hash: { algorithm, missingKey: 'fail' } }],
    }),
  });
  const error = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      '/bench.Probe/Call',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 60_000 },
      (e) => resolve(e),
    ),
  );
  const ms = performance.now() - started;
  delay.disable();
  client.close();
  if (error?.code !== grpc.status.INTERNAL || !/missingKey is "fail"/.test(error.details)) {
    throw new Error(`the probe call ended with ${error?.code} ${error?.details}, not the policy's refusal`);
  }
  return { ms, maxDelay: delay.max / 1e6 };
}

/** Each algorithm through a real channel, for each size of answer `serve` starts serving. */
async function answerRows(
  sizes: readonly number[],
  serve: (count: number) => Promise<LargeAnswer>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const count of sizes) {
    const answer = await serve(count);
    try {
      for (const algorithm of ALGORITHMS) {
        const r = await answerThroughChannel(answer.target, algorithm);
        rows.push({
          algorithm,
          entries: count,
          'answer to channel ms': r.ms,
          'max loop delay ms': r.maxDelay,
        });
      }
    } finally {
      await answer.stop();
    }
  }
  return rows;
}

/** `count` endpoints registered under `<service>/` in etcd, as Go's endpoints.Manager writes them. */
async function putEtcdAnswer(endpoint: string, service: string, count: number): Promise<void> {
  const admin = new EtcdAdmin(endpoint);
  try {
    for (let i = 0; i < count; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, count - i) }, (_, k) => {
          const address = grpc.experimental.subchannelAddressToString(endpointAt(i + k).addresses[0]!);
          return admin.put(`${service}/${address}`, encodeEtcdEndpointValue(address));
        }),
      );
    }
  } finally {
    admin.close();
  }
}

/** What one (size, policy) process reports: the pushes, and for our policy the ring build alone. */
interface PolicyAtSize extends Measured {
  build?: number;
}

/** One policy at one size (run in a child process of its own). */
async function measurePolicyAtSize(n: number, policy: (typeof POLICIES)[number]): Promise<PolicyAtSize> {
  register();
  grpc.experimental.registerResolver(SCHEME, BenchResolver);
  // Warm-up, discarded: the policy's code compiled by the JIT before anything is timed, first
  // lists (a fresh builder hashes every member) as well as later pushes, and one first list at
  // this size (loops at a new size are compiled afresh, and the heap grows to the size's needs),
  // as the ring build alone is timed warm.
  await measurePolicy(policy.config, WARM_UP_SIZE);
  for (let r = 0; r < 3; r++) await measurePolicy(policy.config, WARM_UP_SIZE, true);
  await measurePolicy(policy.config, n, true);
  const measured = await measurePolicy(policy.config, n);
  const firsts = [measured.first];
  while (firsts.length < samplesOf(measured.first)) {
    firsts.push((await measurePolicy(policy.config, n, true)).first);
  }
  const result: PolicyAtSize = { ...measured, first: median(firsts) };
  if (policy.algorithm) result.build = ringBuildMs(policy.algorithm, n);
  return result;
}

/** The table rows of one size, from each policy's measurement; ratios against round_robin's. */
function rowsOf(n: number, results: ReadonlyMap<string, PolicyAtSize>): Row[] {
  const rows: Row[] = [];
  const roundRobin = results.get('round_robin');
  for (const policy of POLICIES) {
    const m = results.get(policy.name);
    if (m === undefined) {
      rows.push({ policy: policy.name, N: n, 'first list ms': `skipped (N > ${ROUND_ROBIN_MAX_N})` });
      continue;
    }
    const row: Row = {
      policy: policy.name,
      N: n,
      'first list ms': m.first,
      'one changed ms': m.changed,
      'same list ms': m.same,
      'max loop delay ms': m.maxDelay,
    };
    if (m.build !== undefined) {
      row['ring build ms'] = m.build;
      row['first / build'] = m.first / m.build;
      if (roundRobin) {
        row['rr / ours, one changed'] = roundRobin.changed / m.changed;
        row['rr / ours, same list'] = roundRobin.same / m.same;
      }
    }
    rows.push(row);
  }
  return rows;
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows: Row[] = [];
  for (const n of SIZES) {
    const results = new Map<string, PolicyAtSize>();
    for (const policy of POLICIES) {
      // round_robin re-creates every child per push and recounts all children on each child's
      // state change (O(N²)): at 10,000 a push already stalls the loop for seconds.
      if (policy.name === 'round_robin' && n > ROUND_ROBIN_MAX_N) continue;
      // One process per size and policy: a fresh heap and event loop, with no connections,
      // reconnection timers or garbage left over from another policy (round_robin and pick_first
      // keep dialling their closed ports for a while after their channel closes).
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', __filename, SIZE_FLAG, String(n), POLICY_FLAG, policy.name],
        { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 600_000 },
      );
      const last = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !last.startsWith('{')) {
        throw new Error(
          `the ${policy.name} child at ${n} failed (${child.status ?? child.signal}): ${child.stdout}`,
        );
      }
      results.set(policy.name, JSON.parse(last) as PolicyAtSize);
    }
    rows.push(...rowsOf(n, results));
    console.log(`N = ${n} done (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  printTable('updateAddressList (ms, median of pushes) and max event-loop delay', rows);

  register();
  const sizes = chosenSizes.length > 0 ? [] : ANSWER_SIZES;
  const consulRows = await answerRows(sizes, async (count) => {
    const { child, address } = await startConsulAnswer(count);
    return { target: `consul://${address}/big?wait=1m`, stop: () => void child.stdin!.end() };
  });
  printTable('Consul answer through a real channel (consul resolver + consistent_hash)', consulRows);
  let etcdRows: Row[] = [];
  let etcd: EtcdServer | undefined;
  try {
    if (sizes.length > 0) etcd = await startEtcd();
  } catch (error) {
    console.log(
      `\netcd answer not measured: ${(error as Error).message.split('\n')[0]} (scripts/ensure-test-tools.sh installs etcd-server)`,
    );
  }
  if (etcd !== undefined) {
    const server = etcd;
    try {
      etcdRows = await answerRows(sizes, async (count) => {
        await putEtcdAnswer(server.endpoint, `big-${count}`, count);
        return { target: `etcd://${server.endpoint}/big-${count}`, stop: () => {} };
      });
    } finally {
      await server.destroy();
    }
    printTable('etcd answer through a real channel (etcd resolver + consistent_hash), a real etcd', etcdRows);
  }
  const file = writeResults('scale', { updates: rows, consulAnswer: consulRows, etcdAnswer: etcdRows });
  console.log(`\nwrote ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

const sizeFlag = process.argv.indexOf(SIZE_FLAG);
const policyFlag = process.argv.indexOf(POLICY_FLAG);
const policyToMeasure = POLICIES.find((p) => p.name === process.argv[policyFlag + 1]);
(sizeFlag >= 0 && policyToMeasure !== undefined
  ? measurePolicyAtSize(Number(process.argv[sizeFlag + 1]), policyToMeasure).then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    })
  : main()
).catch((e) => {
  console.error(e);
  process.exit(1);
});
