import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Request and reply of `hello.Hello/Say` (see hello.proto). */
export interface SayRequest {
  text: string;
}
export interface SayReply {
  text: string;
  serverId: string;
}

/** The generated client for `hello.Hello`. */
export interface HelloClient extends grpc.Client {
  say(
    request: SayRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: SayReply) => void,
  ): grpc.ClientUnaryCall;
  say(
    request: SayRequest,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, reply?: SayReply) => void,
  ): grpc.ClientUnaryCall;
}

const packageDefinition = protoLoader.loadSync(path.join(__dirname, 'hello.proto'), {
  keepCase: false,
  longs: String,
  defaults: true,
});
const helloPackage = (
  grpc.loadPackageDefinition(packageDefinition) as unknown as {
    hello: { Hello: grpc.ServiceClientConstructor };
  }
).hello;

/** Client constructor for `hello.Hello`. */
export const HelloClientConstructor = helloPackage.Hello as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => HelloClient;

/** The `hello.Hello` service definition, for `server.addService`. */
export const helloServiceDefinition = helloPackage.Hello.service;

/** A running hello server. */
export interface RunningHelloServer {
  readonly serverId: string;
  readonly server: grpc.Server;
  readonly host: string;
  readonly port: number;
  /** `host:port` as a target address. */
  readonly address: string;
  /** Stops the server at once (in-flight calls are cancelled). */
  stop(): Promise<void>;
}

/** Options for {@link startHelloServer}. */
export interface HelloServerOptions {
  serverId: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Adds further services (e.g. grpc.health.v1) before the server starts. */
  configure?: (server: grpc.Server) => void;
  /** Replaces the default `Say` handler (which answers at once), e.g. to hold calls open. */
  say?: grpc.handleUnaryCall<SayRequest, SayReply>;
}

/** Starts a hello server that answers `Say` with the request text and its own id. */
export async function startHelloServer(options: HelloServerOptions): Promise<RunningHelloServer> {
  const host = options.host ?? '127.0.0.1';
  const server = new grpc.Server();
  server.addService(helloServiceDefinition, {
    say:
      options.say ??
      ((call: grpc.ServerUnaryCall<SayRequest, SayReply>, callback: grpc.sendUnaryData<SayReply>) => {
        callback(null, { text: call.request.text, serverId: options.serverId });
      }),
  });
  options.configure?.(server);
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return {
    serverId: options.serverId,
    server,
    host,
    port,
    address: `${bindHost}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
