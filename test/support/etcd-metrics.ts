import type { EtcdServer } from './etcd-server';

/** Counts of RPCs an etcd has started since it (re)started, from its Prometheus `/metrics`. */
export interface EtcdRpcCounts {
  /** `etcdserverpb.KV/Range`: one per resolver (re-)sync, plus test probes. */
  readonly range: number;
  /** `etcdserverpb.Watch/Watch` streams opened. */
  readonly watch: number;
}

/**
 * Reads `grpc_server_started_total` from etcd's `/metrics` on its (plain http) client port.
 * The counters live in etcd's memory: they restart at 0 when etcd restarts.
 */
export async function etcdRpcCounts(etcd: EtcdServer): Promise<EtcdRpcCounts> {
  const response = await fetch(`http://${etcd.endpoint}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  const started = (method: string, service: string): number => {
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('grpc_server_started_total{') &&
          l.includes(`grpc_method="${method}"`) &&
          l.includes(`grpc_service="${service}"`),
      );
    if (!line) throw new Error(`etcd /metrics: no grpc_server_started_total for ${service}/${method}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { range: started('Range', 'etcdserverpb.KV'), watch: started('Watch', 'etcdserverpb.Watch') };
}
