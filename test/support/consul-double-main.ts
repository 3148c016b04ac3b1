// Runs the Consul double as a standalone process, to exercise the real-agent test path:
//   node --import tsx test/support/consul-double-main.ts [port]
// prints "listening 127.0.0.1:<port>" and serves until SIGINT/SIGTERM.
import { ConsulDouble } from './consul-double';

async function main(): Promise<void> {
  const double = await ConsulDouble.start();
  const wanted = Number(process.argv[2] ?? 0);
  if (wanted) {
    await double.closeListener();
    (double as unknown as { port: number }).port = wanted;
    await double.reopenListener();
  }
  process.stdout.write(`listening ${double.address}\n`);
  const stop = () => {
    double.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
