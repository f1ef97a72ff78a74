/**
 * `npm run bench:cli [-- --runs 7] [-- --bin other/bin/webtoon.mjs]`: how long `webtoon --help`,
 * `webtoon translate --help` (a command's help) and `webtoon --version` take, as median wall-clock
 * seconds over several runs, printed as JSON. The runs are interleaved with two floors measured the
 * same way — bare `node -e 0`, and node with the tsx loader registered (what a `webtoon` call that runs
 * a command pays before any project code; help and usage errors no longer do, see bin/webtoon.mjs) —
 * so a figure taken on a busy machine can be read against them. `--bin` times another checkout's
 * entry the same way (e.g. the tree before help was answered from the manifest), interleaved too.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = Number(flag('--runs') ?? 7);
const otherBin = flag('--bin');

const cases: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'node + tsx loader': ['--import', 'tsx', '-e', '0'],
  'webtoon --help': [path.join(root, 'bin/webtoon.mjs'), '--help'],
  'webtoon translate --help': [path.join(root, 'bin/webtoon.mjs'), 'translate', '--help'],
  'webtoon --version': [path.join(root, 'bin/webtoon.mjs'), '--version'],
};
if (otherBin) {
  cases[`${otherBin} --help`] = [path.resolve(otherBin), '--help'];
  cases[`${otherBin} translate --help`] = [path.resolve(otherBin), 'translate', '--help'];
}

const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, argv] of Object.entries(cases)) {
    const t = performance.now();
    const r = spawnSync(process.execPath, argv, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } });
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr.toString().slice(0, 400)}`);
    times[name].push((performance.now() - t) / 1000);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number): number => Math.round(x * 1000) / 1000;
const result = {
  bench: 'cli',
  runs,
  target: '`webtoon --help` under 1 s (median)',
  medianSeconds: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, round(median(v))])),
  allSeconds: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(round)])),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage1m: round(os.loadavg()[0]), node: process.version },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
