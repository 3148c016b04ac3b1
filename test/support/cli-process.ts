import { spawn } from 'node:child_process';
import * as path from 'node:path';

const REPO = path.join(__dirname, '../..');
const MAIN = path.join(REPO, 'src/cli/main.ts');

/** The outcome of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `node --import tsx src/cli/main.ts <args>` with `input` on stdin. The child is killed after
 * `killAfterMs`, so a hang fails the test instead of stalling it. `env` replaces the environment.
 */
export function runCli(
  args: readonly string[],
  input = '',
  killAfterMs = 30_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO, env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ms: performance.now() - started,
      });
    });
    // The child may exit before reading everything (bad key); that is not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/**
 * Checks that `text` is well-formed XML as far as an SVG chart needs: one root, balanced and
 * properly nested tags, quoted attributes, no stray `<` or `&`. Returns the element names in
 * document order; throws an Error naming the first problem.
 */
export function checkWellFormedXml(text: string): string[] {
  let rest = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  while (rest.length > 0) {
    const lt = rest.indexOf('<');
    const chars = lt < 0 ? rest : rest.slice(0, lt);
    if (/&(?!(#[0-9]+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);)/.test(chars))
      throw new Error(`bad '&' in ${chars.slice(0, 40)}`);
    if (chars.trim() !== '' && stack.length === 0)
      throw new Error(`text outside the root: ${chars.slice(0, 40)}`);
    if (lt < 0) break;
    rest = rest.slice(lt);
    const end = rest.indexOf('>');
    if (end < 0) throw new Error('unterminated tag');
    const tag = rest.slice(0, end + 1);
    rest = rest.slice(end + 1);
    const close = /^<\/([A-Za-z][\w:.-]*)\s*>$/.exec(tag);
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`</${close[1]}> closes <${open}>`);
      continue;
    }
    const open =
      /^<([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>$/.exec(tag);
    if (!open) throw new Error(`malformed tag ${tag.slice(0, 80)}`);
    if (stack.length === 0) roots++;
    names.push(open[1]!);
    if (open[3] !== '/') stack.push(open[1]!);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`expected one root element, got ${roots}`);
  return names;
}
