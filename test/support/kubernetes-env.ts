/**
 * Where the Kubernetes tests run: against the in-process API double, or against a real cluster
 * when KUBECONFIG is set (then the double-only fault tests are skipped with a message). Slices are
 * written through the API (POST/PUT/DELETE) in both cases, so the same code runs against both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialSource, loadKubernetesConnection } from '../../src/kubernetes/connection';
import { type RunningHelloServer, startHelloServer } from './hello-servers';
import { KubernetesApiDouble, type KubernetesDoubleOptions, type StoredSlice } from './kubernetes-double';

/** The real cluster's kubeconfig, when the run targets one. */
export const REAL_KUBECONFIG: string | undefined = process.env['KUBECONFIG'] || undefined;

/** The skip message of tests that need the double's fault injection. */
export const NEEDS_DOUBLE = REAL_KUBECONFIG
  ? `needs the Kubernetes double's fault injection; skipped because KUBECONFIG=${REAL_KUBECONFIG} targets a real cluster`
  : false;

/** The label that ties a slice to its service. */
export const SERVICE_LABEL = 'kubernetes.io/service-name';

/** A Kubernetes API to test against. */
export interface KubernetesUnderTest {
  /** The kubeconfig file the clients use (KUBECONFIG is set to it in this process for the double). */
  readonly kubeconfigPath: string;
  readonly namespace: string;
  /** The double, or null for a real cluster. */
  readonly double: KubernetesApiDouble | null;
  /** The token file of the double's kubeconfig (rewrite it to rotate). */
  readonly tokenFile: string;
  /** Creates or replaces a slice through the API. */
  apply(slice: StoredSlice): Promise<void>;
  /** Deletes a slice through the API. */
  remove(name: string): Promise<void>;
  /** Writes a kubeconfig for the same API with another token (or namespace); returns its path. */
  kubeconfigWith(settings: { token?: string; namespace?: string }): string;
  close(): Promise<void>;
}

/** The token the double accepts by default. */
export const GOOD_TOKEN = 'test-token-good';

function kubeconfigText(server: string, user: string, namespace: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    // Another context first: the client must follow current-context, not take the first entry.
    'contexts:',
    '- name: other',
    '  context: {cluster: nowhere, user: nobody}',
    '- name: test',
    `  context: {cluster: double, user: client, namespace: ${namespace}}`,
    'current-context: test',
    'clusters:',
    '- name: nowhere',
    '  cluster: {server: "https://127.0.0.1:1"}',
    '- name: double',
    `  cluster: {server: "${server}"}`,
    'users:',
    '- name: nobody',
    '  user: {token: nobody}',
    '- name: client',
    `  user: ${user}`,
    '',
  ].join('\n');
}

/**
 * Opens the real cluster when KUBECONFIG is set, else starts a double in a fresh namespace with a
 * kubeconfig (bearer token from a token file) and points KUBECONFIG at it.
 */
export async function openKubernetes(options: KubernetesDoubleOptions = {}): Promise<KubernetesUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'gch-k8s-'));
  const tokenFile = join(dir, 'token');
  let double: KubernetesApiDouble | null = null;
  let kubeconfigPath: string;
  let namespace: string;
  if (REAL_KUBECONFIG) {
    kubeconfigPath = REAL_KUBECONFIG;
    namespace = process.env['KUBERNETES_TEST_NAMESPACE'] || loadKubernetesConnection().namespace || 'default';
  } else {
    namespace = `t-${randomBytes(3).toString('hex')}`;
    writeFileSync(tokenFile, `${GOOD_TOKEN}\n`);
    double = await KubernetesApiDouble.start({ tokens: { [GOOD_TOKEN]: '*' }, ...options });
    kubeconfigPath = join(dir, 'config');
    writeFileSync(kubeconfigPath, kubeconfigText(double.url, `{tokenFile: ${tokenFile}}`, namespace));
    process.env['KUBECONFIG'] = kubeconfigPath;
  }
  const connection = loadKubernetesConnection({ kubeconfigPath });
  const credentials = new CredentialSource(connection);
  const collection = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
  const send = async (method: string, path: string, body?: object): Promise<number> => {
    const auth = await credentials.current();
    const url = new URL(`${connection.server.href.replace(/\/$/, '')}${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.request(
        url,
        {
          method,
          headers: {
            'Content-Type': 'application/json',
            ...(auth.token !== undefined && { Authorization: `Bearer ${auth.token}` }),
          },
          ...(connection.ca !== undefined && { ca: connection.ca }),
          ...(auth.cert !== undefined && { cert: auth.cert, key: auth.key }),
          rejectUnauthorized: !connection.insecureSkipTlsVerify,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  };
  const written = new Set<string>();
  const env: KubernetesUnderTest = {
    kubeconfigPath,
    namespace,
    double,
    tokenFile,
    async apply(slice) {
      written.add(slice.metadata.name);
      const status = await send('PUT', `${collection}/${slice.metadata.name}`, slice);
      if (status === 404) {
        const created = await send('POST', collection, slice);
        if (created !== 201) throw new Error(`creating slice ${slice.metadata.name}: HTTP ${created}`);
      } else if (status !== 200) throw new Error(`replacing slice ${slice.metadata.name}: HTTP ${status}`);
    },
    async remove(name) {
      written.delete(name);
      const status = await send('DELETE', `${collection}/${name}`);
      if (status !== 200) throw new Error(`deleting slice ${name}: HTTP ${status}`);
    },
    kubeconfigWith(settings) {
      if (double === null) throw new Error('kubeconfigWith needs the double');
      const path = join(dir, `config-${randomBytes(3).toString('hex')}`);
      writeFileSync(
        path,
        kubeconfigText(
          double.url,
          `{token: ${settings.token ?? GOOD_TOKEN}}`,
          settings.namespace ?? namespace,
        ),
      );
      return path;
    },
    async close() {
      if (double === null) for (const name of [...written]) await env.remove(name).catch(() => {});
      await double?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

/** A unique service name (real clusters keep state between runs). */
export function uniqueService(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A pod: a real grpc-js server on its own loopback address, answering with its pod name. */
export interface Pod {
  readonly name: string;
  ip: string;
  server: RunningHelloServer;
  ready: boolean;
}

/**
 * Starts pods `<prefix>-0`, `<prefix>-1`, ... on 127.0.0.<firstHost>, 127.0.0.<firstHost+1>, ...,
 * all on one port, as the pods of a real slice share the target port.
 */
export async function startPods(prefix: string, count: number, firstHost = 2, port = 0): Promise<Pod[]> {
  const pods: Pod[] = [];
  let shared = port;
  for (let i = 0; i < count; i++) {
    const ip = `127.0.0.${firstHost + i}`;
    const server = await startHelloServer({ serverId: `${prefix}-${i}`, host: ip, port: shared });
    shared = server.port;
    pods.push({ name: `${prefix}-${i}`, ip, server, ready: true });
  }
  return pods;
}

/** Moves a pod to a new IP (a restarted StatefulSet pod): a new server there, the old one stopped. */
export async function movePod(pod: Pod, ip: string): Promise<void> {
  const server = await startHelloServer({ serverId: pod.name, host: ip, port: pod.server.port });
  await pod.server.stop();
  pod.server = server;
  pod.ip = ip;
}

/** An EndpointSlice of `service` with these pods, port `grpc` (and a `metrics` port). */
export function sliceOf(service: string, name: string, pods: readonly Pod[], port: number): StoredSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      labels: {
        [SERVICE_LABEL]: service,
        'endpointslice.kubernetes.io/managed-by': 'grpc-consistent-hash-tests',
      },
    },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: p.ready, serving: p.ready, terminating: false },
      targetRef: { kind: 'Pod', name: p.name },
      zone: 'zone-a',
    })),
    ports: [
      { name: 'grpc', port, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
  };
}
