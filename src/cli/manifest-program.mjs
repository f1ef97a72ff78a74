// The `webtoon` program rebuilt from src/cli/manifest.json with commander alone, in plain JavaScript:
// bin/webtoon.mjs parses every call with it first, so help, `help [cmd]`, `<cmd> --help` and usage
// errors are answered without the TypeScript loader (whose start-up alone takes seconds). When the
// arguments reach a command's action, the caller loads the real program (src/cli/index.ts) and runs it
// on the same arguments. The manifest is generated from the real commands (src/cli/manifest.ts,
// `npm run cli:manifest`); test/cli/cli-manifest.test.ts keeps the two identical.
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';

/** Exit status of a usage error (bad flag, missing argument, unknown command), as for the project's UsageError. */
export const USAGE_EXIT_CODE = 2;

/** Exit status for an error commander threw under exitOverride: 0 for --help/--version, else a usage error. */
export function exitCodeOfCommanderError(err) {
  return err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
}

/** The committed manifest. */
export function readManifest(file = new URL('./manifest.json', import.meta.url)) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** A commander program shaped like the manifest; every command with an action calls `onAction(command)`. */
export function programFromManifest(manifest, { version, onAction }) {
  const program = new Command(manifest.program.name);
  build(program, manifest.program, { version, onAction });
  return program;
}

/**
 * Parse `argv` (as `process.argv`) with the manifest's program. Returns `{ run: true }` when the
 * arguments name a command to run (nothing has been printed), else `{ exitCode }` once commander has
 * printed the help, the version or the usage error.
 */
export async function answerFromManifest(argv, version, manifest = readManifest()) {
  let run = false;
  const program = programFromManifest(manifest, { version, onAction: () => (run = true) });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return { exitCode: exitCodeOfCommanderError(err) };
    throw err;
  }
  return run ? { run: true } : { exitCode: 0 };
}

function build(cmd, spec, ctx) {
  cmd.description(spec.description);
  if (spec.summary !== undefined) cmd.summary(spec.summary);
  for (const alias of spec.aliases ?? []) cmd.alias(alias);
  if (spec.usage !== undefined) cmd.usage(spec.usage);
  const s = spec.settings;
  cmd
    .exitOverride()
    .enablePositionalOptions(s.enablePositionalOptions)
    .passThroughOptions(s.passThroughOptions)
    .allowUnknownOption(s.allowUnknownOption)
    .allowExcessArguments(s.allowExcessArguments)
    .combineFlagAndOptionalValue(s.combineFlagAndOptionalValue)
    .showHelpAfterError(s.showHelpAfterError)
    .showSuggestionAfterError(s.showSuggestionAfterError);
  if (spec.helpOption === null) cmd.helpOption(false);
  else if (spec.helpOption) cmd.helpOption(spec.helpOption.flags, spec.helpOption.description);
  for (const o of spec.options) {
    if (o.version) cmd.version(ctx.version, o.flags, o.description);
    else cmd.addOption(option(o));
  }
  for (const a of spec.arguments) cmd.addArgument(argument(a));
  for (const [position, texts] of Object.entries(spec.helpText ?? {})) {
    for (const text of texts) cmd.addHelpText(position, text);
  }
  if (spec.action) cmd.action(() => ctx.onAction(cmd));
  for (const sub of spec.commands) {
    build(cmd.command(sub.name, { hidden: sub.hidden === true, isDefault: sub.isDefault === true }), sub, ctx);
  }
}

function option(spec) {
  const o = new Option(spec.flags, spec.description);
  if ('defaultValue' in spec || 'defaultValueDescription' in spec) o.default(spec.defaultValue, spec.defaultValueDescription);
  if ('presetArg' in spec) o.preset(spec.presetArg);
  if (spec.envVar !== undefined) o.env(spec.envVar);
  if (spec.choices) o.choices(spec.choices);
  if (spec.mandatory) o.makeOptionMandatory();
  if (spec.hidden) o.hideHelp();
  if (spec.conflictsWith) o.conflicts(spec.conflictsWith);
  if (spec.implied) o.implies(spec.implied);
  return o;
}

function argument(spec) {
  const name = `${spec.name}${spec.variadic ? '...' : ''}`;
  const a = new Argument(spec.required ? `<${name}>` : `[${name}]`, spec.description);
  if ('defaultValue' in spec || 'defaultValueDescription' in spec) a.default(spec.defaultValue, spec.defaultValueDescription);
  if (spec.choices) a.choices(spec.choices);
  return a;
}
