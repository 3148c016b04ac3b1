// Where the API server is: kubeconfig files (merged as kubectl merges them), the pod's service
// account, exec credential plugins, and the rules for tokens over plain HTTP.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubernetesClient } from '../../src/kubernetes/client';
import { CredentialSource, loadKubernetesConnection } from '../../src/kubernetes/connection';
import { EndpointSliceWatch } from '../../src/kubernetes/endpoint-slice-watch';
import { KubernetesError } from '../../src/kubernetes/errors';
import { KubernetesApiDouble } from '../support/kubernetes-double';
import { SERVICE_LABEL } from '../support/kubernetes-env';
import { makeTestCa, type TestCa } from '../support/test-ca';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gch-k8s-conn-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const throwsNaming = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof KubernetesError && pattern.test(e.message));

describe('kubeconfig', () => {
  it('merges a KUBECONFIG list as kubectl does: first definition wins, paths relative to their file', async () => {
    write('a/ca.pem', 'CA FROM A');
    write('a/token', 'token-from-a\n');
    const a = write(
      'a/config',
      [
        'clusters:',
        '- name: prod',
        '  cluster: {server: "https://10.1.2.3:6443", certificate-authority: ca.pem}',
        'users:',
        '- name: alice',
        '  user: {tokenFile: token}',
      ].join('\n'),
    );
    const b = write(
      'b/config',
      [
        'clusters:',
        '- name: prod',
        '  cluster: {server: "https://shadowed:1"}',
        'contexts:',
        '- name: dev',
        '  context: {cluster: prod, user: nobody}',
        '- name: main',
        '  context: {cluster: prod, user: alice, namespace: payments}',
        'current-context: main',
      ].join('\n'),
    );
    const connection = loadKubernetesConnection({
      env: {
        KUBECONFIG: `${a}:${join(dir, 'missing')}:${b}`,
        KUBERNETES_SERVICE_HOST: '10.0.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      },
    });
    assert.equal(connection.server.href, 'https://10.1.2.3:6443/');
    assert.equal(connection.ca?.toString(), 'CA FROM A');
    assert.equal(connection.namespace, 'payments');
    assert.match(connection.source, /context "main"/);
    assert.deepEqual(await new CredentialSource(connection).current(), { token: 'token-from-a' });
  });

  it('reads data fields, insecure-skip-tls-verify and client certificates', () => {
    const path = write(
      'data/config',
      [
        'current-context: c',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
        `clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: ${Buffer.from('CA').toString('base64')}, insecure-skip-tls-verify: true, tls-server-name: api.internal}}]`,
        `users: [{name: u, user: {client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('KEY').toString('base64')}}}]`,
      ].join('\n'),
    );
    const c = loadKubernetesConnection({ kubeconfigPath: path });
    assert.equal(c.ca?.toString(), 'CA');
    assert.equal(c.insecureSkipTlsVerify, true);
    assert.equal(c.tlsServerName, 'api.internal');
    assert.equal(c.clientCertificate?.cert.toString(), 'CERT');
    assert.equal(c.clientCertificate?.key.toString(), 'KEY');
    assert.equal(c.namespace, undefined);
  });

  it('names what is wrong', () => {
    const config = (body: string) => ({ kubeconfigPath: write(`bad-${Math.random()}`, body) });
    throwsNaming(() => loadKubernetesConnection(config('clusters: []')), /current-context is not set/);
    throwsNaming(
      () => loadKubernetesConnection(config('current-context: x\ncontexts: []')),
      /current-context "x" is not among its contexts/,
    );
    throwsNaming(
      () =>
        loadKubernetesConnection(config('current-context: x\ncontexts: [{name: x, context: {cluster: k}}]')),
      /cluster "k" is not defined/,
    );
    throwsNaming(
      () =>
        loadKubernetesConnection(
          config(
            'current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://a:1"}}]\nusers: [{name: u, user: {auth-provider: {name: gcp}}}]',
          ),
        ),
      /auth-provider, which was removed .* use an exec credential plugin/,
    );
    throwsNaming(() => loadKubernetesConnection(config('clusters: [')), /is not valid YAML/);
    throwsNaming(
      () => loadKubernetesConnection({ kubeconfigPath: join(dir, 'nope') }),
      /kubeconfig .*nope does not exist/,
    );
    throwsNaming(
      () => loadKubernetesConnection({ env: {}, homeDir: join(dir, 'no-home') }),
      /no Kubernetes API configuration: KUBECONFIG is not set, this is not a pod/,
    );
  });
});

describe('in-cluster configuration', () => {
  it('uses the service account: server from the environment, CA, namespace, and a token re-read as it rotates', async () => {
    const sa = join(dir, 'sa');
    write('sa/token', 'first\n');
    write('sa/ca.crt', 'CLUSTER CA');
    write('sa/namespace', 'shop\n');
    const c = loadKubernetesConnection({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: sa,
    });
    assert.equal(c.server.origin, 'https://[fd00::1]');
    assert.equal(c.ca?.toString(), 'CLUSTER CA');
    assert.equal(c.namespace, 'shop');
    const credentials = new CredentialSource(c);
    assert.equal((await credentials.current()).token, 'first');
    writeFileSync(join(sa, 'token'), 'second\n');
    assert.equal((await credentials.current()).token, 'second');
  });

  it('says when the token is not mounted', () => {
    throwsNaming(
      () =>
        loadKubernetesConnection({
          env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
          serviceAccountDir: join(dir, 'empty'),
        }),
      /service-account token .* does not exist \(is automountServiceAccountToken false\?\)/,
    );
  });
});

describe('exec credential plugins', () => {
  it('runs the plugin with KUBERNETES_EXEC_INFO, keeps its token until rejected, then runs it again', async () => {
    const counter = join(dir, 'exec-count');
    writeFileSync(counter, '0');
    const plugin = write(
      'plugin.js',
      `const fs = require('node:fs');
       const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
       fs.writeFileSync(${JSON.stringify(counter)}, String(n));
       const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
       console.log(JSON.stringify({ apiVersion: info.apiVersion, kind: 'ExecCredential',
         status: { token: 'exec-' + n + '-' + process.env.EXTRA + '-' + info.spec.cluster.server } }));`,
    );
    const path = write(
      'exec/config',
      [
        'current-context: c',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users:',
        '- name: u',
        '  user:',
        '    exec:',
        '      apiVersion: client.authentication.k8s.io/v1',
        `      command: ${process.execPath}`,
        `      args: [${JSON.stringify(plugin)}]`,
        '      env: [{name: EXTRA, value: x}]',
        '      provideClusterInfo: true',
        '      interactiveMode: Never',
      ].join('\n'),
    );
    const credentials = new CredentialSource(loadKubernetesConnection({ kubeconfigPath: path }));
    assert.equal((await credentials.current()).token, 'exec-1-x-https://127.0.0.1:6443');
    assert.equal((await credentials.current()).token, 'exec-1-x-https://127.0.0.1:6443');
    credentials.invalidate();
    assert.equal((await credentials.current()).token, 'exec-2-x-https://127.0.0.1:6443');
    assert.equal(readFileSync(counter, 'utf8'), '2');
  });

  it('names a missing plugin with its install hint', async () => {
    const path = write(
      'exec-missing/config',
      [
        'current-context: c',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: gch-no-such-plugin, installHint: "install it with: apt-get install gch"}}}]',
      ].join('\n'),
    );
    await assert.rejects(
      new CredentialSource(loadKubernetesConnection({ kubeconfigPath: path })).current(),
      /credential plugin "gch-no-such-plugin" failed: command not found \(install it with: apt-get install gch\)/,
    );
  });
});

describe('the client against the double', () => {
  let double: KubernetesApiDouble;
  let pki: TestCa;

  before(async () => {
    pki = makeTestCa();
    double = await KubernetesApiDouble.start({
      tokens: { 'sa-token': ['shop'] },
      tls: { key: pki.server.key, cert: pki.server.cert },
    });
    double.applySlice('shop', {
      metadata: { name: 'web-a', labels: { [SERVICE_LABEL]: 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'web-0' } }],
      ports: [{ name: 'grpc', port: 50051 }],
    });
  });

  after(async () => {
    await double?.stop();
    pki?.cleanup();
  });

  const inCluster = (ca: Buffer) => {
    const sa = join(dir, `sa-${Math.random()}`);
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), ca);
    writeFileSync(join(sa, 'namespace'), 'shop');
    const port = new URL(double.url).port;
    return loadKubernetesConnection({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      serviceAccountDir: sa,
    });
  };

  it('lists over https in a pod, with the service account', async () => {
    const client = new KubernetesClient(inCluster(pki.ca.cert));
    const seen: string[] = [];
    const watch = new EndpointSliceWatch(client, 'shop', 'web');
    const controller = new AbortController();
    const done = watch.step(
      { onProgress: () => {}, onChange: (slices) => seen.push(...[...slices].map((s) => s.metadata.name)) },
      controller.signal,
    );
    const waitUntil = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await done.catch(() => {});
    client.close();
    assert.deepEqual(seen, ['web-a']);
  });

  it('fails naming the certificate problem with the wrong CA', async () => {
    const client = new KubernetesClient(inCluster(pki.otherCa.cert));
    await assert.rejects(
      client.getJson('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', { timeoutMs: 4000 }),
      /TLS: .*check the cluster's certificate-authority/,
    );
    client.close();
  });

  it('authenticates with a client certificate and key from the kubeconfig (files or data)', async () => {
    const mtls = await KubernetesApiDouble.start({
      tls: { key: pki.server.key, cert: pki.server.cert, clientCa: pki.ca.cert },
    });
    try {
      const config = (user: string) =>
        write(
          `mtls/config-${Math.random()}`,
          [
            'current-context: c',
            'contexts: [{name: c, context: {cluster: k, user: u}}]',
            `clusters: [{name: k, cluster: {server: "${mtls.url}", certificate-authority: ${pki.ca.certFile}}}]`,
            `users: [{name: u, user: ${user}}]`,
          ].join('\n'),
        );
      const path = '/apis/discovery.k8s.io/v1/namespaces/x/endpointslices';
      for (const user of [
        `{client-certificate: ${pki.client.certFile}, client-key: ${pki.client.keyFile}}`,
        `{client-certificate-data: ${pki.client.cert.toString('base64')}, client-key-data: ${pki.client.key.toString('base64')}}`,
      ]) {
        const client = new KubernetesClient(loadKubernetesConnection({ kubeconfigPath: config(user) }));
        const list = (await client.getJson(path, { timeoutMs: 4000 })) as { kind: string };
        assert.equal(list.kind, 'EndpointSliceList');
        client.close();
      }
      // Without one the server ends the handshake.
      const anonymous = new KubernetesClient(loadKubernetesConnection({ kubeconfigPath: config('{}') }));
      await assert.rejects(anonymous.getJson(path, { timeoutMs: 4000 }), KubernetesError);
      anonymous.close();
      assert.equal(mtls.requests.length, 2, 'only the two requests with a certificate got through');
    } finally {
      await mtls.stop();
    }
  });

  it('never sends a bearer token over plain http to a host that is not loopback', async () => {
    const plain = await KubernetesApiDouble.start({ tokens: { secret: '*' } });
    try {
      // 0.0.0.0 is not a loopback name, yet on Linux a connection to it reaches 127.0.0.1: if the
      // token went out, the double would see the request.
      const path = write(
        'plain/config',
        [
          'current-context: c',
          'contexts: [{name: c, context: {cluster: k, user: u}}]',
          `clusters: [{name: k, cluster: {server: "http://0.0.0.0:${new URL(plain.url).port}"}}]`,
          'users: [{name: u, user: {token: secret}}]',
        ].join('\n'),
      );
      const client = new KubernetesClient(loadKubernetesConnection({ kubeconfigPath: path }));
      await assert.rejects(
        client.getJson('/apis/discovery.k8s.io/v1/namespaces/x/endpointslices', { timeoutMs: 2000 }),
        /refusing to send a bearer token over plain http:\/\/ to 0\.0\.0\.0:\d+: .*use https:\/\/ \(plain http is allowed only to a loopback host/,
      );
      assert.equal(plain.requests.length, 0);
      // To a loopback host it is allowed (kubectl proxy, local tests).
      const loopback = write('plain/config2', readFileSync(path, 'utf8').replace('0.0.0.0', '127.0.0.1'));
      const ok = new KubernetesClient(loadKubernetesConnection({ kubeconfigPath: loopback }));
      const list = (await ok.getJson('/apis/discovery.k8s.io/v1/namespaces/x/endpointslices', {
        timeoutMs: 2000,
      })) as { kind: string };
      assert.equal(list.kind, 'EndpointSliceList');
      ok.close();
      client.close();
    } finally {
      await plain.stop();
    }
  });
});
