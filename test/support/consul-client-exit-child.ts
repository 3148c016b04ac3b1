// Child process for the shutdown tests: one call through a consul:// channel, then close the
// client (or, with "leave-open", not). The process must then exit by itself: no leaked sockets
// or timers keep it alive. It prints the outcome and leaves the exit to the event loop.
import { register } from '../../src/register';
import { createHelloClient, sayWithKey } from './hello-servers';

register();
const [agent, service, mode] = process.argv.slice(2);
const client = createHelloClient(`consul://${agent}/${service}?wait=5m`, [
  { consistent_hash: { hashHeader: 'x-user-id', algorithm: 'ketama' } },
]);
sayWithKey(client, 'x-user-id', 'user-1').then((outcome) => {
  process.stdout.write(`${outcome.serverId ?? `error: ${outcome.error?.details}`}\n`);
  if (mode !== 'leave-open') client.close();
});
