// Child process for the end-to-end bench: starts `count` hello servers on 127.0.0.1 ephemeral
// ports, prints their addresses as one JSON line, and exits when its stdin closes.
import { type RunningHelloServer, startHelloServer } from '../../example/hello-service';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 3);
  const servers: RunningHelloServer[] = [];
  for (let i = 0; i < count; i++) servers.push(await startHelloServer({ serverId: `server-${i}` }));
  process.stdout.write(`${JSON.stringify(servers.map((s) => s.address))}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of servers) s.server.forceShutdown();
    process.exit(0);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
