import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Starts `node --import tsx <script> <args>` (stdin a pipe: the child exits when it closes, stderr
 * inherited) and resolves with the child and the first line it prints, its ready signal. Rejects if
 * it exits first or prints nothing within 20 s.
 */
export function startChildUntilFirstLine(
  script: string,
  args: readonly string[],
  what: string,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${what} did not start within 20 s`));
    }, 20_000);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, line });
    });
  });
}
