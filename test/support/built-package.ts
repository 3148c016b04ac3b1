// Builds the package as it is published (tsc with tsconfig.build.json) into a temporary directory,
// laid out as an installed dependency, so that a consumer's `require('grpc-consistent-hash/...')`
// resolves through the package's own `exports`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** A built copy of the package, installed in `<consumerDir>/node_modules/grpc-consistent-hash`. */
export interface BuiltPackage {
  /** Where a consumer runs: `require('grpc-consistent-hash')` and `require('@grpc/grpc-js')` resolve here. */
  consumerDir: string;
  /** The installed package's own directory (package.json, README.md, CHANGELOG.md, LICENSE, dist/). */
  packageDir: string;
  /** Removes everything. */
  remove(): void;
}

/**
 * Compiles `src` into a temporary installed package. `@grpc/grpc-js` and the package's
 * dependencies resolve to the repository's `node_modules` (one grpc-js instance for consumer and
 * package, as npm would install it).
 * @param declarations also emit the `.d.ts` files (slower)
 * @param sourceRoot the checkout to build (default this repository), e.g. an older one to compare with
 */
export function buildPackage(declarations = false, sourceRoot = REPO_ROOT): BuiltPackage {
  const consumerDir = mkdtempSync(path.join(os.tmpdir(), 'gch-package-'));
  const remove = () => rmSync(consumerDir, { recursive: true, force: true });
  try {
    const packageDir = path.join(consumerDir, 'node_modules', 'grpc-consistent-hash');
    mkdirSync(packageDir, { recursive: true });
    for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
      copyFileSync(path.join(sourceRoot, file), path.join(packageDir, file));
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(packageDir, 'node_modules'), 'dir');
    symlinkSync(
      path.join(REPO_ROOT, 'node_modules', '@grpc'),
      path.join(consumerDir, 'node_modules', '@grpc'),
      'dir',
    );
    const args = [require.resolve('typescript/bin/tsc'), '-p', path.join(sourceRoot, 'tsconfig.build.json')];
    args.push('--outDir', path.join(packageDir, 'dist'), '--sourceMap', 'false');
    if (!declarations) args.push('--declaration', 'false');
    let compileErrors = '';
    try {
      execFileSync(process.execPath, args, { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      // tsc exits non-zero on a type error anywhere in src but still emits; only missing output fails.
      compileErrors = String((e as { stdout?: string }).stdout ?? e);
    }
    if (!existsSync(path.join(packageDir, 'dist', 'src', 'index.js'))) {
      throw new Error(`tsc emitted no dist/src/index.js:\n${compileErrors}`);
    }
    return { consumerDir, packageDir, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
