import * as net from 'node:net';

/** One proxied connection, with the etcd member that opened it (from its first request's headers). */
export interface PeerConnection {
  /** `X-Server-From` of the first HTTP request (the sending member's id, hex), or null when absent. */
  readonly from: string | null;
}

interface Tracked extends PeerConnection {
  from: string | null;
  readonly client: net.Socket;
  upstream: net.Socket | null;
}

const MAX_HEADER_BYTES = 16 * 1024;

/**
 * A TCP proxy in front of one etcd member's peer port, on 127.0.0.1 with an ephemeral port. etcd's
 * peer traffic (rafthttp) is HTTP/1.1 whose requests carry `X-Server-From: <member id>`, so the proxy
 * reads the first request's headers to know which member is talking, then forwards bytes as they are.
 * {@link block} cuts (and keeps cutting) the connections a predicate picks: a network partition.
 */
export class PeerProxy {
  private readonly connections = new Set<Tracked>();
  private blocked: (connection: PeerConnection) => boolean = () => false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy to `127.0.0.1:targetPort`. */
  static start(targetPort: number): Promise<PeerProxy> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const proxy = new PeerProxy(server, (server.address() as net.AddressInfo).port, targetPort);
        server.on('connection', (socket) => proxy.accept(socket));
        resolve(proxy);
      });
    });
  }

  /** `http://127.0.0.1:<port>`: the peer URL members advertise. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every connection `predicate` picks, now and from now on (`() => false` heals). */
  block(predicate: (connection: PeerConnection) => boolean): void {
    this.blocked = predicate;
    for (const c of this.connections) if (predicate(c)) this.drop(c);
  }

  /** Closes the listener and every connection. */
  stop(): Promise<void> {
    for (const c of this.connections) this.drop(c);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private drop(c: Tracked): void {
    c.client.destroy();
    c.upstream?.destroy();
    this.connections.delete(c);
  }

  private accept(client: net.Socket): void {
    const tracked: Tracked = { from: null, client, upstream: null };
    this.connections.add(tracked);
    client.on('error', () => this.drop(tracked));
    client.on('close', () => this.drop(tracked));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < MAX_HEADER_BYTES) return;
      client.off('data', onData);
      client.pause();
      const match = /^x-server-from:\s*([0-9a-f]+)\s*$/im.exec(
        head.subarray(0, end < 0 ? head.length : end).toString(),
      );
      tracked.from = match ? match[1]!.toLowerCase() : null;
      if (this.blocked(tracked)) {
        this.drop(tracked);
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      tracked.upstream = upstream;
      upstream.on('error', () => this.drop(tracked));
      upstream.on('close', () => this.drop(tracked));
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    client.on('data', onData);
  }
}
