import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../support/etcd-server';
import { runTsxChild } from '../support/tsx-child';

describe('a forgotten register()', () => {
  it("the key helpers say so at ERROR, at default verbosity, next to grpc-js's own message", async () => {
    const env = { ...process.env };
    delete env['GRPC_VERBOSITY'];
    delete env['GRPC_TRACE'];
    const port = await freePort();
    const result = await runTsxChild(join(__dirname, 'fixtures', 'forgotten-register.ts'), [String(port)], {
      env,
      killAfterMs: 20_000,
    });
    assert.equal(result.code, 0, result.output);
    // grpc-js's message, documented in the troubleshooting guide.
    assert.match(
      result.stdout,
      /call: UNAVAILABLE: Name resolution failed for target dns:static:\/\/\/127\.0\.0\.1:\d+/,
    );
    const lines = result.stderr.split('\n').filter((l) => l.includes('consistent_hash register:'));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0]!,
      /^E .*(withHashKey|createHashKeyInterceptor) is in use, but the consistent_hash policy is not registered with @grpc\/grpc-js: call register\(\) from grpc-consistent-hash once, before creating channels/,
    );
  });
});
