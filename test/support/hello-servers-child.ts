// Child process: starts `count` hello servers (ids server-0, server-1, …) on 127.0.0.1 ephemeral
// ports, prints their addresses as one JSON line, and stops them and exits when its stdin closes.
// For tests whose own event loop is busy on purpose: the servers answer from another process.
//   node --import tsx test/support/hello-servers-child.ts <count>
import { startHelloServers, stopAll } from './hello-servers';

async function main(): Promise<void> {
  const servers = await startHelloServers(Number(process.argv[2] ?? 3));
  process.stdout.write(`${JSON.stringify(servers.map((s) => s.address))}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    stopAll(servers).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
