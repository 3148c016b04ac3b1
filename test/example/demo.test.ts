import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runTsxChild, type TsxChildResult } from '../support/tsx-child';

const ROOT = path.join(__dirname, '..', '..');

function runDemo(args: string[] = []): Promise<TsxChildResult> {
  return runTsxChild('example/demo.ts', args, { cwd: ROOT, killAfterMs: 30_000 });
}

describe('npm run demo', () => {
  it('runs to completion, exit 0, with a table whose checks all hold', async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await runDemo();
    assert.equal(code, 0, `exit code; stdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.ok(Date.now() - started < 20_000, 'ends by itself within seconds');
    assert.match(stdout, /^key\s+owner\s+failover, server-\d down\s+strict, server-\d down\s+restarted$/m);
    const rows = stdout
      .split('\n')
      .filter((l) => /^(alice|bob|carol|dave|erin|frank|grace|heidi|ivan|judy|mallory|oscar)\s/.test(l));
    assert.equal(rows.length, 12);
    assert.ok(
      rows.some((r) => r.includes('(moved)') && r.includes('UNAVAILABLE')),
      'some keys moved / failed',
    );
    assert.ok(
      rows.some((r) => !r.includes('(moved)')),
      'some keys stayed',
    );
    const checks = stdout.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
    assert.equal(checks.length, 6);
    assert.match(
      stdout,
      /^ok {3}a call without a key failed at once: consistent_hash: the call has no "x-user-id" header/m,
    );
    assert.match(stdout, /^keys per server: server-1 \d+, server-2 \d+, server-3 \d+$/m);
    assert.ok(
      checks.every((l) => l.startsWith('ok')),
      checks.join('\n'),
    );
  });
});
