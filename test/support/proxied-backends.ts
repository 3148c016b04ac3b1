import { type CountingProxy, startCountingProxy } from './counting-proxy';
import { type RunningHelloServer, startHelloServer } from './hello-servers';

/** A hello server behind a counting proxy: registries advertise the proxy, so every connection is counted. */
export interface ProxiedBackend {
  readonly server: RunningHelloServer;
  readonly proxy: CountingProxy;
  /** The proxy's `host:port`: the address to register. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly serverId: string;
}

/** Starts `count` hello servers (`server-0`...) each behind its own counting proxy, on 127.0.0.1. */
export async function startProxiedBackends(count: number): Promise<ProxiedBackend[]> {
  const out: ProxiedBackend[] = [];
  for (let i = 0; i < count; i++) {
    const server = await startHelloServer({ serverId: `server-${i}` });
    const proxy = await startCountingProxy(server.port);
    const port = Number(proxy.address.split(':')[1]);
    out.push({ server, proxy, address: proxy.address, host: '127.0.0.1', port, serverId: server.serverId });
  }
  return out;
}

/** Connections accepted by all the backends' proxies. */
export function backendConnections(backends: readonly ProxiedBackend[]): number {
  return backends.reduce((sum, b) => sum + b.proxy.connections, 0);
}

/** Stops the proxies and the servers. */
export async function stopProxiedBackends(backends: readonly ProxiedBackend[]): Promise<void> {
  await Promise.all(backends.map(async (b) => Promise.all([b.proxy.close(), b.server.stop()])));
}
