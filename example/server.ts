// A hello server: answers Say with the text and its own id.
// Usage: node --import tsx example/server.ts --port 50051 --id server-1 [--host 127.0.0.1]
//        [--etcd 127.0.0.1:2379 [--etcd-target hello]]  (registers in etcd under <target>/<id>)
//        [--consul 127.0.0.1:8500 [--consul-service hello]]  (registers in Consul with a gRPC health check)
import { parseArgs } from 'node:util';
import { addHealthService, registerWithConsul } from '../src/exports/consul';
import { registerWithEtcd } from '../src/exports/etcd';
import { startHelloServer } from './hello-service';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '50051' },
      id: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      etcd: { type: 'string' },
      'etcd-target': { type: 'string', default: 'hello' },
      consul: { type: 'string' },
      'consul-service': { type: 'string', default: 'hello' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer 0-65535, got "${values.port}"`);
  }
  const serverId = values.id ?? `server-${port}`;
  const server = await startHelloServer({
    serverId,
    host: values.host,
    port,
    ...(values.consul && { configure: (s) => void addHealthService(s) }),
  });
  console.log(`hello server ${serverId} listening on ${server.address}`);
  const etcd = values.etcd
    ? registerWithEtcd({
        target: values['etcd-target']!,
        id: serverId,
        addr: server.address,
        endpoints: values.etcd,
      })
    : undefined;
  etcd?.ready.then(() => console.log(`registered in etcd as ${etcd.key}`)).catch(() => {});
  const consul = values.consul
    ? await registerWithConsul({
        agent: values.consul,
        service: values['consul-service']!,
        id: serverId,
        address: server.host,
        port: server.port,
        check: { type: 'grpc', interval: '5s', timeout: '2s' },
      })
    : undefined;
  if (consul) console.log(`registered in Consul as ${consul.id}`);
  const stop = () => {
    void Promise.all([etcd?.deregister(), consul?.deregister().catch(() => {})])
      .then(() => server.stop())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`server: ${e.message}`);
  process.exit(2);
});
