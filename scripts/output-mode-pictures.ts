/**
 * Regenerates the pictures of the three output modes shown in README.md, docs/bot.md and /webtoon-help
 * (docs/images/output-{face,photo,side-by-side}.jpg), made by the `webtoon` CLI itself:
 *
 *   npm run docs:pictures                       # the tiny test network (random weights: the faces are noise)
 *   npm run docs:pictures -- --model models/a2b.onnx [--input selfie.png]
 *
 * Without --model it uses the generator README's "Try it" makes: `webtoon demo` (a random-weight
 * light generator, ngf 8, 2 blocks, 64², from nothing but the clone). The input defaults to the
 * bundled assets/demo/astronaut.jpg (public domain). Each picture is scaled to at most 384 px and
 * saved as JPEG (< 200 KB).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeUnchecked, encodeJpeg, resizeTo } from '../src/media/media.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    input: { type: 'string', default: path.join(repo, 'assets/demo/astronaut.jpg') },
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
    webtoon(['demo', '--out', path.join(work, 'demo')]);
    model = path.join(work, 'demo/tiny-a2b.onnx');
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
