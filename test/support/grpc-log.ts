import * as grpc from '@grpc/grpc-js';

/**
 * Captures grpc-js log lines at ERROR while `fn` runs, then restores the console logger.
 * Resolves with what `fn` returned, or the Error it threw, and the lines logged.
 */
export async function captureErrorLog<T>(
  fn: () => T | Promise<T>,
): Promise<{ result: T | Error; lines: string[] }> {
  const lines: string[] = [];
  grpc.setLogger({ error: (...args: unknown[]) => lines.push(args.map(String).join(' ')) });
  try {
    return { result: await fn(), lines };
  } catch (e) {
    return { result: e as Error, lines };
  } finally {
    grpc.setLogger(console);
  }
}
