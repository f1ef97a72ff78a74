/**
 * `webtoon eval --model <a2b.onnx> [--reverse-model <b2a.onnx>] --photos <dir> [--webtoons <dir>]
 * [--baseline <onnx>] [--inception <onnx>] [--crop auto|center] [--out <dir>] [--json] [--limit N]`:
 * judge a model version on real photos (src/analysis/eval.ts). Prints a table (or JSON) and writes
 * `eval.json` and the contact sheet `worst.png` into `--out`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface EvalFlags {
  model: string;
  reverseModel?: string;
  photos: string;
  webtoons?: string;
  baseline?: string;
  inception?: string;
  crop: string;
  out: string;
  json?: boolean;
  limit?: string;
  resamples: string;
  seed: string;
}

const HELP_AFTER = `
For every photo: the bot's pipeline translates it a2b (face detection, crop, generator); with
--reverse-model the output is translated back (cycle). The face analyser (face-api, photo-trained)
compares the input crop with the reconstruction: identity similarity (cosine of face descriptors),
gender flip, age drift. Without --reverse-model it compares with the webtoon output (weak, labelled).
KID compares the outputs with --webtoons: standard with --inception <onnx> (input [1,3,H,W] RGB in
[0,1], first output = features), otherwise a NON-STANDARD "face-KID" on face descriptors.
--baseline evaluates a second a2b model on the same photos; a verdict is printed only where the 95 %
paired-bootstrap interval of the difference excludes zero.

Examples:
  webtoon eval --model models/a2b-v2.onnx --reverse-model models/b2a-v2.onnx --photos photos/ --webtoons trainB/
  webtoon eval --model v3.onnx --baseline v2.onnx --reverse-model b2a.onnx --photos photos/ --out eval-v3
`;

function requireFile(flag: string, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (!existsSync(p) || !statSync(p).isFile()) throw new UsageError(`${flag}: no such file ${JSON.stringify(p)}`, { [flag]: p });
  return path.resolve(p);
}

function requireDir(flag: string, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (!existsSync(p) || !statSync(p).isDirectory()) throw new UsageError(`${flag}: no such folder ${JSON.stringify(p)}`, { [flag]: p });
  return path.resolve(p);
}

export default function register(program: Command): void {
  program
    .command('eval')
    .description('judge a model version on real photos: cycle identity similarity, gender flips, age drift, KID; optional baseline comparison')
    .requiredOption('-m, --model <a2b.onnx>', 'the a2b generator to judge')
    .option('-r, --reverse-model <b2a.onnx>', 'b2a generator for cycle reconstructions (recommended: the analyser is photo-trained)')
    .requiredOption('-p, --photos <dir>', 'folder of test photos (JPEG, PNG, WebP, GIF)')
    .option('-w, --webtoons <dir>', 'folder of target-domain (webtoon) face images for KID')
    .option('-b, --baseline <onnx>', 'a second a2b generator to compare with, on the same photos')
    .option('--inception <onnx>', 'Inception feature network for the standard KID (else face-KID, labelled non-standard)')
    .option('--crop <mode>', 'crop mode passed to the pipeline: auto (face box) or center', 'auto')
    .option('-o, --out <dir>', 'folder for eval.json and worst.png', 'eval-out')
    .option('--json', 'print the JSON report on stdout instead of the table')
    .option('--limit <n>', 'use at most n photos')
    .option('--resamples <n>', 'bootstrap resamples', '2000')
    .option('--seed <n>', 'seed of the bootstrap and KID subsets', '1')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: EvalFlags) => {
      const model = requireFile('--model', flags.model)!;
      const reverseModel = requireFile('--reverse-model', flags.reverseModel);
      const baseline = requireFile('--baseline', flags.baseline);
      const inception = requireFile('--inception', flags.inception);
      const photos = requireDir('--photos', flags.photos)!;
      const webtoons = requireDir('--webtoons', flags.webtoons);
      const { EVAL_CROP_MODES, contactSheet, evalJson, formatEval, listImages, runEval } = await import('../../analysis/eval.ts');
      if (!(EVAL_CROP_MODES as readonly string[]).includes(flags.crop)) throw new UsageError(`--crop must be one of ${EVAL_CROP_MODES.join(', ')}, got "${flags.crop}"`, { crop: flags.crop });
      const int = (flag: string, v: string | undefined, min: number): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${v}"`, { [flag]: v });
        return n;
      };
      const limit = int('--limit', flags.limit, 1);
      const resamples = int('--resamples', flags.resamples, 100);
      const seed = int('--seed', flags.seed, 0);
      if (listImages(photos).length === 0) throw new UsageError(`--photos: ${photos} holds no JPEG, PNG, WebP or GIF file`, { photos });
      if (webtoons && listImages(webtoons).length < 2) throw new UsageError(`--webtoons: ${webtoons} needs at least 2 images for KID`, { webtoons });

      const { config } = await import('../../config.ts');
      const { writeFileAtomicSync } = await import('../../shared/atomic-write.ts');
      const report = await runEval(config(), {
        model,
        reverseModel,
        photos,
        webtoons,
        baseline,
        inception,
        crop: flags.crop as 'auto' | 'center',
        limit,
        resamples,
        seed,
        onProgress: (done, total, what) => {
          if (process.stderr.isTTY || done === total) process.stderr.write(`\r[${done}/${total}] ${what}`.padEnd(70) + (done === total ? '\n' : ''));
        },
      });
      const out = path.resolve(flags.out);
      mkdirSync(out, { recursive: true });
      const json = `${JSON.stringify(evalJson(report), null, 2)}\n`;
      writeFileAtomicSync(path.join(out, 'eval.json'), json);
      writeFileAtomicSync(path.join(out, 'worst.png'), await contactSheet(report));
      process.stdout.write(flags.json ? json : `${formatEval(report)}\nwrote ${path.join(out, 'eval.json')} and ${path.join(out, 'worst.png')}\n`);
    });
}
