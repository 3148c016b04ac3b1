#!/usr/bin/env node
import { USAGE_EXIT_CODE, UsageError } from './usage-error';

/** A subcommand: runs with its own arguments and resolves to an exit code. */
export interface Subcommand {
  readonly summary: string;
  run(argv: readonly string[]): Promise<number>;
}

// Adding a subcommand is one line here; modules load lazily so each command pays only for itself.
const subcommands: Record<string, () => Promise<Subcommand>> = {
  route: async () => (await import('./route')).routeCommand,
  simulate: async () => (await import('./simulate')).simulateCommand,
  inspect: async () => (await import('./inspect')).inspectCommand,
};

const PROGRAM = 'grpc-consistent-hash';

async function usage(): Promise<string> {
  const lines = [`usage: ${PROGRAM} <command> [options]`, '', 'commands:'];
  for (const [name, load] of Object.entries(subcommands))
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  lines.push('', `Run '${PROGRAM} <command> --help' for a command's options.`);
  return lines.join('\n');
}

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return name === undefined ? USAGE_EXIT_CODE : 0;
  }
  const load = subcommands[name];
  if (!load) {
    process.stderr.write(
      `${PROGRAM}: unknown command '${name}' (commands: ${Object.keys(subcommands).join(', ')})\n`,
    );
    return USAGE_EXIT_CODE;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${PROGRAM} ${name}: ${err.message}\n`);
      return USAGE_EXIT_CODE;
    }
    throw err;
  }
}

if (require.main === module) {
  // A reader that closes the pipe early (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
