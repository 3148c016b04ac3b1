import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../support/etcd-server';
import { runTsxChild } from '../support/tsx-child';

describe('registerWithEtcd against an etcd that cannot be reached', () => {
  it('logs one ERROR line naming the endpoint at default verbosity; ready rejects after readyTimeoutMs', async () => {
    const port = await freePort(); // nothing listens there
    const env = { ...process.env };
    delete env['GRPC_VERBOSITY'];
    delete env['GRPC_TRACE'];
    const result = await runTsxChild(
      join(__dirname, 'fixtures', 'etcd-unreachable.ts'),
      [`127.0.0.1:${port}`, '1500'],
      {
        env,
        killAfterMs: 20_000,
      },
    );
    assert.equal(result.code, 0, result.output);
    const errors = result.stderr.split('\n').filter((line) => line.includes('etcd-registration'));
    // Retried every ≤100 ms for 1.5 s, yet one line for the one outage.
    assert.equal(errors.length, 1, result.stderr);
    assert.match(
      errors[0]!,
      /^E .*consistent_hash etcd-registration: unreachable-svc\/one: cannot register with etcd at 127\.0\.0\.1:\d+ \(registering: /,
    );
    assert.ok(errors[0]!.includes(`127.0.0.1:${port}`));
    assert.doesNotMatch(errors[0]!, /Resolution note/, 'no dangling empty note');
    const rejected = /ready rejected after (\d+) ms: (.*)/.exec(result.stdout);
    assert.ok(rejected, result.stdout);
    const after = Number(rejected[1]);
    assert.ok(after >= 1400 && after < 5000, `rejected after ${after} ms`);
    assert.match(
      rejected[2]!,
      /etcd registration unreachable-svc\/one is not in etcd after 1500 ms: cannot register with etcd at 127\.0\.0\.1:\d+: .*; still retrying/,
    );
  });
});
