// `npm run demo`: 3 hello servers on loopback and two consistent_hash clients (failover, strict)
// on a static:/// target. Shows that each key sticks to one server, that stopping a server moves
// only its keys (failover) or fails them with UNAVAILABLE (strict), and that they return when the
// server comes back on the same port, and that a call without a key fails (missingKey "fail", the
// default) saying how to give it one. Exits 0 when every check holds.
import * as grpc from '@grpc/grpc-js';
import { register, withHashKey } from '../src';
import {
  type HelloClient,
  HelloClientConstructor,
  type RunningHelloServer,
  startHelloServer,
} from './hello-service';

const HEADER = 'x-user-id';
const KEYS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'oscar',
];
const CALLS_PER_KEY = 3;
const algorithm = process.argv.includes('--algorithm')
  ? (process.argv[process.argv.indexOf('--algorithm') + 1] ?? 'ketama')
  : 'ketama';

type Outcome = string; // a server id, or "UNAVAILABLE" etc.

function createClient(target: string, affinity: 'failover' | 'strict'): HelloClient {
  return new HelloClientConstructor(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({
      loadBalancingConfig: [{ consistent_hash: { algorithm, hashHeader: HEADER, affinity } }],
    }),
    // Quick reconnects, so the restarted server is seen within the demo's few seconds.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 300,
  });
}

function say(client: HelloClient, key: string): Promise<Outcome> {
  return new Promise((resolve) => {
    client.say({ text: key }, withHashKey(key, HEADER), { deadline: Date.now() + 3000 }, (err, reply) => {
      resolve(err ? (grpc.status[err.code] ?? String(err.code)) : (reply?.serverId ?? '?'));
    });
  });
}

/** Calls each key CALLS_PER_KEY times; the outcome per key, or "MIXED(...)" if the calls disagreed. */
async function route(client: HelloClient): Promise<Map<string, Outcome>> {
  const result = new Map<string, Outcome>();
  for (const key of KEYS) {
    const outcomes = new Set<Outcome>();
    for (let i = 0; i < CALLS_PER_KEY; i++) outcomes.add(await say(client, key));
    result.set(key, outcomes.size === 1 ? [...outcomes][0]! : `MIXED(${[...outcomes].join('/')})`);
  }
  return result;
}

/** Polls `probe` (bounded) until it holds: the channel has no event for "the server is back". */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<number> {
  register();
  const servers: RunningHelloServer[] = [];
  for (let i = 1; i <= 3; i++) servers.push(await startHelloServer({ serverId: `server-${i}` }));
  const target = `static:///${servers.map((s) => s.address).join(',')}`;
  const failover = createClient(target, 'failover');
  const strict = createClient(target, 'strict');
  const checks: string[] = [];
  const check = (ok: boolean, text: string) => checks.push(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
  try {
    console.log(`consistent_hash demo: ${algorithm}, header "${HEADER}", target ${target}`);
    const before = await route(failover);
    const beforeStrict = await route(strict);
    // Stop the server that owns the most keys.
    const counts = new Map<string, number>();
    for (const owner of before.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    const victimId = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const victimIndex = servers.findIndex((s) => s.serverId === victimId);
    const victim = servers[victimIndex]!;
    await victim.stop();
    const stoppedFailover = await route(failover);
    const stoppedStrict = await route(strict);
    servers[victimIndex] = await startHelloServer({ serverId: victim.serverId, port: victim.port });
    const movedKey = KEYS.find((k) => before.get(k) === victimId)!;
    await until(`${victimId} to serve again`, async () => (await say(strict, movedKey)) === victimId);
    await until(
      `${victimId} to serve again (failover)`,
      async () => (await say(failover, movedKey)) === victimId,
    );
    const after = await route(failover);
    const afterStrict = await route(strict);
    // A call without the key header: missingKey "fail" (the default) refuses it, naming the fix.
    const keyless = await new Promise<grpc.ServiceError | null>((resolve) =>
      failover.say({ text: 'no key' }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err) =>
        resolve(err),
      ),
    );

    const rows = [['key', 'owner', `failover, ${victimId} down`, `strict, ${victimId} down`, 'restarted']];
    for (const key of KEYS) {
      const owner = before.get(key)!;
      const moved = stoppedFailover.get(key)!;
      rows.push([
        key,
        owner,
        moved === owner ? moved : `${moved} (moved)`,
        stoppedStrict.get(key)!,
        after.get(key)!,
      ]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows)
      console.log(
        row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join('  ')
          .trimEnd(),
      );
    console.log('');

    const ownerKeys = KEYS.filter((k) => before.get(k) === victimId);
    const otherKeys = KEYS.filter((k) => before.get(k) !== victimId);
    check(
      KEYS.every((k) => /^server-\d$/.test(before.get(k)!) && before.get(k) === beforeStrict.get(k)),
      `each key always reached the same server (${CALLS_PER_KEY} calls per key, both clients)`,
    );
    check(
      ownerKeys.every(
        (k) => /^server-\d$/.test(stoppedFailover.get(k)!) && stoppedFailover.get(k) !== victimId,
      ),
      `failover: the ${ownerKeys.length} keys of ${victimId} moved to other servers`,
    );
    check(
      otherKeys.every(
        (k) => stoppedFailover.get(k) === before.get(k) && stoppedStrict.get(k) === before.get(k),
      ),
      `the other ${otherKeys.length} keys did not move`,
    );
    check(
      ownerKeys.every((k) => stoppedStrict.get(k) === 'UNAVAILABLE'),
      `strict: the keys of ${victimId} failed with UNAVAILABLE`,
    );
    check(
      KEYS.every((k) => after.get(k) === before.get(k) && afterStrict.get(k) === before.get(k)),
      `after the restart every key is back on its owner`,
    );
    check(
      (keyless?.details.includes(`no "${HEADER}" header`) ?? false) &&
        keyless!.details.includes('withHashKey'),
      `a call without a key failed at once: ${keyless?.details.split('. ')[0] ?? 'it did not fail'}`,
    );
    const spread = servers.map((s) => `${s.serverId} ${counts.get(s.serverId) ?? 0}`).join(', ');
    console.log(`keys per server: ${spread}`);
    for (const line of checks) console.log(line);
    return checks.every((l) => l.startsWith('ok')) ? 0 : 1;
  } finally {
    failover.close();
    strict.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    console.error(`demo failed: ${e.message}`);
    process.exitCode = 1;
  },
);
