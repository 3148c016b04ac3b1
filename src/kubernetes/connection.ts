import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { KubernetesError } from './errors';
import { type ExecConfig, type ExecResult, runExecCredentialPlugin } from './exec-credential';

/** Where a pod's service-account token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How requests authenticate. */
export type KubernetesAuth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** Re-read on every request: bound service-account tokens rotate (about hourly). */
  | { kind: 'token-file'; path: string }
  | { kind: 'exec'; exec: ExecConfig };

/** Where the API server is and how to talk to it. */
export interface KubernetesConnection {
  /** The API server's base URL (`https://host:port`, or `http://` for a local proxy). */
  readonly server: URL;
  /** PEM CA bundle; undefined: the system's CAs. */
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
  /** Client certificate and key (PEM). */
  readonly clientCertificate?: { cert: Buffer; key: Buffer };
  readonly auth: KubernetesAuth;
  /** The namespace of the kubeconfig context or the pod; undefined when neither names one. */
  readonly namespace?: string;
  /** Where this came from, for messages: `in-cluster service account` or `kubeconfig <files> (context <name>)`. */
  readonly source: string;
}

/** What {@link loadKubernetesConnection} reads; each part replaceable for tests. */
export interface ConnectionSources {
  /** Environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Directory of the service-account files (default {@link SERVICE_ACCOUNT_DIR}). */
  serviceAccountDir?: string;
  /** Home directory for `~/.kube/config` (default `os.homedir()`). */
  homeDir?: string;
  /** A kubeconfig file to use instead of the usual search (a channel option). */
  kubeconfigPath?: string;
}

/**
 * Finds the API server as kubectl and client-go do: an explicit kubeconfig path; else `KUBECONFIG`
 * (a list of files separated by `:`), which wins over in-cluster settings; else the pod's service
 * account (`KUBERNETES_SERVICE_HOST`/`_PORT` and its token, CA and namespace files); else
 * `~/.kube/config`.
 * @throws KubernetesError naming what is missing or malformed.
 */
export function loadKubernetesConnection(sources: ConnectionSources = {}): KubernetesConnection {
  const env = sources.env ?? process.env;
  if (sources.kubeconfigPath !== undefined) return loadKubeconfig([sources.kubeconfigPath], true);
  const list = (env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
  if (list.length > 0) return loadKubeconfig(list, false);
  if (env['KUBERNETES_SERVICE_HOST'] && env['KUBERNETES_SERVICE_PORT']) {
    return inClusterConnection(env, sources.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  }
  const home = sources.homeDir ?? homedir();
  const defaultPath = join(home, '.kube', 'config');
  if (existsSync(defaultPath)) return loadKubeconfig([defaultPath], true);
  throw new KubernetesError(
    `no Kubernetes API configuration: KUBECONFIG is not set, this is not a pod (KUBERNETES_SERVICE_HOST is not set) and ${defaultPath} does not exist`,
    undefined,
    'config',
  );
}

/** The in-cluster connection of a pod. */
export function inClusterConnection(env: NodeJS.ProcessEnv, dir: string): KubernetesConnection {
  const host = env['KUBERNETES_SERVICE_HOST']!;
  const port = env['KUBERNETES_SERVICE_PORT']!;
  const tokenPath = join(dir, 'token');
  const caPath = join(dir, 'ca.crt');
  if (!existsSync(tokenPath)) {
    throw new KubernetesError(
      `in-cluster configuration: the service-account token ${tokenPath} does not exist (is automountServiceAccountToken false?)`,
      undefined,
      'config',
    );
  }
  const server = parseServer(
    `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    'in-cluster configuration',
  );
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return {
    server,
    ca: readFileFor(caPath, 'in-cluster configuration: the service-account CA'),
    insecureSkipTlsVerify: false,
    auth: { kind: 'token-file', path: tokenPath },
    ...(namespace !== undefined && { namespace }),
    source: 'in-cluster service account',
  };
}

type YamlMap = Record<string, unknown>;

interface Named {
  name: string;
  value: YamlMap;
  /** The directory of the file that defined it: relative paths in it are relative to that. */
  dir: string;
}

function readFileFor(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new KubernetesError(
      `${what} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
      undefined,
      'config',
    );
  }
}

function parseServer(text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KubernetesError(`${where}: server "${text}" is not a URL`, undefined, 'config');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubernetesError(
      `${where}: server "${text}" must be an https:// (or http://) URL`,
      undefined,
      'config',
    );
  }
  return url;
}

/**
 * Loads kubeconfig files as kubectl merges them: for clusters, users and contexts the first file
 * that defines a name wins, and the first non-empty `current-context` wins. Relative paths are
 * relative to the file that holds them. Files of a `KUBECONFIG` list that do not exist are skipped,
 * as kubectl skips them.
 */
export function loadKubeconfig(paths: readonly string[], mustExist: boolean): KubernetesConnection {
  const { parse } = require('yaml') as typeof import('yaml');
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  let currentContext: string | undefined;
  const used: string[] = [];
  for (const path of paths) {
    const absolute = resolvePath(path);
    if (!existsSync(absolute)) {
      if (mustExist) throw new KubernetesError(`kubeconfig ${path} does not exist`, undefined, 'config');
      continue;
    }
    used.push(path);
    let doc: unknown;
    try {
      doc = parse(readFileFor(absolute, 'kubeconfig').toString('utf8'));
    } catch (error) {
      if (error instanceof KubernetesError) throw error;
      throw new KubernetesError(
        `kubeconfig ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
        undefined,
        'config',
      );
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new KubernetesError(`kubeconfig ${path} is not a YAML mapping`, undefined, 'config');
    }
    const config = doc as YamlMap;
    const dir = dirname(absolute);
    collect(config['clusters'], 'cluster', clusters, dir, path);
    collect(config['users'], 'user', users, dir, path);
    collect(config['contexts'], 'context', contexts, dir, path);
    const current = config['current-context'];
    if (currentContext === undefined && typeof current === 'string' && current !== '')
      currentContext = current;
  }
  const files = used.length > 0 ? used.join(delimiter) : paths.join(delimiter);
  const where = `kubeconfig ${files}`;
  if (used.length === 0)
    throw new KubernetesError(`${where}: none of these files exists`, undefined, 'config');
  if (currentContext === undefined) {
    throw new KubernetesError(
      `${where}: current-context is not set (kubectl config use-context <name>)`,
      undefined,
      'config',
    );
  }
  const context = contexts.get(currentContext);
  if (context === undefined) {
    throw new KubernetesError(
      `${where}: current-context "${currentContext}" is not among its contexts`,
      undefined,
      'config',
    );
  }
  const here = `${where} (context "${currentContext}")`;
  const clusterName = stringField(context.value, 'cluster', here);
  const cluster = clusters.get(clusterName ?? '');
  if (clusterName === undefined || cluster === undefined) {
    throw new KubernetesError(`${here}: cluster "${clusterName ?? ''}" is not defined`, undefined, 'config');
  }
  const userName = stringField(context.value, 'user', here);
  const user = userName === undefined ? undefined : users.get(userName);
  if (userName !== undefined && user === undefined) {
    throw new KubernetesError(`${here}: user "${userName}" is not defined`, undefined, 'config');
  }
  const serverText = stringField(cluster.value, 'server', here);
  if (serverText === undefined)
    throw new KubernetesError(`${here}: cluster "${clusterName}" has no server`, undefined, 'config');
  const server = parseServer(serverText, here);
  const ca = pemFrom(cluster, 'certificate-authority', here);
  const namespace = stringField(context.value, 'namespace', here);
  const tlsServerName = stringField(cluster.value, 'tls-server-name', here);
  const insecure = cluster.value['insecure-skip-tls-verify'] === true;
  const caDataText = stringField(cluster.value, 'certificate-authority-data', here);
  let auth: KubernetesAuth = { kind: 'none' };
  let clientCertificate: { cert: Buffer; key: Buffer } | undefined;
  if (user !== undefined) {
    const u = user.value;
    const token = stringField(u, 'token', here);
    const tokenFile = stringField(u, 'tokenFile', here);
    if (u['auth-provider'] !== undefined) {
      throw new KubernetesError(
        `${here}: user "${userName}" uses an auth-provider, which was removed from Kubernetes clients; use an exec credential plugin`,
        undefined,
        'config',
      );
    }
    if (u['exec'] !== undefined && u['exec'] !== null)
      auth = { kind: 'exec', exec: execFrom(u['exec'], user.dir, here) };
    else if (token !== undefined) auth = { kind: 'token', token };
    else if (tokenFile !== undefined) auth = { kind: 'token-file', path: resolvePath(user.dir, tokenFile) };
    else if (u['username'] !== undefined || u['password'] !== undefined) {
      throw new KubernetesError(
        `${here}: user "${userName}" uses basic auth (username/password), which Kubernetes removed`,
        undefined,
        'config',
      );
    }
    const cert = pemFrom(user, 'client-certificate', here);
    const key = pemFrom(user, 'client-key', here);
    if ((cert === undefined) !== (key === undefined)) {
      throw new KubernetesError(
        `${here}: user "${userName}" has a client certificate or key without the other`,
        undefined,
        'config',
      );
    }
    if (cert !== undefined && key !== undefined) clientCertificate = { cert, key };
  }
  if (auth.kind === 'exec' && caDataText !== undefined) auth.exec.caData = caDataText;
  return {
    server,
    ...(ca !== undefined && { ca }),
    insecureSkipTlsVerify: insecure,
    ...(tlsServerName !== undefined && { tlsServerName }),
    ...(clientCertificate !== undefined && { clientCertificate }),
    auth,
    ...(namespace !== undefined && { namespace }),
    source: here,
  };
}

function collect(list: unknown, field: string, into: Map<string, Named>, dir: string, path: string): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list))
    throw new KubernetesError(`kubeconfig ${path}: "${field}s" is not a list`, undefined, 'config');
  for (const item of list) {
    const name = (item as YamlMap | null)?.['name'];
    const value = (item as YamlMap | null)?.[field];
    if (typeof name !== 'string')
      throw new KubernetesError(
        `kubeconfig ${path}: an entry of "${field}s" has no name`,
        undefined,
        'config',
      );
    if (into.has(name)) continue;
    into.set(name, {
      name,
      value: value !== null && typeof value === 'object' ? (value as YamlMap) : {},
      dir,
    });
  }
}

function stringField(map: YamlMap, key: string, where: string): string | undefined {
  const value = map[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new KubernetesError(`${where}: "${key}" must be a string`, undefined, 'config');
  return value;
}

/** `<field>-data` (base64 PEM) or `<field>` (a file path). */
function pemFrom(entry: Named, field: string, where: string): Buffer | undefined {
  const data = stringField(entry.value, `${field}-data`, where);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const file = stringField(entry.value, field, where);
  if (file === undefined) return undefined;
  return readFileFor(isAbsolute(file) ? file : resolvePath(entry.dir, file), `${where}: ${field}`);
}

function execFrom(raw: unknown, dir: string, where: string): ExecConfig {
  if (typeof raw !== 'object' || raw === null)
    throw new KubernetesError(`${where}: user.exec is not a mapping`, undefined, 'config');
  const e = raw as YamlMap;
  const command = stringField(e, 'command', where);
  if (command === undefined)
    throw new KubernetesError(`${where}: user.exec has no command`, undefined, 'config');
  const args = Array.isArray(e['args']) ? e['args'].map(String) : [];
  const env = Array.isArray(e['env'])
    ? e['env'].map((v) => ({
        name: String((v as YamlMap)['name']),
        value: String((v as YamlMap)['value'] ?? ''),
      }))
    : [];
  return {
    apiVersion: stringField(e, 'apiVersion', where) ?? '',
    // A command with a path separator is relative to the kubeconfig file, as in kubectl.
    command: command.includes('/') && !isAbsolute(command) ? resolvePath(dir, command) : command,
    args,
    env,
    provideClusterInfo: e['provideClusterInfo'] === true,
    interactiveMode: stringField(e, 'interactiveMode', where),
    installHint: stringField(e, 'installHint', where),
  };
}

/** The credentials of requests, fetched fresh as they rotate. */
export interface RequestCredentials {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

/** Expire cached plugin credentials this long before their stated expiry. */
const EXPIRY_MARGIN_MS = 10_000;

/**
 * Produces each request's credentials: a token file is re-read every time (service-account tokens
 * rotate); an exec plugin's answer is kept until its expiry or until the API server rejects it.
 */
export class CredentialSource {
  private cached: { result: ExecResult; until: number } | null = null;
  private running: Promise<ExecResult> | null = null;

  constructor(private readonly connection: KubernetesConnection) {}

  async current(): Promise<RequestCredentials> {
    const c = this.connection;
    const base: RequestCredentials = c.clientCertificate
      ? { cert: c.clientCertificate.cert, key: c.clientCertificate.key }
      : {};
    switch (c.auth.kind) {
      case 'none':
        return base;
      case 'token':
        return { ...base, token: c.auth.token };
      case 'token-file': {
        let token: string;
        try {
          token = (await fsp.readFile(c.auth.path, 'utf8')).trim();
        } catch (error) {
          throw new KubernetesError(
            `the token file ${c.auth.path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
            undefined,
            'config',
          );
        }
        if (token === '')
          throw new KubernetesError(`the token file ${c.auth.path} is empty`, undefined, 'config');
        return { ...base, token };
      }
      case 'exec': {
        const result = await this.execResult(c.auth.exec);
        return {
          ...base,
          ...(result.token !== undefined && { token: result.token }),
          ...(result.cert !== undefined && { cert: Buffer.from(result.cert), key: Buffer.from(result.key!) }),
        };
      }
    }
  }

  /** The API server rejected the credentials (401): run the plugin again next time. */
  invalidate(): void {
    this.cached = null;
  }

  private execResult(exec: ExecConfig): Promise<ExecResult> {
    if (this.cached !== null && Date.now() < this.cached.until) return Promise.resolve(this.cached.result);
    this.running ??= runExecCredentialPlugin(exec, {
      server: this.connection.server.href.replace(/\/$/, ''),
      insecureSkipTlsVerify: this.connection.insecureSkipTlsVerify,
    })
      .then((result) => {
        this.cached = {
          result,
          until:
            result.expiresAt === undefined ? Number.POSITIVE_INFINITY : result.expiresAt - EXPIRY_MARGIN_MS,
        };
        return result;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
