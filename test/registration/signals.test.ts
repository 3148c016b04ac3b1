import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ConsulUnderTest, openConsul, uniqueServiceName } from '../support/consul-env';
import { healthInstances } from '../support/consul-http';
import { EtcdAdmin, type EtcdServer, startEtcd } from '../support/etcd-server';

const APP = join(__dirname, 'fixtures', 'signal-app.ts');
const children = new Set<ChildProcess>();
let consul: ConsulUnderTest;
let etcd: EtcdServer;
let admin: EtcdAdmin;

before(async () => {
  [consul, etcd] = await Promise.all([openConsul(), startEtcd()]);
  admin = new EtcdAdmin(etcd.endpoint);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  admin?.close();
  await Promise.all([consul?.close(), etcd?.destroy()]);
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the app, waits until it says "registered", sends `signal`, and resolves when it has ended. */
async function signalApp(
  handler: string,
  specs: string[],
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<Ended> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP, handler, ...specs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('registered\n')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`app exited early (${code}): ${stderr}`)));
    });
    child.kill(signal);
    const [code, endSignal] = await exited;
    return { code, signal: endSignal, stdout, stderr };
  } finally {
    clearTimeout(killTimer);
    children.delete(child);
  }
}

async function consulCount(service: string): Promise<number> {
  return (await healthInstances(consul.address, service, false)).length;
}

describe('deregisterOnSignal never cuts off the application', () => {
  it('no handler of its own: deregisters, then the process ends by the signal, as Node would', async () => {
    const service = uniqueServiceName('sig-none');
    const ended = await signalApp('none', [`consul=${consul.address}/${service}`]);
    assert.equal(ended.signal, 'SIGTERM', `code ${ended.code}; ${ended.stderr}`);
    assert.equal(await consulCount(service), 0);
  });

  it('no handler, etcd: the key is gone and the process ends by the signal (SIGINT too)', async () => {
    const ended = await signalApp('none', [`etcd=${etcd.endpoint}/sig-none-etcd/a`], 'SIGINT');
    assert.equal(ended.signal, 'SIGINT', `code ${ended.code}; ${ended.stderr}`);
    assert.equal(await admin.get('sig-none-etcd/a'), undefined);
  });

  it('an app handler installed with once: the app drains and exits 0; both registries are clean', async () => {
    const service = uniqueServiceName('sig-once');
    const ended = await signalApp('once', [
      `consul=${consul.address}/${service}`,
      `etcd=${etcd.endpoint}/sig-once/a`,
    ]);
    assert.equal(ended.signal, null, `ended by ${ended.signal}; stdout ${ended.stdout}`);
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, /drained/);
    assert.equal(await consulCount(service), 0);
    assert.equal(await admin.get('sig-once/a'), undefined);
  });

  it('an app handler installed with on: the same', async () => {
    const service = uniqueServiceName('sig-on');
    const ended = await signalApp('on', [
      `consul=${consul.address}/${service}`,
      `etcd=${etcd.endpoint}/sig-on/a`,
    ]);
    assert.equal(ended.code, 0, `${ended.signal} ${ended.stderr}`);
    assert.match(ended.stdout, /drained/);
    assert.equal(await consulCount(service), 0);
    assert.equal(await admin.get('sig-on/a'), undefined);
  });

  it('several registrations and no handler: every one is deregistered before the process ends', async () => {
    const first = uniqueServiceName('sig-two-a');
    const second = uniqueServiceName('sig-two-b');
    const ended = await signalApp('none', [
      `consul=${consul.address}/${first}`,
      `consul=${consul.address}/${second}`,
      `etcd=${etcd.endpoint}/sig-two/a`,
      `etcd=${etcd.endpoint}/sig-two/b`,
    ]);
    assert.equal(ended.signal, 'SIGTERM', `code ${ended.code}; ${ended.stderr}`);
    assert.equal(await consulCount(first), 0);
    assert.equal(await consulCount(second), 0);
    assert.equal(await admin.get('sig-two/a'), undefined);
    assert.equal(await admin.get('sig-two/b'), undefined);
  });
});
