import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EtcdServer, enableRootAuth, startEtcd } from '../support/etcd-server';
import { runTsxChild } from '../support/tsx-child';

// Issue 7 item 5: ACL tokens and passwords never appear in logs, errors or traces, at any verbosity.
// A child process (GRPC_TRACE=all GRPC_VERBOSITY=DEBUG set before grpc-js loads) runs the Consul and
// etcd resolvers and registrations with these secrets, provokes every error it can (wrong token or
// password containing the real one, Consul echoing the token, unreachable registries, secrets in the
// target's query string or authority) and prints every outcome; the secrets must appear nowhere.

const TOKEN = 'c0ffee42-consul-acl-token-8e1f5b7d';
const PASSWORD = 'Etcd-Pa55word-0f9d3c1b';
const SECRETS = [TOKEN, PASSWORD];

/** A secret and its common encodings (a header dump or a Buffer inspection would show these). */
function encodings(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('hex'),
    encodeURIComponent(secret),
  ];
}

let etcd: EtcdServer;

before(async () => {
  etcd = await startEtcd();
  await enableRootAuth(etcd.endpoint, PASSWORD);
});

after(async () => {
  await etcd?.destroy();
});

interface ChildRun {
  stdout: string;
  stderr: string;
  steps: Map<string, string>;
}

/** Runs the child fixture in `mode` with extra env; resolves with its output (bounded at 45 s). */
async function runChild(mode: 'registries' | 'targets', env: NodeJS.ProcessEnv): Promise<ChildRun> {
  const { code, signal, stdout, stderr } = await runTsxChild(
    join(__dirname, '../support/secret-leak-child.ts'),
    [mode],
    {
      env: {
        ...process.env,
        ...env,
        LEAK_CONSUL_TOKEN: TOKEN,
        LEAK_ETCD_PASSWORD: PASSWORD,
        LEAK_ETCD_ENDPOINT: etcd.endpoint,
      },
      killAfterMs: 45_000,
    },
  );
  const steps = new Map(
    [...stdout.matchAll(/^STEP ([\w-]+): (.*)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]),
  );
  console.log(
    `security (${mode}): ${stdout.length + stderr.length} bytes of output, ${stderr.split('\n').length} stderr lines, ${steps.size} steps`,
  );
  assert.equal(signal, null, `child killed (timeout?)\n${stdout.slice(-3000)}`);
  assert.equal(code, 0, stdout.slice(-3000));
  assert.equal(steps.get('done'), 'ok');
  return { stdout, stderr, steps };
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) {
    for (const form of encodings(secret)) {
      const at = text.indexOf(form);
      assert.equal(at, -1, `secret found in ${where}: …${text.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  }
}

function assertSteps(steps: Map<string, string>, expected: [string, RegExp][]): void {
  for (const [name, pattern] of expected) assert.match(steps.get(name) ?? '(missing)', pattern, name);
}

describe('secrets never leak', () => {
  it('no token or password in stdout/stderr, errors or traces with GRPC_TRACE=all GRPC_VERBOSITY=DEBUG', async () => {
    const { stdout, stderr, steps } = await runChild('registries', {
      GRPC_TRACE: 'all',
      GRPC_VERBOSITY: 'DEBUG',
    });
    // Everything ran, and the errors really happened.
    assertSteps(steps, [
      ['consul-register', /^ok$/],
      ['consul-call-token-option', /^ok consul-server$/],
      ['consul-call-token-env', /^ok consul-server$/],
      ['consul-register-wrong-token', /^error .*403.*ACL not found/],
      ['consul-call-wrong-token', /^error code=14 .*403/],
      ['consul-call-echoed-token', /^error code=14 .*500.*<redacted>/],
      ['consul-call-unreachable', /^error code=14 .*ECONNREFUSED/],
      ['consul-deregister', /^ok$/],
      ['etcd-register', /^ok$/],
      ['etcd-call-password', /^ok etcd-server$/],
      ['etcd-call-wrong-password', /^error code=14 .*authentication failed/],
      ['etcd-register-wrong-password', /^attempted$/],
      ['etcd-call-unreachable', /^error code=14 /],
      ['etcd-deregister', /^ok$/],
    ]);
    // Tracing was really on, for grpc-js and for our code, including the channel-option dumps.
    assert.match(stderr, /Channel constructed with options/);
    assert.match(stderr, /"grpc-consistent-hash\.consul\.token": "<redacted>"/);
    assert.match(stderr, /consistent_hash \| consul_resolver/);
    assert.match(stderr, /consistent_hash \| etcd-client authenticated to etcd/);
    assert.match(stderr, /"grpc-consistent-hash\.etcd\.credentials"/);
    assertNoSecret(`${stdout}\n${stderr}`, 'the output');
  });

  it('secrets written into a target are refused, and no error or log line repeats them', async () => {
    // Default verbosity (ERROR): grpc-js's own DEBUG traces print the target as the user wrote it.
    const { stdout, stderr, steps } = await runChild('targets', { GRPC_TRACE: '', GRPC_VERBOSITY: '' });
    assertSteps(steps, [
      ['consul-parse-query-token', /^error .*unknown parameter "token"/],
      ['consul-call-query-token', /^error code=14 .*unknown parameter "token"/],
      ['consul-parse-userinfo', /^error .*credentials in the authority/],
      ['consul-call-userinfo', /^error code=14 .*credentials in the authority/],
      ['etcd-parse-userinfo', /^error .*credentials in the authority/],
      ['etcd-call-userinfo', /^error code=14 .*credentials in the authority/],
      ['etcd-register-endpoint-userinfo', /^error .*credentials in an etcd endpoint/],
      ['etcd-call-env-userinfo', /^error code=14 .*credentials in an etcd endpoint/],
    ]);
    // The etcd resolver logs its configuration error at ERROR: that line is in stderr, without the secret.
    assert.match(stderr, /credentials in the authority are not supported/);
    assertNoSecret(`${stdout}\n${stderr}`, 'the output');
  });
});
