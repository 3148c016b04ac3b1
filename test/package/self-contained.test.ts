// A fresh clone must pass its own tests with nothing beside it: no source, test, script, benchmark,
// example or document may reach outside the repository, or cite the design notes that do not ship.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/built-package';

const CHECKED_DIRS = ['src', 'test', 'scripts', 'bench', 'example', 'docs', '.ci'];
const CHECKED_FILES = ['README.md', 'CHANGELOG.md', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const TEXT_FILE = /\.(ts|mts|cts|js|mjs|cjs|json|md|sh|proto|txt|ya?ml)$|^run$/;

// Built from pieces so that this file does not match its own patterns.
const DESIGN_NOTES = new RegExp(['DESIGN', String.raw`(\.md|\s*§)`].join(''));
const SHARED_VECTORS = new RegExp(['shared', 'vectors'].join('/'));
/** A relative path that climbs out of its directory: `../x`, `../../x/y`, as in imports, joins or links. */
const CLIMBING_PATH = /(?:\.\.\/)+[\w.@-]+(?:\/[\w.@-]+)*/g;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name === 'results') continue;
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) out.push(...filesUnder(file));
    else if (TEXT_FILE.test(name)) out.push(file);
  }
  return out;
}

function checkedFiles(): string[] {
  return [
    ...CHECKED_DIRS.flatMap((dir) => filesUnder(path.join(REPO_ROOT, dir))),
    ...CHECKED_FILES.map((file) => path.join(REPO_ROOT, file)).filter((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false;
      }
    }),
  ];
}

/** Every `file:line: text` in `files` for which `problem(line, file)` names a problem. */
function offences(files: string[], problem: (line: string, file: string) => string | null): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const what = problem(line, file);
      if (what) found.push(`${path.relative(REPO_ROOT, file)}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  return found;
}

/**
 * The relative paths in `line` that, resolved from the file's directory, land outside the
 * repository. In code every such path counts. In Markdown, shell commands legitimately name the
 * reader's own directories (`npm install ../grpc-consistent-hash`), so only link targets count,
 * and any path into a sibling `shared` directory.
 */
function escapingPaths(line: string, file: string): string[] {
  const markdown = file.endsWith('.md');
  const escaping: string[] = [];
  for (const match of line.matchAll(CLIMBING_PATH)) {
    const isLink = line.slice(0, match.index).endsWith('](');
    if (markdown && !isLink && !/(^|\/)shared(\/|$)/.test(match[0])) continue;
    const target = path.resolve(path.dirname(file), match[0]);
    if (path.relative(REPO_ROOT, target).startsWith('..')) escaping.push(match[0]);
  }
  // A path.join from __dirname with separate parent segments: count them.
  const segments = line.match(/'\.\.'/g)?.length ?? 0;
  if (!markdown && segments > 0 && /__dirname/.test(line)) {
    const target = path.resolve(path.dirname(file), ...Array(segments).fill('..'));
    if (path.relative(REPO_ROOT, target).startsWith('..')) escaping.push(`${segments} × '..' from __dirname`);
  }
  return escaping;
}

describe('the repository is self-contained', () => {
  const files = checkedFiles();

  it('checks the files it means to check', () => {
    const relative = files.map((f) => path.relative(REPO_ROOT, f));
    for (const expected of [
      'README.md',
      'test/support/ring-vectors.ts',
      'src/index.ts',
      'scripts/run-tests.mjs',
    ]) {
      assert.ok(relative.includes(expected), `${expected} not scanned`);
    }
  });

  it('cites no design notes and no vectors outside the repository', () => {
    const found = offences(files, (line) => {
      if (DESIGN_NOTES.test(line)) return 'cites the design notes';
      if (SHARED_VECTORS.test(line)) return 'reads vectors from outside the repository';
      return null;
    });
    assert.deepEqual(found, []);
  });

  it('has no relative path that leaves the repository', () => {
    const found = offences(files, (line, file) => {
      const escaping = escapingPaths(line, file);
      return escaping.length > 0 ? `leaves the repository (${escaping.join(', ')})` : null;
    });
    assert.deepEqual(found, []);
  });

  it('would catch the references it forbids', () => {
    const fakeFile = path.join(REPO_ROOT, 'test', 'support', 'example.ts');
    const up = (n: number) => '../'.repeat(n);
    assert.deepEqual(escapingPaths(`path.join(__dirname, '${up(3)}shared/x')`, fakeFile), [
      `${up(3)}shared/x`,
    ]);
    assert.equal(escapingPaths(`path.join(__dirname, ${"'..', ".repeat(3)}'x')`, fakeFile).length, 1);
    assert.deepEqual(escapingPaths(`import { x } from '../shared/backoff';`, fakeFile), []);
    const readme = path.join(REPO_ROOT, 'README.md');
    assert.deepEqual(escapingPaths('see [vectors](../x/y.json)', readme), ['../x/y.json']);
    assert.deepEqual(escapingPaths(`read \`../${'shared'}/x.json\``, readme), [`../${'shared'}/x.json`]);
    assert.deepEqual(escapingPaths('npm install ../grpc-consistent-hash', readme), []);
    assert.deepEqual(
      escapingPaths('[rings](../rings.md)', path.join(REPO_ROOT, 'docs', 'resolvers', 'x.md')),
      [],
    );
    assert.ok(DESIGN_NOTES.test(['see DESIGN', ' §2'].join('')));
    assert.ok(SHARED_VECTORS.test(`../${['shared', 'vectors'].join('/')}`));
  });
});
