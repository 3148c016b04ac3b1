import * as net from 'node:net';

/** A loopback TCP proxy in front of a server that counts the connections clients open. */
export interface CountingProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) that forwards to 127.0.0.1:`targetPort`. */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      // As grpc-js does: without it, Nagle + delayed ACKs add ~40 ms to small request/response pairs.
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
