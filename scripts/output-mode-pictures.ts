/**
 * Regenerates the pictures of the three output modes shown in README.md, docs/bot.md and /webtoon-help
 * (docs/images/output-{face,photo,side-by-side}.jpg), made by the `webtoon` CLI itself:
 *
 *   npm run docs:pictures                       # the tiny test network (random weights: the faces are noise)
 *   npm run docs:pictures -- --model models/a2b.onnx [--input selfie.png]
 *
 * Without --model it builds a generator the way README's "try the whole pipeline" does:
 * `webtoon import-torch` of the official-layout fixture checkpoint (../shared/fixtures/ugatit-torch/
 * light-ngf8-nb2-64/params.pt), then `webtoon export`. The input defaults to astronaut.png (public
 * domain, ../shared/data/photos). Each picture is scaled to at most 384 px and saved as JPEG (< 200 KB).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeUnchecked, encodeJpeg, resizeTo } from '../src/media/media.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(repo, '../shared');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    input: { type: 'string', default: path.join(shared, 'data/photos/astronaut.png') },
    out: { type: 'string', default: path.join(repo, 'docs/images') },
  },
});

function webtoon(args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/webtoon.mjs'), ...args], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ORT_PROVIDERS: 'cpu' } });
  if (r.status !== 0) throw new Error(`webtoon ${args.join(' ')} exited ${r.status}`);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'webtoon-pictures-'));
try {
  let model = values.model;
  if (!model) {
    webtoon(['import-torch', path.join(shared, 'fixtures/ugatit-torch/light-ngf8-nb2-64/params.pt'), '--out', path.join(work, 'ck')]);
    model = path.join(work, 'a2b.onnx');
    webtoon(['export', path.join(work, 'ck'), '--direction', 'a2b', '-o', model]);
  }
  for (const mode of ['face', 'photo', 'side-by-side']) {
    const png = path.join(work, `${mode}.png`);
    webtoon(['translate', values.input!, '-o', png, '--output', mode, '--model', model]);
    let img = await decodeUnchecked(readFileSync(png));
    const k = 384 / Math.max(img.width, img.height);
    if (k < 1) img = await resizeTo(img, Math.round(img.width * k), Math.round(img.height * k));
    const out = path.join(values.out!, `output-${mode}.jpg`);
    writeFileSync(out, await encodeJpeg(img, 82));
    process.stdout.write(`${out}: ${img.width}×${img.height}, ${Math.round(statSync(out).size / 1024)} KB\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
