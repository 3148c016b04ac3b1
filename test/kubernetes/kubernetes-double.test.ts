// The API double checked against a real client nobody here wrote: kubectl (Debian's
// kubernetes-client, installed by scripts/ensure-test-tools.sh when no kubectl is on PATH). kubectl
// reads the discovery documents, lists with a label selector, watches (NDJSON events, printed with
// --output-watch-events) and reports 401/403 Status bodies as it does against a real API server.
// Then the watch semantics our client relies on: resourceVersion, bookmarks, timeoutSeconds, 410.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubernetesApiDouble, type StoredSlice } from '../support/kubernetes-double';
import { SERVICE_LABEL } from '../support/kubernetes-env';
import { makeTestCa, type TestCa } from '../support/test-ca';

const run = promisify(execFile);
const NS = 'shop';

const slice = (name: string, service: string, ips: string[]): StoredSlice => ({
  metadata: { name, labels: { [SERVICE_LABEL]: service } },
  addressType: 'IPv4',
  endpoints: ips.map((ip, i) => ({
    addresses: [ip],
    conditions: { ready: true },
    targetRef: { kind: 'Pod', name: `${name}-${i}` },
  })),
  ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }],
});

describe('the Kubernetes API double, seen by kubectl', () => {
  let double: KubernetesApiDouble;
  let pki: TestCa;
  let dir: string;
  let kubectlVersion = '';

  const kubeconfig = (token: string) => {
    const path = join(dir, `config-${token}`);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: double',
        'contexts: [{name: double, context: {cluster: double, user: u, namespace: shop}}]',
        `clusters: [{name: double, cluster: {server: "${double.url}", certificate-authority: ${pki.ca.certFile}}}]`,
        `users: [{name: u, user: {token: ${token}}}]`,
      ].join('\n'),
    );
    return path;
  };
  // HOME is a temp dir, so kubectl's discovery cache starts empty and stays out of the real home.
  const kubectl = (token: string, args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig(token), ...args], {
      env: { ...process.env, HOME: dir, KUBECONFIG: '' },
      timeout: 20_000,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gch-kubectl-'));
    pki = makeTestCa();
    // kubectl sends no bearer token over plain http, so the double serves https here.
    double = await KubernetesApiDouble.start({
      tls: { key: pki.server.key, cert: pki.server.cert },
      tokens: { good: '*', limited: ['elsewhere'] },
    });
    double.applySlice(NS, slice('web-a', 'web', ['10.0.0.1', '10.0.0.2']));
    double.applySlice(NS, slice('web-b', 'web', ['10.0.0.3']));
    double.applySlice(NS, slice('db-a', 'db', ['10.0.1.1']));
    kubectlVersion =
      (await run('kubectl', ['version', '--client'], { timeout: 20_000 })).stdout.split('\n')[0] ?? '';
  });

  after(async () => {
    await double?.stop();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl get endpointslices -o json lists by label, through discovery', async () => {
    const { stdout } = await kubectl('good', [
      'get',
      'endpointslices',
      '-o',
      'json',
      '-l',
      `${SERVICE_LABEL}=web`,
    ]);
    const list = JSON.parse(stdout) as { items: StoredSlice[] };
    assert.deepEqual(list.items.map((s) => s.metadata.name).sort(), ['web-a', 'web-b'], kubectlVersion);
    const a = list.items.find((s) => s.metadata.name === 'web-a') as unknown as {
      endpoints: { addresses: string[] }[];
    };
    assert.deepEqual(
      a.endpoints.map((e) => e.addresses[0]),
      ['10.0.0.1', '10.0.0.2'],
    );
    const paths = double.requests.map((r) => r.path);
    for (const p of ['/api', '/apis', '/apis/discovery.k8s.io/v1'])
      assert.ok(paths.includes(p), `kubectl read ${p}`);
    console.log(`# kubectl check passed with ${kubectlVersion}`);
  });

  it('kubectl reports the 401 and 403 Status bodies', async () => {
    await assert.rejects(kubectl('wrong', ['get', 'endpointslices', '-o', 'json']), (e: { stderr: string }) =>
      /Unauthorized/.test(e.stderr),
    );
    await assert.rejects(
      kubectl('limited', ['get', 'endpointslices', '-o', 'json']),
      (e: { stderr: string }) =>
        /endpointslices.discovery.k8s.io is forbidden: User ".*" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "shop"/.test(
          e.stderr,
        ),
    );
  });

  it('kubectl get --watch decodes the NDJSON event stream', async () => {
    const child: ChildProcess = spawn(
      'kubectl',
      [
        '--kubeconfig',
        kubeconfig('good'),
        'get',
        'endpointslices',
        '-l',
        `${SERVICE_LABEL}=db`,
        '--watch',
        '-o',
        'json',
        '--output-watch-events',
      ],
      { env: { ...process.env, HOME: dir, KUBECONFIG: '' } },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      const events = async (count: number) => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          // kubectl prints each event as an indented JSON object; split on top-level objects.
          const objects = out.split(/\n(?=\{)/).filter((t) => t.trim() !== '');
          const parsed = objects.flatMap((t) => {
            try {
              return [JSON.parse(t) as { type: string; object: StoredSlice }];
            } catch {
              return [];
            }
          });
          if (parsed.length >= count) return parsed;
          if (Date.now() > deadline) throw new Error(`kubectl printed ${parsed.length} events: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const first = await events(1);
      assert.equal(first[0]?.type, 'ADDED');
      assert.equal(first[0]?.object.metadata.name, 'db-a');
      while (double.openWatches === 0) await new Promise((r) => setTimeout(r, 20));
      double.applySlice(NS, slice('db-a', 'db', ['10.0.1.1', '10.0.1.2']));
      double.deleteSlice(NS, 'db-a');
      const all = await events(3);
      assert.deepEqual(
        all.map((e) => e.type),
        ['ADDED', 'MODIFIED', 'DELETED'],
      );
      assert.equal((all[1]!.object as unknown as { endpoints: unknown[] }).endpoints.length, 2);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});

describe('the double’s watch semantics', () => {
  let double: KubernetesApiDouble;
  before(async () => {
    double = await KubernetesApiDouble.start({ bookmarkIntervalMs: 0 });
  });
  after(() => double?.stop());

  /** Opens a watch and collects its lines until it ends or `ms` pass. */
  const watch = (query: string, ms: number) =>
    new Promise<{
      status: number;
      lines: {
        type: string;
        object: { metadata: { resourceVersion: string; name?: string }; code?: number };
      }[];
      ended: boolean;
    }>((resolve, reject) => {
      const req = http.get(
        `${double.url}/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?${query}`,
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          const finish = (ended: boolean) => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              lines: body
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l)),
              ended,
            });
            req.destroy();
          };
          const timer = setTimeout(() => finish(false), ms);
          res.on('end', () => finish(true));
        },
      );
      req.on('error', reject);
    });

  it('replays from a resourceVersion, sends bookmarks, honours timeoutSeconds, and answers 410 both ways', async () => {
    const rv = double.applySlice(NS, slice('w-a', 'w', ['10.0.2.1']));
    double.applySlice(NS, slice('w-a', 'w', ['10.0.2.1', '10.0.2.2']));
    const replay = watch(
      `watch=1&labelSelector=${SERVICE_LABEL}%3Dw&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`,
      5000,
    );
    while (double.openWatches === 0) await new Promise((r) => setTimeout(r, 10));
    double.sendBookmarks();
    const result = await replay;
    assert.equal(result.ended, true, 'ended by timeoutSeconds');
    assert.deepEqual(
      result.lines.map((l) => l.type),
      ['MODIFIED', 'BOOKMARK'],
    );
    assert.equal(result.lines[1]!.object.metadata.resourceVersion, String(double.currentResourceVersion));

    double.compact();
    double.goneAs = 'event';
    const asEvent = await watch(`watch=1&resourceVersion=${rv}`, 5000);
    assert.equal(asEvent.status, 200);
    assert.equal(asEvent.lines[0]?.type, 'ERROR');
    assert.equal(asEvent.lines[0]?.object.code, 410);
    double.goneAs = 'http';
    const asStatus = await watch(`watch=1&resourceVersion=${rv}`, 5000);
    assert.equal(asStatus.status, 410);
  });
});
