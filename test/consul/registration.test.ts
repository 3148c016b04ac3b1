import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConsulRegistrationError,
  consulRegistrationBody,
  registerWithConsul,
} from '../../src/registration/consul';
import { addHealthService, type ServerHealth } from '../../src/registration/health';
import { ConsulDouble } from '../support/consul-double';
import { type ConsulUnderTest, NEEDS_DOUBLE, openConsul, uniqueServiceName } from '../support/consul-env';
import { healthInstances, waitForInstanceCount } from '../support/consul-http';
import { type RunningHelloServer, startHelloServer, waitFor } from '../support/hello-servers';

describe('consulRegistrationBody', () => {
  it("builds Consul's register body with a gRPC check", () => {
    assert.deepEqual(
      consulRegistrationBody({
        service: 'web',
        address: '::1',
        port: 50051,
        tags: ['v1'],
        meta: { zone: 'a' },
        weight: 3,
        check: { type: 'grpc', interval: '5s' },
        deregisterCriticalServiceAfter: '1m',
      }),
      {
        Name: 'web',
        ID: 'web-::1-50051',
        Address: '::1',
        Port: 50051,
        Tags: ['v1'],
        Meta: { zone: 'a' },
        Weights: { Passing: 3, Warning: 1 },
        Check: {
          Name: 'web grpc check',
          GRPC: '[::1]:50051',
          GRPCUseTLS: false,
          Interval: '5s',
          Timeout: '5s',
          DeregisterCriticalServiceAfter: '1m',
        },
      },
    );
  });

  const bad: [string, object, RegExp][] = [
    ['empty service', { service: '', address: 'a', port: 1 }, /service must be/],
    ['bracketed address', { service: 's', address: '[::1]', port: 1 }, /address.*"\[::1\]"/],
    ['port 0', { service: 's', address: 'a', port: 0 }, /port must be.*got 0/],
    ['weight 0', { service: 's', address: 'a', port: 1, weight: 0 }, /weight must be.*got 0/],
    ['ttl 10', { service: 's', address: 'a', port: 1, check: { type: 'ttl', ttl: '10' } }, /check.ttl.*"10"/],
    [
      'bad interval',
      { service: 's', address: 'a', port: 1, check: { type: 'grpc', interval: 'x' } },
      /check.interval.*"x"/,
    ],
    ['check type', { service: 's', address: 'a', port: 1, check: { type: 'http' } }, /check.type.*"http"/],
    [
      'dcsa without check',
      { service: 's', address: 'a', port: 1, deregisterCriticalServiceAfter: '1m' },
      /needs a check/,
    ],
  ];
  for (const [what, options, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => consulRegistrationBody(options as Parameters<typeof consulRegistrationBody>[0]),
        (e: unknown) => e instanceof ConsulRegistrationError && message.test(e.message),
      );
    });
  }
});

describe('registerWithConsul', () => {
  let consul: ConsulUnderTest;
  let server: RunningHelloServer;
  let health: ServerHealth;
  before(async () => {
    consul = await openConsul();
    server = await startHelloServer({
      serverId: 'reg',
      configure: (s) => {
        health = addHealthService(s);
      },
    });
  });
  after(async () => {
    await server.stop();
    await consul.close();
  });

  it('registers with a gRPC check that Consul runs against the health service', async () => {
    const service = uniqueServiceName('grpc-check');
    const reg = await registerWithConsul({
      agent: consul.address,
      service,
      address: server.host,
      port: server.port,
      check: { type: 'grpc', interval: '1s', timeout: '1s' },
    });
    try {
      await waitForInstanceCount(consul.address, service, 1, 'passing', 10_000);
      health.setStatus('', 'NOT_SERVING');
      await waitForInstanceCount(consul.address, service, 0, 'critical', 10_000);
      health.setStatus('', 'SERVING');
      await waitForInstanceCount(consul.address, service, 1, 'passing', 10_000);
    } finally {
      health.setStatus('', 'SERVING');
      await reg.deregister();
    }
    assert.deepEqual(await healthInstances(consul.address, service, false), []);
  });

  it('registers with a TTL check, heartbeats it past the TTL, and stops on deregister()', async () => {
    const service = uniqueServiceName('ttl-check');
    const reg = await registerWithConsul({
      agent: consul.address,
      service,
      address: server.host,
      port: server.port,
      tags: ['t1'],
      meta: { zone: 'z1' },
      weight: 4,
      check: { type: 'ttl', ttl: '1s' },
    });
    assert.equal(reg.checkId, `service:${reg.id}`);
    // Passing at once (we pass right after registering), and still passing after 2 TTLs.
    assert.equal((await healthInstances(consul.address, service)).length, 1);
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 > 2000, 'two TTLs', 3000, 100);
    assert.equal((await healthInstances(consul.address, service)).length, 1, 'heartbeats kept it passing');
    if (consul.double) assert.ok(consul.double.count('PUT /v1/agent/check/pass/:id') >= 4);
    await reg.deregister();
    await reg.deregister(); // idempotent
    assert.deepEqual(await healthInstances(consul.address, service, false), []);
    if (consul.double) {
      const beats = consul.double.count('PUT /v1/agent/check/pass/:id');
      // No event marks "no heartbeat": with ttl 1s a heartbeat goes out every 333 ms, so a leaked
      // heartbeat timer would fire at least once in 600 ms.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(
        consul.double.count('PUT /v1/agent/check/pass/:id'),
        beats,
        'no heartbeat after deregister',
      );
    }
  });

  it('registers again when the agent forgot the service (TTL update answered 404)', {
    skip: NEEDS_DOUBLE,
  }, async () => {
    const double = consul.double!;
    const service = uniqueServiceName('reregister');
    const reg = await registerWithConsul({
      agent: consul.address,
      service,
      address: server.host,
      port: server.port,
      check: { type: 'ttl', ttl: '1s' },
    });
    try {
      const registers = double.count('PUT /v1/agent/service/register');
      double.simulateAgentRestart();
      assert.equal((await healthInstances(consul.address, service, false)).length, 0);
      await waitForInstanceCount(consul.address, service, 1, 'back and passing', 5000);
      assert.equal(double.count('PUT /v1/agent/service/register'), registers + 1);
    } finally {
      await reg.deregister();
    }
  });

  it('fails with a clear error when the agent refuses, without the token', {
    skip: NEEDS_DOUBLE,
  }, async () => {
    const acl = await ConsulDouble.start({ acl: { tokens: { reader: { serviceRead: true } } } });
    try {
      for (const [token, message] of [
        ['s3cret-unknown', /HTTP 403: ACL not found/],
        ['reader', /HTTP 403: Permission denied/],
      ] as const) {
        await assert.rejects(
          registerWithConsul({ agent: acl.address, token, service: 'web', address: '127.0.0.1', port: 1 }),
          (e: unknown) =>
            e instanceof ConsulRegistrationError &&
            message.test(e.message) &&
            e.message.includes(`Consul at http://${acl.address}`) &&
            !e.message.includes('s3cret'),
        );
      }
      assert.ok(acl.requests.every((r) => !r.query.has('token')));
    } finally {
      await acl.stop();
    }
  });

  it('takes an empty CONSUL_HTTP_ADDR as unset, as the resolver and Consul tools do', async () => {
    const saved = { addr: process.env['CONSUL_HTTP_ADDR'], ca: process.env['CONSUL_CACERT'] };
    process.env['CONSUL_HTTP_ADDR'] = '';
    // A missing CA file stops registration before any request: reaching that check shows the
    // agent was chosen (the default one) instead of refusing "" as an address.
    process.env['CONSUL_CACERT'] = join(__dirname, 'no-such-ca.pem');
    try {
      await assert.rejects(
        registerWithConsul({ service: 'web', address: '127.0.0.1', port: 1 }),
        (e: unknown) =>
          e instanceof ConsulRegistrationError &&
          /CONSUL_CACERT ".*no-such-ca\.pem": cannot read/.test(e.message) &&
          !e.message.includes('CONSUL_HTTP_ADDR'),
      );
    } finally {
      for (const [name, value] of [
        ['CONSUL_HTTP_ADDR', saved.addr],
        ['CONSUL_CACERT', saved.ca],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('Consul removes a critical instance after deregisterCriticalServiceAfter', {
    skip: NEEDS_DOUBLE,
  }, async () => {
    const service = uniqueServiceName('reaped');
    const reg = await registerWithConsul({
      agent: consul.address,
      service,
      address: '127.0.0.1',
      port: 1, // nothing listens: the gRPC check fails
      check: { type: 'grpc', interval: '100ms', timeout: '100ms' },
      deregisterCriticalServiceAfter: '300ms',
    });
    await waitForInstanceCount(consul.address, service, 0, 'reaped', 5000, false);
    await reg.deregister(); // deregistering a missing id is not an error
  });

  it('deregisters on SIGTERM and then lets the signal end the process', async () => {
    const service = uniqueServiceName('signal');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../support/consul-signal-child.ts'), consul.address, service],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      assert.match(out, /^registered /);
      assert.equal((await healthInstances(consul.address, service)).length, 1);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      assert.equal(signal, 'SIGTERM', `exit code ${code}`);
      assert.deepEqual(await healthInstances(consul.address, service, false), []);
    } finally {
      clearTimeout(killTimer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
