/**
 * `npm run cli:manifest`: write src/cli/manifest.json, the description of every `webtoon` command
 * (arguments, options, defaults, help texts) that bin/webtoon.mjs answers help and usage errors from
 * without loading TypeScript. Run it after changing a command in src/cli/commands/;
 * test/cli/cli-manifest.test.ts fails while the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../src/cli/index.ts';
import { describeProgram, MANIFEST_PATH } from '../src/cli/manifest.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, MANIFEST_PATH);
writeFileSync(file, `${JSON.stringify(describeProgram(await buildProgram()), null, 2)}\n`);
process.stdout.write(`${MANIFEST_PATH} written\n`);
