/**
 * The `webtoon` command line: one entry over the whole project. Each file in `./commands/` default-
 * exports a function that adds its subcommand(s) to the program, so features add commands without
 * touching this file. Registering is cheap: a command module imports only commander, the error
 * classes and small option tables at its top, and loads its heavy modules (tfjs, discord.js,
 * onnxruntime, the database) inside its action, so `webtoon --help` loads none of them.
 * Errors that carry a code (AppError) are printed as one line and exit 1 (2 for USAGE); commander's
 * own usage errors (unknown option, missing argument) exit 2 too; anything else is a bug and shows its stack.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { isAppError } from '../errors.ts';
import { exitCodeOfCommanderError } from './manifest-program.mjs';

export { USAGE_EXIT_CODE } from './manifest-program.mjs';

/** What each module in `src/cli/commands/` default-exports. */
export type RegisterCommand = (program: Command) => void;

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');
const packageJson = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');

/** The version in package.json. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/** Build the program with every command module registered, in file-name order. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('webtoon')
    .description('WebtoonFaces: selfie <-> webtoon face translation with U-GAT-IT (bot, inference, training, reports)')
    .version(cliVersion(), '-V, --version', 'print the version and exit')
    // Program options only before the command name: `export --version v1` is the command's own option.
    .enablePositionalOptions()
    .option('-v, --verbose', 'log debug details to stderr')
    .option('-q, --quiet', 'log only errors to stderr')
    .showHelpAfterError('(run with --help for usage)')
    // Before the commands are added, so that they inherit it: commander errors throw, main() maps them to exit 2.
    .exitOverride()
    .hook('preAction', async (cmd) => {
      const o = cmd.opts();
      if (!o.verbose && !o.quiet) return;
      const { setLogLevel } = await import('../logger.ts');
      setLogLevel(o.verbose ? 'debug' : 'error');
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
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      process.exitCode = exitCodeOfCommanderError(err);
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
