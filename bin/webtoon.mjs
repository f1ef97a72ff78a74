#!/usr/bin/env node
// The `webtoon` command. Help, `help [cmd]`, `<cmd> --help`, --version and usage errors are answered
// here in plain JavaScript, from the committed description of every command (src/cli/manifest.json,
// parsed with commander by src/cli/manifest-program.mjs), because the TypeScript loader's start-up
// alone takes seconds. Only when the arguments name a command to run does this register tsx and run
// the real program (src/cli/index.ts) on them, so it works right after `npm ci` with no build step.
import { readFileSync } from 'node:fs';

const version = () => JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${version()}\n`);
} else {
  const { answerFromManifest } = await import('../src/cli/manifest-program.mjs');
  const answer = await answerFromManifest(process.argv, version());
  if ('exitCode' in answer) {
    process.exitCode = answer.exitCode;
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    const { main } = await import('../src/cli/index.ts');
    await main(process.argv);
  }
}
