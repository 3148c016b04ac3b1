import * as grpc from '@grpc/grpc-js';
import {
  type HelloClient,
  HelloClientConstructor,
  type RunningHelloServer,
  type SayReply,
  startHelloServer,
} from '../../example/hello-service';

export { type HelloClient, HelloClientConstructor, type RunningHelloServer, startHelloServer };

/** Starts `count` hello servers on 127.0.0.1 ephemeral ports, with ids `server-0`, `server-1`, ... */
export async function startHelloServers(count: number): Promise<RunningHelloServer[]> {
  const servers: RunningHelloServer[] = [];
  for (let i = 0; i < count; i++) servers.push(await startHelloServer({ serverId: `server-${i}` }));
  return servers;
}

/** Stops every server given. */
export async function stopAll(servers: readonly RunningHelloServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}

/** Creates a hello client with a `consistent_hash` (or other) load-balancing config. */
export function createHelloClient(
  target: string,
  loadBalancingConfig: object[],
  extraOptions: grpc.ChannelOptions = {},
): HelloClient {
  return new HelloClientConstructor(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig }),
    ...extraOptions,
  });
}

/** The outcome of one `Say` call: the id of the server that answered, or the error. */
export type SayOutcome =
  | { serverId: string; error?: undefined }
  | { serverId?: undefined; error: grpc.ServiceError };

/** Call options for {@link sayWithKey}; `waitForReady` goes into the metadata options, as grpc-js wants. */
export type SayOptions = grpc.CallOptions & { waitForReady?: boolean };

/** Calls `Say` with `key` in header `header` (no header when key is undefined). Never rejects. */
export function sayWithKey(
  client: HelloClient,
  header: string,
  key: string | undefined,
  options: SayOptions = {},
): Promise<SayOutcome> {
  const { waitForReady, ...rest } = options;
  const metadata = new grpc.Metadata(waitForReady ? { waitForReady: true } : undefined);
  if (key !== undefined) metadata.set(header, key);
  const callOptions: grpc.CallOptions = { deadline: Date.now() + 5000, ...rest };
  return new Promise((resolve) => {
    client.say({ text: key ?? '' }, metadata, callOptions, (error, reply?: SayReply) => {
      if (error) resolve({ error });
      else resolve({ serverId: reply?.serverId ?? '' });
    });
  });
}

/**
 * Polls `condition` every `intervalMs` until it holds or `timeoutMs` passes; rejects with `what` on timeout.
 * For conditions that have no event to wait on (e.g. a remote registry converging).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Calls running in the background until stopped; see {@link startBackgroundCalls}. */
export interface BackgroundCalls {
  /** `<code>: <details>` of every failed call so far. */
  readonly failures: string[];
  /** How many calls have completed so far. */
  readonly calls: number;
  /** Stops issuing calls and waits for the one in flight. */
  stop(): Promise<void>;
}

/**
 * Calls `Say` one after another, cycling through `keys` in `header`, until `stop()` or `maxCalls`
 * calls (so a forgotten stop cannot run forever); each call has a `deadlineMs` deadline.
 */
export function startBackgroundCalls(
  client: HelloClient,
  header: string,
  keys: readonly string[],
  maxCalls: number,
  deadlineMs = 5000,
): BackgroundCalls {
  let stopped = false;
  let calls = 0;
  const failures: string[] = [];
  const done = (async () => {
    while (!stopped && calls < maxCalls) {
      const r = await sayWithKey(client, header, keys[calls % keys.length], {
        deadline: Date.now() + deadlineMs,
      });
      calls++;
      if (r.error) failures.push(`${r.error.code}: ${r.error.details}`);
    }
  })();
  return {
    failures,
    get calls() {
      return calls;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}
