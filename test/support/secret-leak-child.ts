// Child process for test/reliability/security-secrets.test.ts. Runs with GRPC_TRACE=all
// GRPC_VERBOSITY=DEBUG (set by the parent before grpc-js loads), uses the Consul and etcd
// resolvers and registrations with a recognisable token and password, provokes every error it
// can, and prints each outcome (error messages, status details, stacks) as `STEP <name>: <text>`.
// The parent asserts that the secrets appear nowhere in stdout + stderr.
import type * as grpc from '@grpc/grpc-js';
import { registerConsistentHashPolicy } from '../../src/balancer';
import { createEtcdCredentials } from '../../src/etcd/credentials';
import {
  CONSUL_INITIAL_BACKOFF_OPTION,
  CONSUL_TOKEN_OPTION,
  createConsulToken,
  parseConsulTarget,
  registerConsulResolver,
} from '../../src/exports/consul';
import { parseEtcdTarget, registerEtcdResolver } from '../../src/exports/etcd';
import { registerWithConsul } from '../../src/registration/consul';
import { registerWithEtcd } from '../../src/registration/etcd';
import { ConsulDouble } from './consul-double';
import { createHelloClient, type HelloClient, sayWithKey, startHelloServer } from './hello-servers';

const TOKEN = process.env['LEAK_CONSUL_TOKEN']!;
const PASSWORD = process.env['LEAK_ETCD_PASSWORD']!;
const ETCD = process.env['LEAK_ETCD_ENDPOINT']!;
delete process.env['LEAK_CONSUL_TOKEN'];
delete process.env['LEAK_ETCD_PASSWORD'];
const LB = [{ consistent_hash: { hashHeader: 'x-user-id' } }];

function step(name: string, text: string): void {
  process.stdout.write(`STEP ${name}: ${text.replace(/\n/g, ' | ')}\n`);
}

function describeError(error: unknown): string {
  const e = error as Partial<grpc.ServiceError> & Error;
  return `code=${e.code ?? '-'} message=${e.message} details=${e.details ?? '-'} stack=${e.stack ?? '-'}`;
}

/** One call; prints `ok <server>` or the full error. */
async function callOnce(name: string, client: HelloClient): Promise<void> {
  const r = await sayWithKey(client, 'x-user-id', 'user-1', { deadline: Date.now() + 4000 });
  step(name, r.error ? `error ${describeError(r.error)}` : `ok ${r.serverId}`);
  client.close();
}

function attempt(name: string, fn: () => unknown): void {
  try {
    fn();
    step(name, 'no error');
  } catch (error) {
    step(name, `error ${describeError(error)}`);
  }
}

async function consulSteps(): Promise<void> {
  const double = await ConsulDouble.start({
    acl: { tokens: { [TOKEN]: { serviceRead: true, nodeRead: true, serviceWrite: true } }, anonymous: {} },
    runGrpcChecks: false,
  });
  const server = await startHelloServer({ serverId: 'consul-server' });
  const fast = { [CONSUL_INITIAL_BACKOFF_OPTION]: 100 };
  try {
    const registration = await registerWithConsul({
      agent: double.address,
      token: TOKEN,
      service: 'leak',
      address: server.host,
      port: server.port,
      check: { type: 'ttl', ttl: '30s' },
    });
    step('consul-register', 'ok');
    await callOnce(
      'consul-call-token-option',
      createHelloClient(`consul://${double.address}/leak`, LB, {
        ...fast,
        [CONSUL_TOKEN_OPTION]: createConsulToken(TOKEN),
      }),
    );
    process.env['CONSUL_HTTP_TOKEN'] = TOKEN;
    await callOnce('consul-call-token-env', createHelloClient(`consul://${double.address}/leak`, LB, fast));
    delete process.env['CONSUL_HTTP_TOKEN'];
    // Wrong tokens that contain the real one: 403 "ACL not found".
    await registerWithConsul({
      agent: double.address,
      token: `${TOKEN}-wrong`,
      service: 'leak',
      address: server.host,
      port: server.port + 1,
    }).then(
      () => step('consul-register-wrong-token', 'no error'),
      (error) => step('consul-register-wrong-token', `error ${describeError(error)}`),
    );
    await callOnce(
      'consul-call-wrong-token',
      createHelloClient(`consul://${double.address}/leak`, LB, {
        ...fast,
        [CONSUL_TOKEN_OPTION]: createConsulToken(`${TOKEN}-wrong`),
      }),
    );
    // Consul echoing the token in an error body.
    double.setFault({ kind: 'status', status: 500, body: `rpc error: token "${TOKEN}" rejected` });
    await callOnce(
      'consul-call-echoed-token',
      createHelloClient(`consul://${double.address}/leak`, LB, {
        ...fast,
        [CONSUL_TOKEN_OPTION]: createConsulToken(TOKEN),
      }),
    );
    double.setFault(null);
    await callOnce(
      'consul-call-unreachable',
      createHelloClient('consul://127.0.0.1:1/leak', LB, {
        ...fast,
        [CONSUL_TOKEN_OPTION]: createConsulToken(TOKEN),
      }),
    );
    await registration.deregister();
    step('consul-deregister', 'ok');
  } finally {
    await server.stop();
    await double.stop();
  }
}

async function etcdSteps(): Promise<void> {
  const server = await startHelloServer({ serverId: 'etcd-server' });
  const fast = {
    'grpc-consistent-hash.etcd.initial_backoff_ms': 100,
    'grpc-consistent-hash.etcd.max_backoff_ms': 500,
  };
  try {
    const registration = registerWithEtcd({
      target: 'leak',
      id: 'a',
      addr: server.address,
      ttl: 5,
      endpoints: ETCD,
      username: 'root',
      password: PASSWORD,
    });
    await registration.ready;
    step('etcd-register', 'ok');
    await callOnce(
      'etcd-call-password',
      createHelloClient(`etcd://${ETCD}/leak`, LB, {
        ...fast,
        'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({
          username: 'root',
          password: PASSWORD,
        }),
      }),
    );
    await callOnce(
      'etcd-call-wrong-password',
      createHelloClient(`etcd://${ETCD}/leak`, LB, {
        ...fast,
        'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({
          username: 'root',
          password: `${PASSWORD}-wrong`,
        }),
      }),
    );
    const wrong = registerWithEtcd({
      target: 'leak',
      id: 'b',
      addr: server.address,
      ttl: 5,
      endpoints: ETCD,
      username: 'root',
      password: `${PASSWORD}-wrong`,
      backoff: { initialMs: 100, maxMs: 200 },
    });
    // Let the wrong-password registration fail (and log) a few times: no event marks an attempt;
    // with backoff 100-200 ms, 600 ms holds at least three.
    await new Promise((r) => setTimeout(r, 600));
    await wrong.deregister();
    step('etcd-register-wrong-password', 'attempted');
    await callOnce(
      'etcd-call-unreachable',
      createHelloClient('etcd://127.0.0.1:1/leak', LB, {
        ...fast,
        'grpc-consistent-hash.etcd.credentials': createEtcdCredentials({
          username: 'root',
          password: PASSWORD,
        }),
      }),
    );
    await registration.deregister();
    step('etcd-deregister', 'ok');
  } finally {
    await server.stop();
  }
}

/**
 * Secrets written into the target itself. Our parsers refuse them and must not repeat them; grpc-js's
 * own traces print the target text as the user wrote it, so this mode runs at default verbosity.
 */
async function targetSteps(): Promise<void> {
  const fast = { [CONSUL_INITIAL_BACKOFF_OPTION]: 100 };
  const queryTarget = `consul://127.0.0.1:1/leak?token=${TOKEN}`;
  attempt('consul-parse-query-token', () => parseConsulTarget(queryTarget));
  await callOnce('consul-call-query-token', createHelloClient(queryTarget, LB, fast));
  const userinfoTarget = `consul://user:${TOKEN}@127.0.0.1:1/leak`;
  attempt('consul-parse-userinfo', () => parseConsulTarget(userinfoTarget));
  await callOnce('consul-call-userinfo', createHelloClient(userinfoTarget, LB, fast));
  const etcdTarget = `etcd://root:${PASSWORD}@${ETCD}/leak`;
  attempt('etcd-parse-userinfo', () => parseEtcdTarget(etcdTarget));
  await callOnce('etcd-call-userinfo', createHelloClient(etcdTarget, LB, {}));
  attempt('etcd-register-endpoint-userinfo', () =>
    registerWithEtcd({
      target: 'leak',
      id: 'c',
      addr: '127.0.0.1:1',
      endpoints: `http://root:${PASSWORD}@${ETCD}`,
    }),
  );
  process.env['ETCD_ENDPOINTS'] = `http://root:${PASSWORD}@${ETCD}`;
  await callOnce('etcd-call-env-userinfo', createHelloClient('etcd:///leak', LB, {}));
  delete process.env['ETCD_ENDPOINTS'];
}

async function main(): Promise<void> {
  registerConsistentHashPolicy();
  registerConsulResolver();
  registerEtcdResolver();
  if (process.argv[2] === 'targets') {
    await targetSteps();
  } else {
    await consulSteps();
    await etcdSteps();
  }
  step('done', 'ok');
}

main().catch((error) => {
  step('failed', describeError(error));
  process.exitCode = 1;
});
