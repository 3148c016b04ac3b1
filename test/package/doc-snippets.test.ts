// The documentation's code compiles and runs. Every ```ts block of README.md and docs/**/*.md is
// type-checked, in one TypeScript program, against the package as published: the .d.ts files that
// `tsc -p tsconfig.build.json` emits, installed in node_modules and resolved through the package's
// `exports`, as a user's project would see them. Only blocks marked as fragments (```ts fragment,
// or a first line `// fragment`) are skipped. The README's quick start also runs: its three
// servers and its client, on loopback.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ts from 'typescript';
import { createRingBuilder } from '../../src/exports/rings';
import { type BuiltPackage, buildPackage, REPO_ROOT } from '../support/built-package';
import { type DocSnippet, snippetsOf, typescriptSnippets } from '../support/doc-snippets';
import { runTsxChild } from '../support/tsx-child';

const CHILD_TIMEOUT_MS = 15_000;

/** What a user's strict project would use; module resolution reads the package's `exports`. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
  strict: true,
  noUncheckedIndexedAccess: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

function snippetFileName(snippet: DocSnippet): string {
  return `${snippet.file.replace(/[/\\.]/g, '_')}_${snippet.line}.ts`;
}

/** Type-checks `snippets` in `dir`; returns one message per error, naming the Markdown file and line. */
function typeCheck(dir: string, snippets: readonly DocSnippet[]): string[] {
  const bySourceFile = new Map<string, DocSnippet>();
  for (const snippet of snippets) {
    const file = path.join(dir, snippetFileName(snippet));
    // `export {}` makes every block a module, so that blocks do not share one global scope.
    writeFileSync(file, `${snippet.code}export {};\n`);
    bySourceFile.set(file, snippet);
  }
  const program = ts.createProgram([...bySourceFile.keys()], COMPILER_OPTIONS);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const snippet = diagnostic.file ? bySourceFile.get(path.resolve(diagnostic.file.fileName)) : undefined;
    if (!diagnostic.file || diagnostic.start === undefined || !snippet) {
      return `${diagnostic.file?.fileName ?? '(program)'}: ${message}`;
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${snippet.file}:${snippet.line + line}:${character + 1}: ${message}`;
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The README's quick-start file whose code contains `marker`. */
function quickStart(language: string, marker: string): string {
  const found = snippetsOf('README.md').filter((s) => s.language === language && s.code.includes(marker));
  assert.equal(found.length, 1, `one README ${language} block containing ${marker}`);
  return found[0]!.code;
}

describe('documentation snippets', () => {
  let pkg: BuiltPackage;

  before(() => {
    pkg = buildPackage(true);
    // The quick start runs with tsx and loads proto-loader, as in a user's project.
    for (const name of ['tsx', '@types']) {
      symlinkSync(
        path.join(REPO_ROOT, 'node_modules', name),
        path.join(pkg.consumerDir, 'node_modules', name),
        'dir',
      );
    }
    writeFileSync(path.join(pkg.consumerDir, 'package.json'), '{ "name": "my-app", "private": true }\n');
  });

  after(() => pkg?.remove());

  it('type-checks every ts block of the README and docs/ against the published types', () => {
    const snippets = typescriptSnippets();
    const checked = snippets.filter((s) => !s.fragment);
    const dir = path.join(pkg.consumerDir, 'snippets');
    mkdirSync(dir);
    const errors = typeCheck(dir, checked);
    assert.deepEqual(errors, [], `${errors.length} type errors in documentation blocks`);
    assert.ok(checked.length >= 10, `checked ${checked.length} blocks`);
    assert.ok(
      checked.some((s) => s.file === 'README.md'),
      'the README quick start is among the checked blocks',
    );
    // A fragment must say so; everything else is checked.
    for (const s of snippets.filter((s) => s.fragment)) {
      assert.ok(s.file.startsWith('docs/'), `${s.file}:${s.line}: the README has no fragments`);
    }
  });

  it('reports a broken block with its file and line', () => {
    const dir = path.join(pkg.consumerDir, 'broken');
    mkdirSync(dir);
    const broken: DocSnippet = {
      file: 'docs/example.md',
      line: 40,
      language: 'ts',
      fragment: false,
      code: "import { register } from 'grpc-consistent-hash';\n\nregister(42);\n",
    };
    const errors = typeCheck(dir, [broken]);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^docs\/example\.md:42:\d+: Expected 0 arguments/);
  });

  it('runs the README quick start: each user sticks to the server that owns its key', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const withPorts = (code: string) =>
      code.replace(/5005([123])/g, (_, i: string) => String(ports[Number(i) - 1]));
    writeFileSync(path.join(pkg.consumerDir, 'hello.proto'), quickStart('proto', 'service Greeter'));
    writeFileSync(path.join(pkg.consumerDir, 'server.ts'), withPorts(quickStart('ts', 'new grpc.Server()')));
    writeFileSync(path.join(pkg.consumerDir, 'client.ts'), withPorts(quickStart('ts', 'register()')));

    let serverOutput = '';
    const waiters: { until: () => boolean; resolve: () => void }[] = [];
    /** Resolves once the servers' output satisfies `until` (checked on each chunk they write). */
    const serverOutputWhere = (until: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (until()) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`${what}; server output:\n${serverOutput}`)),
          CHILD_TIMEOUT_MS,
        );
        waiters.push({
          until,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
      cwd: pkg.consumerDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      serverOutput += chunk.toString();
      for (const waiter of waiters.splice(0)) {
        if (waiter.until()) waiter.resolve();
        else waiters.push(waiter);
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    const serverExited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    const count = (text: string) => serverOutput.split('\n').filter((l) => l.startsWith(text)).length;
    try {
      await serverOutputWhere(
        () => (serverOutput.match(/ listening on /g) ?? []).length === 3,
        'servers did not start',
      );
      const client = await runTsxChild('client.ts', [], {
        cwd: pkg.consumerDir,
        killAfterMs: CHILD_TIMEOUT_MS,
      });
      assert.equal(client.code, 0, client.output);

      // The ring the policy builds by default: ketama over the endpoints' host:port.
      const ring = createRingBuilder('ketama').build(ports.map((port) => ({ id: `127.0.0.1:${port}` })));
      const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
      for (const user of users) {
        const owner = ring.members[ring.memberAt(ring.locateKey(user))]!.id;
        const serverName = `server-${ports.indexOf(Number(owner.split(':')[1])) + 1}`;
        const replies = client.stdout.split('\n').filter((l) => l.startsWith(`hello ${user},`));
        assert.deepEqual(
          replies,
          [0, 1].map(() => `hello ${user}, from ${serverName} (peer ${owner})`),
          `${user}'s two calls both reach its owner ${owner}`,
        );
      }
      // The servers' log may trail the client's exit: wait for all 12 calls, then compare.
      await serverOutputWhere(() => count('server-') >= 3 + 12, 'the servers did not log 12 calls');
      for (const user of users) {
        const owner = ring.members[ring.memberAt(ring.locateKey(user))]!.id;
        const serverName = `server-${ports.indexOf(Number(owner.split(':')[1])) + 1}`;
        const served = serverOutput.split('\n').filter((l) => l.endsWith(` serves ${user}`));
        assert.deepEqual(served, [`${serverName} serves ${user}`, `${serverName} serves ${user}`]);
      }
    } finally {
      server.kill('SIGTERM');
      await serverExited;
    }
  });
});
