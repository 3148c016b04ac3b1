// A hello client that routes keys with consistent_hash and prints which server answered each one.
// Usage: node --import tsx example/client.ts --target static:///127.0.0.1:50051,127.0.0.1:50052
//          (or --target consul://127.0.0.1:8500/hello, with servers started with --consul)
//          [--keys alice,bob,carol] [--rate 5] [--rounds 0] [--algorithm ketama|ring_hash|maglev|rendezvous]
//          [--affinity failover|strict] [--header x-hash-key]
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createHashKeyInterceptor, type HashKeyCallOptions, register, validateConfig } from '../src';
import { HelloClientConstructor, type SayReply } from './hello-service';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      keys: { type: 'string', default: 'alice,bob,carol,dave,erin,frank' },
      rate: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '0' },
      algorithm: { type: 'string', default: 'ketama' },
      affinity: { type: 'string', default: 'failover' },
      header: { type: 'string', default: 'x-hash-key' },
    },
  });
  if (!values.target) throw new Error('--target is required, e.g. static:///127.0.0.1:50051,127.0.0.1:50052');
  const rate = Number(values.rate);
  if (!(rate > 0 && rate <= 10_000))
    throw new Error(`--rate must be calls per second in (0, 10000], got "${values.rate}"`);
  const rounds = Number(values.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 0))
    throw new Error(`--rounds must be an integer >= 0, got "${values.rounds}"`);
  const keys = values.keys.split(',').filter((k) => k !== '');
  if (keys.length === 0) throw new Error('--keys must list at least one key');
  const policy = { algorithm: values.algorithm, affinity: values.affinity, hashHeader: values.header };
  validateConfig(policy); // fails here, with the field named, rather than silently in the channel

  register();
  const client = new HelloClientConstructor(values.target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ consistent_hash: policy }] }),
    interceptors: [createHashKeyInterceptor({ header: values.header })],
  });
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
  });
  const intervalMs = 1000 / rate;
  for (let round = 0; !stopping && (rounds === 0 || round < rounds); round++) {
    for (const key of keys) {
      if (stopping) break;
      const options: HashKeyCallOptions = { hashKey: key, deadline: Date.now() + 5000 };
      const line = await new Promise<string>((resolve) => {
        client.say({ text: key }, new grpc.Metadata(), options, (err, reply?: SayReply) => {
          resolve(err ? `${key}\t${grpc.status[err.code]}: ${err.details}` : `${key}\t${reply?.serverId}`);
        });
      });
      console.log(line);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  client.close();
}

main().catch((e: Error) => {
  console.error(`client: ${e.message}`);
  process.exit(2);
});
