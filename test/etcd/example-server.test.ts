import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerEtcdResolver } from '../../src/resolvers/etcd';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';
import { createHelloClient, sayWithKey, waitFor } from '../support/hello-servers';

let etcd: EtcdServer;

before(async () => {
  registerEtcdResolver();
  etcd = await startEtcd();
});

after(async () => {
  await etcd?.destroy();
});

describe('example server --etcd', () => {
  it('registers itself, serves calls found through etcd:, and deregisters on SIGTERM', async () => {
    const server = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, '..', '..', 'example', 'server.ts'),
        '--port',
        '0',
        '--id',
        'ex-1',
        '--etcd',
        etcd.endpoint,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const killTimer = setTimeout(() => server.kill('SIGKILL'), 30_000);
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const admin = new EtcdAdmin(etcd.endpoint);
    const client = createHelloClient(`etcd://${etcd.endpoint}/hello`, [{ round_robin: {} }]);
    try {
      await waitFor(
        () => output.includes('registered in etcd as hello/ex-1'),
        'example server registered',
        15_000,
      );
      const outcome = await sayWithKey(client, 'x-key', 'k', { waitForReady: true });
      assert.equal(outcome.serverId, 'ex-1');
      server.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(await admin.get('hello/ex-1'), undefined, 'key left behind after SIGTERM');
    } finally {
      clearTimeout(killTimer);
      server.kill('SIGKILL');
      client.close();
      admin.close();
    }
  });
});
