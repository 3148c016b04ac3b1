import { execFile } from 'node:child_process';
import { KubernetesError } from './errors';

/** A kubeconfig user's `exec` section (client.authentication.k8s.io credential plugin). */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  provideClusterInfo: boolean;
  interactiveMode: string | undefined;
  installHint: string | undefined;
  /** The cluster's `certificate-authority-data`, passed on with `provideClusterInfo`. */
  caData?: string;
}

/** What a credential plugin returned. */
export interface ExecResult {
  token?: string;
  cert?: string;
  key?: string;
  /** ms since the epoch; undefined: valid until the API server rejects it. */
  expiresAt?: number;
}

const EXEC_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const SUPPORTED = new Set(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1']);

/**
 * Runs a kubeconfig `exec` credential plugin (EKS `aws eks get-token`, GKE
 * `gke-gcloud-auth-plugin`, kubelogin, …) non-interactively, as kubectl does, and parses its
 * `ExecCredential`.
 * @param cluster the cluster's server, passed when the plugin asks for `provideClusterInfo`
 */
export function runExecCredentialPlugin(
  exec: ExecConfig,
  cluster: { server: string; insecureSkipTlsVerify: boolean },
): Promise<ExecResult> {
  const what = `credential plugin "${exec.command}"`;
  if (!SUPPORTED.has(exec.apiVersion)) {
    return Promise.reject(
      new KubernetesError(
        `${what}: exec apiVersion "${exec.apiVersion}" is not supported (use client.authentication.k8s.io/v1 or v1beta1)`,
        undefined,
        'config',
      ),
    );
  }
  if (exec.interactiveMode === 'Always') {
    return Promise.reject(
      new KubernetesError(
        `${what}: interactiveMode "Always" needs a terminal, which a gRPC client does not have`,
        undefined,
        'config',
      ),
    );
  }
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo && {
        cluster: {
          server: cluster.server,
          ...(exec.caData !== undefined && { 'certificate-authority-data': exec.caData }),
          'insecure-skip-tls-verify': cluster.insecureSkipTlsVerify,
        },
      }),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const { name, value } of exec.env) env[name] = value;
  return new Promise((resolve, reject) => {
    execFile(
      exec.command,
      exec.args,
      { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const hint = code === 'ENOENT' && exec.installHint ? ` (${exec.installHint.trim()})` : '';
          const detail = String(stderr).trim().split('\n').slice(-3).join(' ').slice(0, 300);
          reject(
            new KubernetesError(
              `${what} failed: ${code === 'ENOENT' ? 'command not found' : error.message.split('\n')[0]}${detail ? `: ${detail}` : ''}${hint}`,
              undefined,
              'config',
            ),
          );
          return;
        }
        try {
          resolve(parseExecCredential(String(stdout), what));
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}

/** Parses a plugin's `ExecCredential` output. */
export function parseExecCredential(stdout: string, what: string): ExecResult {
  let body: unknown;
  try {
    body = JSON.parse(stdout);
  } catch {
    throw new KubernetesError(
      `${what} printed no ExecCredential JSON (${stdout.length} bytes)`,
      undefined,
      'config',
    );
  }
  const status = (body as { status?: Record<string, unknown> } | null)?.status;
  if (
    (body as { kind?: unknown })?.kind !== 'ExecCredential' ||
    status === null ||
    typeof status !== 'object'
  ) {
    throw new KubernetesError(
      `${what} printed JSON that is not an ExecCredential with a status`,
      undefined,
      'config',
    );
  }
  const result: ExecResult = {};
  if (typeof status['token'] === 'string' && status['token'] !== '') result.token = status['token'];
  if (typeof status['clientCertificateData'] === 'string' && typeof status['clientKeyData'] === 'string') {
    result.cert = status['clientCertificateData'];
    result.key = status['clientKeyData'];
  }
  if (result.token === undefined && result.cert === undefined) {
    throw new KubernetesError(
      `${what} returned neither a token nor a client certificate and key`,
      undefined,
      'config',
    );
  }
  const expiry = status['expirationTimestamp'];
  if (typeof expiry === 'string') {
    const at = Date.parse(expiry);
    if (Number.isFinite(at)) result.expiresAt = at;
  }
  return result;
}
