import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { EtcdTls } from './credentials';
import { DEFAULT_ETCD_ENDPOINT, parseEtcdEndpointList } from './endpoint-list';

/** How to reach and authenticate to etcd. Everything is optional; the environment fills gaps. */
export interface EtcdConnectionOptions {
  /**
   * Client endpoints: `host:port`, optionally `http://` or `https://` (https implies TLS); an array or
   * a comma-separated string. Default: `ETCD_ENDPOINTS`, else 127.0.0.1:2379.
   */
  endpoints?: string | readonly string[];
  /** etcd user (default `ETCD_USERNAME`). */
  username?: string;
  /** etcd password (default `ETCD_PASSWORD`). Never logged. */
  password?: string;
  /**
   * TLS: `true` for system roots, PEM material, or channel credentials.
   * Default: PEM files named by `ETCD_CACERT`, `ETCD_CERT`, `ETCD_KEY`, or TLS when an endpoint is https://.
   */
  tls?: boolean | EtcdTls;
}

/** Fully resolved connection settings. `sharingKey` identifies equal settings without holding secrets in clear. */
export interface ResolvedEtcdConnection {
  /** `host:port` each. */
  readonly endpoints: readonly string[];
  readonly channelCredentials: grpc.ChannelCredentials;
  readonly username: string | undefined;
  /** The password behind a function, so that inspecting or serialising this object never shows it. */
  readonly password: () => string | undefined;
  readonly sharingKey: string;
}

const credentialIds = new WeakMap<object, number>();
let nextCredentialId = 1;
function identityOf(object: object): number {
  let id = credentialIds.get(object);
  if (id === undefined) {
    id = nextCredentialId++;
    credentialIds.set(object, id);
  }
  return id;
}

function digest(...parts: (string | Buffer | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(part === undefined ? '\u0000undefined' : part);
    hash.update('\u0000');
  }
  return hash.digest('hex').slice(0, 32);
}

function readPemFile(variable: string, env: NodeJS.ProcessEnv): Buffer | undefined {
  const path = env[variable];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${variable}: cannot read "${path}": ${(error as Error).message}`);
  }
}

/**
 * Resolves connection settings: explicit options first, then the environment
 * (`ETCD_ENDPOINTS`, `ETCD_USERNAME`, `ETCD_PASSWORD`, `ETCD_CACERT`, `ETCD_CERT`, `ETCD_KEY`).
 * Throws a clear error naming the bad field; never includes the password.
 */
export function resolveEtcdConnection(
  options: EtcdConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedEtcdConnection {
  const origin =
    options.endpoints !== undefined ? 'endpoints' : env['ETCD_ENDPOINTS'] ? 'ETCD_ENDPOINTS' : 'default';
  const { endpoints, secure: schemeSecure } = parseEtcdEndpointList(
    options.endpoints ?? (env['ETCD_ENDPOINTS'] || DEFAULT_ETCD_ENDPOINT),
    origin,
  );
  const username = options.username ?? (env['ETCD_USERNAME'] || undefined);
  const password =
    options.password ?? (options.username === undefined ? env['ETCD_PASSWORD'] || undefined : undefined);
  if (username !== undefined && (typeof username !== 'string' || username === '')) {
    throw new Error('username: must be a non-empty string');
  }
  if (password !== undefined && username === undefined) {
    throw new Error('password: given without a username');
  }

  let tls = options.tls;
  if (tls === undefined) {
    const ca = readPemFile('ETCD_CACERT', env);
    const cert = readPemFile('ETCD_CERT', env);
    const key = readPemFile('ETCD_KEY', env);
    if (ca || cert || key) tls = { ca, cert, key };
    else if (schemeSecure) tls = true;
  }
  if (tls !== undefined && tls !== false && schemeSecure === false) {
    throw new Error('tls: TLS is configured but the etcd endpoints say http://');
  }

  let channelCredentials: grpc.ChannelCredentials;
  let tlsKey: string;
  if (tls === undefined || tls === false) {
    channelCredentials = grpc.credentials.createInsecure();
    tlsKey = 'insecure';
  } else if (tls === true) {
    channelCredentials = grpc.credentials.createSsl();
    tlsKey = 'tls-system';
  } else if (tls instanceof grpc.ChannelCredentials) {
    channelCredentials = tls;
    tlsKey = `creds-${identityOf(tls)}`;
  } else {
    const toBuffer = (v: string | Buffer | undefined) => (typeof v === 'string' ? Buffer.from(v) : v);
    const ca = toBuffer(tls.ca);
    const cert = toBuffer(tls.cert);
    const key = toBuffer(tls.key);
    if ((cert === undefined) !== (key === undefined))
      throw new Error('tls: cert and key must be given together');
    channelCredentials = grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
    tlsKey = `pem-${digest(ca, cert, key)}`;
  }

  const sharingKey = [endpoints.join(','), tlsKey, username ?? '', digest(password)].join('|');
  return { endpoints, channelCredentials, username, password: () => password, sharingKey };
}
