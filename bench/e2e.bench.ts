// End to end: unary calls through loopback to 3 real servers with 64 calls in flight,
// consistent_hash (ketama, keys from a fixed pool) vs round_robin vs pick_first, interleaved rounds.
// The servers run in a child process, so that client and servers do not share one event loop.
// Run: npm run bench:e2e
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type HelloClient, HelloClientConstructor } from '../example/hello-service';
import { register } from '../src';
import { startChildUntilFirstLine } from './support/child-process';
import { median, printTable, type Row, uuidLikeKeys, writeResults } from './support/table';

const SERVERS = 3;
const IN_FLIGHT = 64;
const CALLS_PER_ROUND = 6000;
const ROUNDS = 7;
const HEADER = 'x-user-id';
const KEYS = uuidLikeKeys(1024);

const POLICIES: Record<string, object> = {
  'consistent_hash (ketama)': { consistent_hash: { algorithm: 'ketama', hashHeader: HEADER } },
  'consistent_hash (ketama, boundedLoad 1.25)': {
    consistent_hash: { algorithm: 'ketama', hashHeader: HEADER, boundedLoad: 1.25 },
  },
  round_robin: { round_robin: {} },
  pick_first: { pick_first: {} },
};

/** Starts the servers' child process; resolves with it and the addresses it printed. */
async function startServers(): Promise<{ child: ChildProcess; addresses: string[] }> {
  const script = path.join(__dirname, 'support', 'e2e-servers.ts');
  const { child, line } = await startChildUntilFirstLine(script, [String(SERVERS)], 'server child');
  return { child, addresses: JSON.parse(line) as string[] };
}

function say(client: HelloClient, key: string): Promise<void> {
  const metadata = new grpc.Metadata();
  metadata.set(HEADER, key);
  return new Promise((resolve, reject) => {
    client.say({ text: key }, metadata, (error) => (error ? reject(error) : resolve()));
  });
}

/** One round: CALLS_PER_ROUND calls keeping IN_FLIGHT in flight; calls/s and latency percentiles. */
async function round(client: HelloClient): Promise<{ rate: number; p50: number; p99: number }> {
  const latencies = new Float64Array(CALLS_PER_ROUND);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < CALLS_PER_ROUND) {
      const i = next++;
      const t = performance.now();
      await say(client, KEYS[i % KEYS.length]!);
      latencies[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return {
    rate: CALLS_PER_ROUND / seconds,
    p50: latencies[Math.floor(CALLS_PER_ROUND * 0.5)]!,
    p99: latencies[Math.floor(CALLS_PER_ROUND * 0.99)]!,
  };
}

async function main(): Promise<void> {
  register();
  const { child, addresses } = await startServers();
  const target = `static:///${addresses.join(',')}`;
  const clients: Record<string, HelloClient> = {};
  try {
    for (const [name, config] of Object.entries(POLICIES)) {
      clients[name] = new HelloClientConstructor(target, grpc.credentials.createInsecure(), {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [config] }),
      });
      // Warm up: connect and let the JIT settle.
      for (let i = 0; i < KEYS.length; i++) await say(clients[name]!, KEYS[i]!);
      await round(clients[name]!);
    }
    const samples: Record<string, { rate: number[]; p50: number[]; p99: number[] }> = {};
    for (const name of Object.keys(POLICIES)) samples[name] = { rate: [], p50: [], p99: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of Object.keys(POLICIES)) {
        const result = await round(clients[name]!);
        samples[name]!.rate.push(result.rate);
        samples[name]!.p50.push(result.p50);
        samples[name]!.p99.push(result.p99);
      }
    }
    const baseline = median(samples.round_robin!.rate);
    const rows: Row[] = Object.entries(samples).map(([name, s]) => ({
      policy: name,
      'calls/s': Math.round(median(s.rate)),
      'vs round_robin': median(s.rate) / baseline,
      'p50 ms': median(s.p50),
      'p99 ms': median(s.p99),
    }));
    printTable(
      `Unary calls to ${SERVERS} loopback servers (child process), ${IN_FLIGHT} in flight, median of ${ROUNDS} interleaved rounds of ${CALLS_PER_ROUND} calls`,
      rows,
    );
    console.log(`\nwrote ${writeResults('e2e', { e2e: rows, samples })}`);
  } finally {
    for (const client of Object.values(clients)) client.close();
    child.stdin?.end();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
