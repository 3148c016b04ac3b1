#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  lines.push(
    '',
    'options:',
    '  --version  print the version',
    '  --help     print this help',
    '',
    `Run '${PROGRAM} help <command>' or '${PROGRAM} <command> --help' for a command's options.`,
  );
  return lines.join('\n');
}

/** The package version: from the nearest package.json of this package (src/cli or dist/src/cli). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PROGRAM && pkg.version) return pkg.version;
    } catch {
      // no package.json here; look further up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

function unknownCommand(name: string): number {
  process.stderr.write(
    `${PROGRAM}: unknown command '${name}' (commands: ${Object.keys(subcommands).join(', ')})\n`,
  );
  return USAGE_EXIT_CODE;
}

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === '-V') {
    process.stdout.write(`${PROGRAM} ${packageVersion()}\n`);
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) {
    // `help route` is `route --help`.
    if (!subcommands[rest[0]]) return unknownCommand(rest[0]);
    [name, rest] = [rest[0], ['--help']];
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return name === undefined ? USAGE_EXIT_CODE : 0;
  }
  const load = subcommands[name];
  if (!load) return unknownCommand(name);
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
