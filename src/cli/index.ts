/**
 * The `webtoon` command line: one entry over the whole project. Each file in `./commands/` default-
 * exports a function that adds its subcommand(s) to the program, so features add commands without
 * touching this file. Errors that carry a code (AppError) are printed as one line and exit non-zero;
 * anything else is a bug and shows its stack.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { isAppError } from '../errors.ts';
import { setLogLevel } from '../logger.ts';

/** What each module in `src/cli/commands/` default-exports. */
export type RegisterCommand = (program: Command) => void;

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

/** Build the program with every command module registered, in file-name order. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('webtoon')
    .description('WebtoonFaces: selfie <-> webtoon face translation with U-GAT-IT (bot, inference, training, reports)')
    .option('-v, --verbose', 'log debug details to stderr')
    .option('-q, --quiet', 'log only errors to stderr')
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (cmd) => {
      const o = cmd.opts();
      if (o.verbose) setLogLevel('debug');
      else if (o.quiet) setLogLevel('error');
    });
  const files = readdirSync(commandsDir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(commandsDir, file)).href)) as { default?: unknown };
    if (typeof mod.default !== 'function') {
      throw new Error(`src/cli/commands/${file} must default-export a function (program) => void`);
    }
    (mod.default as RegisterCommand)(program);
  }
  return program;
}

/** Run the CLI with `argv` (as `process.argv`). Sets `process.exitCode`; never calls process.exit on success. */
export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (isAppError(err)) {
      process.stderr.write(`webtoon: ${err.name}: ${err.message}\n`);
      process.exitCode = err.code === 'USAGE' ? 2 : 1;
      return;
    }
    throw err;
  }
}
