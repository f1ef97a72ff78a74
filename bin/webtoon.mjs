#!/usr/bin/env node
// The `webtoon` command. Runs the TypeScript sources directly through tsx, so it works right after `npm ci`.
// `webtoon --version` alone is answered here, before the TypeScript loader starts.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/index.ts');
  await main(process.argv);
}
