import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ETCD_DESCRIPTOR, ETCD_LOADER_OPTIONS, type ProtoJsonDescriptor } from '../../src/etcd/protocol';

const ETCD_BINARY = process.env['ETCD_BINARY'] ?? 'etcd';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** Every etcd child still running, killed on process exit whatever happens. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killAll);
  // 'exit' does not run when a signal ends the process: kill etcd, then let the signal act as usual.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** A free loopback port: bind port 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Options for {@link startEtcd}. */
export interface EtcdServerOptions {
  /** Extra command-line flags. */
  extraArgs?: string[];
  /** Serve clients over TLS with this certificate (PEM files); the harness then talks TLS too. */
  tls?: { certFile: string; keyFile: string; ca: Buffer; clientCert?: { cert: Buffer; key: Buffer } };
  /** Start as one member of a cluster (see `EtcdCluster`): peers dial `advertisePeerUrl`. */
  member?: EtcdMemberSettings;
}

/** How one member of a multi-member cluster starts. */
export interface EtcdMemberSettings {
  name: string;
  /** The port etcd listens on for peers. */
  peerPort: number;
  /** The URL the other members dial (a proxy in front of `peerPort`, so a test can cut it). */
  advertisePeerUrl: string;
  /** `--initial-cluster`: `name=url,...` of every member. */
  initialCluster: string;
  /** `--initial-cluster-token`. */
  token: string;
}

/** A real etcd on loopback ephemeral ports with a temporary data dir. */
export class EtcdServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly extraArgs: string[],
    readonly tls: EtcdServerOptions['tls'],
    private readonly member: EtcdMemberSettings | undefined,
  ) {}

  /** Credentials for talking to this etcd (TLS when started with `tls`). */
  get credentials(): grpc.ChannelCredentials {
    if (!this.tls) return grpc.credentials.createInsecure();
    const client = this.tls.clientCert;
    return client
      ? grpc.credentials.createSsl(this.tls.ca, client.key, client.cert)
      : grpc.credentials.createSsl(this.tls.ca);
  }

  /** `127.0.0.1:<client port>`. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts etcd and waits (bounded) until it answers a Range. */
  static async start(options: EtcdServerOptions = {}): Promise<EtcdServer> {
    installExitHook();
    const dataDir = mkdtempSync(join(tmpdir(), 'gch-etcd-'));
    let clientPort = await freePort();
    const peerPort = options.member?.peerPort ?? (await freePort());
    while (peerPort === clientPort) clientPort = await freePort();
    const name = options.member?.name ?? `gch-${process.pid}-${clientPort}`;
    const server = new EtcdServer(
      name,
      clientPort,
      peerPort,
      dataDir,
      options.extraArgs ?? [],
      options.tls,
      options.member,
    );
    try {
      await server.launch();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  private async launch(): Promise<void> {
    const client = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name',
      this.name,
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      this.member?.advertisePeerUrl ?? peer,
      '--initial-cluster',
      this.member?.initialCluster ?? `${this.name}=${peer}`,
      '--initial-cluster-state',
      'new',
      ...(this.member ? ['--initial-cluster-token', this.member.token] : []),
      '--log-level',
      'warn',
      ...(this.tls ? ['--cert-file', this.tls.certFile, '--key-file', this.tls.keyFile] : []),
      ...this.extraArgs,
    ];
    // A clean environment: etcd reads every ETCD_* variable as a flag.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD')) env[k] = v;
    const child = spawn(ETCD_BINARY, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.output = '';
    liveChildren.add(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
      liveChildren.delete(child);
      if (this.child === child) this.child = undefined;
    });
    child.once('error', () => {
      exited = true;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`etcd exited during start-up:\n${this.output}`);
      if (await this.answers()) return;
      if (Date.now() > deadline)
        throw new Error(`etcd not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True when etcd answers a Range within a second (any answer, even an auth error, means it is up). */
  private answers(): Promise<boolean> {
    const admin = new EtcdAdmin(this.endpoint, undefined, this.credentials);
    return admin
      .call('KV', 'Range', { key: Buffer.from('gch-probe') }, 1000)
      .then(
        () => true,
        (error: grpc.ServiceError) =>
          error.code !== grpc.status.UNAVAILABLE && error.code !== grpc.status.DEADLINE_EXCEEDED,
      )
      .finally(() => admin.close());
  }

  /** SIGTERM, then SIGKILL after a bound; resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill(signal);
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** SIGSTOP: etcd freezes with its connections open, like a network partition. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** kill -9: no clean shutdown. */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  /** Starts etcd again on the same ports and data dir (after stop or kill). */
  async restart(): Promise<void> {
    if (this.child) await this.kill();
    await this.launch();
  }

  /** Stops etcd and removes its data dir. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts a real etcd; see {@link EtcdServer}. */
export function startEtcd(options?: EtcdServerOptions): Promise<EtcdServer> {
  return EtcdServer.start(options);
}

// Admin-only RPCs, for tests (enabling auth, compaction, revoking leases behind a registration's back).
const ADMIN_DESCRIPTOR = structuredClone(ETCD_DESCRIPTOR) as typeof ETCD_DESCRIPTOR & {
  nested: { etcdserverpb: { nested: Record<string, unknown> } };
};
const adminTypes = ADMIN_DESCRIPTOR.nested.etcdserverpb.nested as Record<string, unknown> & {
  Auth: { methods: Record<string, unknown> };
};
const headerOnly = { fields: { header: { type: 'ResponseHeader', id: 1 } } };
Object.assign(adminTypes, {
  AuthEnableRequest: { fields: {} },
  AuthEnableResponse: headerOnly,
  AuthUserAddRequest: { fields: { name: { type: 'string', id: 1 }, password: { type: 'string', id: 2 } } },
  AuthUserAddResponse: headerOnly,
  AuthRoleAddRequest: { fields: { name: { type: 'string', id: 1 } } },
  AuthRoleAddResponse: headerOnly,
  AuthUserGrantRoleRequest: { fields: { user: { type: 'string', id: 1 }, role: { type: 'string', id: 2 } } },
  AuthUserGrantRoleResponse: headerOnly,
});
Object.assign(adminTypes.Auth.methods, {
  AuthEnable: { requestType: 'AuthEnableRequest', responseType: 'AuthEnableResponse' },
  UserAdd: { requestType: 'AuthUserAddRequest', responseType: 'AuthUserAddResponse' },
  RoleAdd: { requestType: 'AuthRoleAddRequest', responseType: 'AuthRoleAddResponse' },
  UserGrantRole: { requestType: 'AuthUserGrantRoleRequest', responseType: 'AuthUserGrantRoleResponse' },
});
let adminServices: Record<string, grpc.ServiceClientConstructor> | undefined;

/** Direct etcd calls for tests (plain unary RPCs; `token` when auth is on). */
export class EtcdAdmin {
  private readonly channel: grpc.Channel;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    readonly endpoint: string,
    private readonly token?: string,
    private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    adminServices ??= (
      grpc.loadPackageDefinition(
        protoLoader.fromJSON(ADMIN_DESCRIPTOR as ProtoJsonDescriptor, ETCD_LOADER_OPTIONS),
      ) as unknown as {
        etcdserverpb: Record<string, grpc.ServiceClientConstructor>;
      }
    ).etcdserverpb;
    this.channel = new grpc.Channel(endpoint, credentials, {});
  }

  call(service: string, method: string, request: object, timeoutMs = 5000): Promise<Record<string, unknown>> {
    let client = this.clients.get(service);
    if (!client) {
      client = new adminServices![service]!(this.endpoint, this.credentials, {
        channelOverride: this.channel,
      });
      this.clients.set(service, client);
    }
    const metadata = new grpc.Metadata();
    if (this.token) metadata.set('token', this.token);
    const fn = (
      client as unknown as Record<
        string,
        (
          request: object,
          metadata: grpc.Metadata,
          options: grpc.CallOptions,
          callback: (error: grpc.ServiceError | null, response: Record<string, unknown>) => void,
        ) => void
      >
    )[method]!;
    return new Promise((resolve, reject) => {
      fn.call(
        client,
        request,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error: grpc.ServiceError | null, response: Record<string, unknown>) =>
          error ? reject(error) : resolve(response),
      );
    });
  }

  put(key: string, value: string, lease = '0'): Promise<unknown> {
    return this.call('KV', 'Put', { key: Buffer.from(key), value: Buffer.from(value), lease });
  }

  deleteKey(key: string): Promise<unknown> {
    return this.call('KV', 'DeleteRange', { key: Buffer.from(key) });
  }

  async get(key: string): Promise<string | undefined> {
    const response = (await this.call('KV', 'Range', { key: Buffer.from(key) })) as {
      kvs: { value: Buffer }[];
    };
    return response.kvs[0]?.value.toString();
  }

  /** The id of the lease `key` is bound to (`'0'` for none), or undefined when the key is absent. */
  async leaseOf(key: string): Promise<string | undefined> {
    const response = (await this.call('KV', 'Range', { key: Buffer.from(key) })) as {
      kvs: { lease: string }[];
    };
    return response.kvs[0]?.lease;
  }

  close(): void {
    this.channel.close();
  }
}

/** Turns authentication on in etcd, with a `root` user (role `root`) whose password is `password`. */
export async function enableRootAuth(endpoint: string, password: string): Promise<void> {
  const admin = new EtcdAdmin(endpoint);
  try {
    await admin.call('Auth', 'RoleAdd', { name: 'root' });
    await admin.call('Auth', 'UserAdd', { name: 'root', password });
    await admin.call('Auth', 'UserGrantRole', { user: 'root', role: 'root' });
    await admin.call('Auth', 'AuthEnable', {});
  } finally {
    admin.close();
  }
}
