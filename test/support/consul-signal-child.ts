// Child process for the signal test: registers with Consul (deregisterOnSignal), prints
// "registered <id>", and keeps a server running until a signal arrives.
import { registerWithConsul } from '../../src/registration/consul';
import { startHelloServer } from './hello-servers';

async function main(): Promise<void> {
  const [agent, service] = process.argv.slice(2);
  const server = await startHelloServer({ serverId: 'child' });
  const registration = await registerWithConsul({
    agent: agent!,
    service: service!,
    address: server.host,
    port: server.port,
    check: { type: 'ttl', ttl: '10s' },
    deregisterOnSignal: true,
  });
  process.stdout.write(`registered ${registration.id}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`child failed: ${(error as Error).message}\n`);
  process.exit(1);
});
