import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, cliVersion } from '../../src/cli/index.ts';
import { describeProgram, MANIFEST_PATH, type CliManifest } from '../../src/cli/manifest.ts';
import { exitCodeOfCommanderError, programFromManifest, readManifest } from '../../src/cli/manifest-program.mjs';

const root = path.resolve(import.meta.dirname, '../..');

/** What one parse printed and how it ended: the exit status commander asked for, or the command whose action it reached. */
interface Outcome {
  stdout: string;
  stderr: string;
  exitCode?: number;
  reached?: string;
}

/** Parse `args` with `program` (its actions replaced by a marker), capturing output at a fixed width. */
async function outcomeOf(program: Command, args: string[]): Promise<Outcome> {
  const out: Outcome = { stdout: '', stderr: '' };
  forEachCommand(program, (cmd, names) => {
    cmd.configureOutput({
      writeOut: (s) => (out.stdout += s),
      writeErr: (s) => (out.stderr += s),
      getOutHelpWidth: () => 80,
      getErrHelpWidth: () => 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
    if ((cmd as unknown as { _actionHandler: unknown })._actionHandler) cmd.action(() => void (out.reached = names.join(' ')));
  });
  try {
    await program.parseAsync(['node', 'webtoon', ...args]);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    out.exitCode = exitCodeOfCommanderError(err);
  }
  return out;
}

function forEachCommand(cmd: Command, fn: (cmd: Command, names: string[]) => void, names: string[] = []): void {
  fn(cmd, names);
  for (const sub of cmd.commands) forEachCommand(sub, fn, [...names, sub.name()]);
}

/** Argument lists that exercise help and every kind of usage error on every command of `program`. */
function probes(program: Command): string[][] {
  const list: string[][] = [[], ['--version'], ['-V'], ['--help'], ['help'], ['-v', '--bogus'], ['--quiet', 'no-such-command'], ['translat'], ['help', 'no-such-command']];
  // Calls that reach an action: the rebuilt program must hand them on, not refuse them.
  list.push(['translate', 'x.png', '-d', 'b2a', '--faces', 'all'], ['-q', 'demo', '--out', 'elsewhere'], ['dataset', 'weights', '--anything', 'goes'], ['report', '-f', 'csv'], ['db', 'forget-user', '123']);
  forEachCommand(program, (cmd, names) => {
    if (names.length === 0) return;
    list.push([...names, '--help'], [...names, '-h'], names, [...names, '--no-such-option'], [...names, 'zzz', 'yyy', 'xxx', 'www']);
    if (names.length === 1) list.push(['help', names[0]]);
    for (const o of cmd.options) {
      const flag = o.long ?? o.short!;
      if (o.required) list.push([...names, flag]);
      if (o.argChoices) list.push([...names, flag, 'not-a-choice']);
    }
  });
  return list;
}

describe('the CLI manifest (src/cli/manifest.json)', () => {
  let real: CliManifest;
  beforeAll(async () => {
    real = describeProgram(await buildProgram());
  });

  it('is what the commands in src/cli/commands declare (run `npm run cli:manifest` after changing one)', () => {
    const committed = JSON.parse(readFileSync(path.join(root, MANIFEST_PATH), 'utf8')) as CliManifest;
    expect(committed).toEqual(real);
  });

  it('rebuilds a program that prints the same help and the same errors, with the same exit status, as the real one', async () => {
    const probesList = probes(await buildProgram());
    expect(probesList.length).toBeGreaterThan(100);
    const reached = new Set<string>();
    for (const args of probesList) {
      const sut = await outcomeOf(programFromManifest(readManifest(), { version: cliVersion(), onAction: () => undefined }), args);
      const expected = await outcomeOf(await buildProgram(), args);
      expect({ args, ...sut }).toEqual({ args, ...expected });
      if (sut.reached) reached.add(sut.reached);
    }
    expect([...reached].sort()).toEqual(['bot', 'dataset weights', 'db forget-user', 'db migrate', 'demo', 'register-commands', 'report', 'translate', 'worker']);
  });

  it('the comparison above can fail: a changed description or a dropped option shows', async () => {
    const manifest = structuredClone(real);
    const translate = manifest.program.commands.find((c) => c.name === 'translate')!;
    translate.description = 'something else';
    translate.options.pop();
    const sut = await outcomeOf(programFromManifest(manifest, { version: cliVersion(), onAction: () => undefined }), ['translate', '--help']);
    const expected = await outcomeOf(await buildProgram(), ['translate', '--help']);
    expect(sut.stdout).not.toEqual(expected.stdout);
  });

  it('refuses a commander feature the rebuilder does not reproduce, naming it and the command', () => {
    const program = new Command('webtoon');
    program.command('x').configureHelp({ sortOptions: true });
    expect(() => describeProgram(program)).toThrow(/command 'webtoon x' uses configureHelp\(\)/);
    const dynamic = new Command('webtoon');
    dynamic.command('y').addHelpText('after', ({ error }) => (error ? 'a' : 'b'));
    expect(() => describeProgram(dynamic)).toThrow(/depends on the error flag/);
    const fn = new Command('webtoon');
    fn.command('z').option('--when <d>', 'when', new Date(0) as unknown as string);
    expect(() => describeProgram(fn)).toThrow(/option --when <d> default is not a JSON value/);
  });
});
