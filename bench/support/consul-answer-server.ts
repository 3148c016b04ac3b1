// Child process for the scale bench: answers Consul's `GET /v1/health/service/<name>` with one
// fixed list of `count` passing entries at loopback addresses 127.a.b.c port 1 (closed; the bench
// connects to none) and X-Consul-Index 1; a blocking query for index >= 1 is held until the client
// goes away. Prints "listening <host:port>" and exits when its stdin closes.
//   node --import tsx bench/support/consul-answer-server.ts <count>
import * as http from 'node:http';

const count = Number(process.argv[2] ?? 20000);
const entries = Array.from({ length: count }, (_, i) => {
  const address = `127.${1 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}`;
  const port = 1;
  return {
    Node: { Node: `node-${i}`, Address: address, Datacenter: 'dc1' },
    Service: { ID: `svc-${i}`, Service: 'big', Tags: ['v1'], Address: address, Port: port, Meta: {} },
    Checks: [{ Status: 'passing' }],
  };
});
const body = JSON.stringify(entries);

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  if (!url.pathname.startsWith('/v1/health/service/')) {
    response.writeHead(404).end();
    return;
  }
  if (Number(url.searchParams.get('index') ?? 0) >= 1) return; // a blocking query: nothing changes
  response.writeHead(200, { 'Content-Type': 'application/json', 'X-Consul-Index': '1' }).end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`listening 127.0.0.1:${address.port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
