import { spawn } from 'node:child_process';

/** How a child process ended, and what it wrote. */
export interface TsxChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Empty when stderr is inherited. */
  stderr: string;
  /** stdout and stderr interleaved in the order they arrived. */
  output: string;
}

export interface TsxChildOptions {
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'inherit' shows the child's stderr in the test log instead of collecting it. */
  stderr?: 'pipe' | 'inherit';
  /** The child is killed with SIGKILL after this long, so a hang fails the test instead of stalling it. */
  killAfterMs: number;
}

/**
 * Runs `node --import tsx <script> <args>` with stdin closed and resolves once it has exited and
 * its output is read. A child that had to be killed resolves with signal SIGKILL.
 */
export function runTsxChild(
  script: string,
  args: readonly string[],
  options: TsxChildOptions,
): Promise<TsxChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output });
    });
  });
}
