/**
 * `webtoon dataset build|tag|stats`: from raw photos and webtoon pages to a tagged training set and
 * its attribute distribution. The rebalancing step that reads the tags is `webtoon rebalance`
 * (./rebalance.ts); `dataset weights` was folded into it. Heavy modules load inside each action.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { DEFAULT_DUPLICATE_DISTANCE } from '../../training/data/perceptual-hash.ts';

interface BuildFlags {
  domain: 'photo' | 'webtoon';
  in: string;
  out: string;
  size: string;
  minFace?: string;
  margin?: string;
  duplicateDistance: string;
  cascade?: string;
  json?: boolean;
}

const BUILD_HELP = `
Faces are found with BlazeFace (photos) or the anime-face cascade (webtoon pages), cut as squares with
the serving crop's margin (FACE_MARGIN), resized to --size and written as PNGs with a manifest.jsonl.
Every face of a page is kept, except faces below --min-face, near-duplicates (perceptual hash within
--duplicate-distance bits of 256) and unreadable files; each reason is counted. Running the build again
on the same folder only processes raw images it has not seen (by content).

Examples:
  webtoon dataset build --domain photo   --in raw/photos --out dataset/trainA
  webtoon dataset build --domain webtoon --in raw/pages  --out dataset/trainB --min-face 64
`;

interface TagFlags {
  manifest: string;
  csv?: string;
  from?: string[];
  dryRun?: boolean;
  json?: boolean;
}

const TAG_HELP = `
Tags are attribute ids of the shared vocabulary, or attribute=value: glasses, hands, gender=male,
age=young, hair=blond. Rows name a crop by file (x.png), dataset path (trainB/x.png) or raw source
image (then all its faces). Unknown attributes stop the command; rows that match nothing are listed.

  path,attributes
  trainB/page01-3fa2c1d0-f0.png,gender=male;glasses
  "trainB/page01-3fa2c1d0-f1.png","gender=female"

--from afad <root>: <root>/<age>/111/ = male, 112/ = female; age → age=young (<30), adult (30-59), older (60+)
--from celeba <list_attr_celeba.txt>: Male → gender=male|female, Eyeglasses → glasses, Smiling →
  expression=smiling, Young → age=young|adult, Wearing_Hat/Earrings/Necklace/Necktie → accessories,
  Mustache/Goatee/Sideburns/5_o_Clock_Shadow/No_Beard=-1 → facial_hair, Bald/Black/Blond/Brown/Gray_Hair →
  hair=<colour>, Pale_Skin → skin_tone=pale (see docs/datasets.md)

Examples:
  webtoon dataset tag --manifest dataset/trainB/manifest.jsonl --csv tags.csv
  webtoon dataset tag --manifest dataset/trainA/manifest.jsonl --from afad raw/AFAD-Lite
`;

const STATS_HELP = `
Example:
  webtoon dataset stats --data dataset --chart stats.png
`;

const num = (flag: string, text: string): number => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number, received ${JSON.stringify(text)}`);
  return n;
};

export default function register(program: Command): void {
  const dataset = program.command('dataset').description('build, tag and describe the training dataset (trainA = photos, trainB = webtoon faces)');

  dataset
    .command('build')
    .description('find every face in a folder of raw photos or webtoon pages and write square training crops + manifest')
    .addOption(new Option('--domain <domain>', 'photo (domain A) or webtoon (domain B)').choices(['photo', 'webtoon']).makeOptionMandatory())
    .requiredOption('--in <folder>', 'folder of raw images (searched recursively)')
    .requiredOption('--out <folder>', 'domain folder to write, e.g. dataset/trainA')
    .option('--size <px>', 'side of the written crops (the training size)', '256')
    .option('--min-face <px>', 'skip faces whose box is smaller (default: MIN_FACE_PX)')
    .option('--margin <fraction>', 'margin around the face box (default: FACE_MARGIN, as served)')
    .option('--duplicate-distance <bits>', 'skip a crop within this many bits (of 256) of one already kept; -1 keeps duplicates', String(DEFAULT_DUPLICATE_DISTANCE))
    .option('--cascade <file>', 'anime-face cascade for webtoon pages (default: ANIME_CASCADE_PATH)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', BUILD_HELP)
    .action(async (flags: BuildFlags) => {
      const { config } = await import('../../config.ts');
      const cfg = config();
      const { buildDataset, checkBuildOptions, formatBuildSummary } = await import('../../training/data/dataset-build.ts');
      const opts = {
        domain: flags.domain,
        inDir: flags.in,
        outDir: flags.out,
        size: num('--size', flags.size),
        minFace: flags.minFace === undefined ? cfg.MIN_FACE_PX : num('--min-face', flags.minFace),
        margin: flags.margin === undefined ? cfg.FACE_MARGIN : num('--margin', flags.margin),
        duplicateDistance: num('--duplicate-distance', flags.duplicateDistance),
      };
      await checkBuildOptions(opts); // refuse bad input before loading a detector
      let finder: { name: string; detect: (img: import('../../media/media.ts').RawImage) => Promise<import('../../inference/face-box.ts').Detection[]>; dispose: () => Promise<void> };
      if (flags.domain === 'photo') {
        const { BlazeFaceDetector } = await import('../../inference/blazeface.detector.ts');
        const blaze = await BlazeFaceDetector.create({ devices: cfg.ORT_PROVIDERS, threads: cfg.ORT_THREADS });
        finder = { name: 'blazeface', detect: (img) => blaze.detect(img), dispose: () => blaze.dispose() };
      } else {
        const { AnimeFaceDetector } = await import('../../inference/anime.detector.ts');
        const cascadePath = flags.cascade ?? cfg.ANIME_CASCADE_PATH;
        const anime = await AnimeFaceDetector.create(cascadePath).catch((err: unknown) => {
          throw new UsageError(`--cascade: cannot load the anime-face cascade ${cascadePath} (${(err as Error).message})`);
        });
        finder = { name: 'animeface-cascade', detect: (img) => anime.detect(img), dispose: () => anime.dispose() };
      }
      const bar = process.stderr.isTTY && !flags.json ? await progressBar() : undefined;
      try {
        const result = await buildDataset({
          ...opts,
          finder,
          onProgress: (done, total, c) => {
            if (!bar) return;
            if (done === 1) bar.start(total, 0, { added: 0, skipped: 0 });
            bar.update(done, { added: c.added, skipped: c.tooSmall + c.duplicates + c.unreadable + c.noFace });
          },
        });
        bar?.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatBuildSummary(result, opts)}\n`);
      } finally {
        bar?.stop();
        await finder.dispose();
      }
    });

  dataset
    .command('tag')
    .description('merge tags into a manifest: a hand-made CSV, AFAD-Lite folders or CelebA attributes')
    .requiredOption('--manifest <file>', 'the manifest.jsonl of a domain folder')
    .option('--csv <file>', 'CSV with header path,attributes (tags separated by ;)')
    .option('--from <source...>', 'afad <AFAD root> | celeba <list_attr_celeba.txt>')
    .option('--dry-run', 'report what would change without writing')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', TAG_HELP)
    .action(async (flags: TagFlags) => {
      const given = [flags.csv !== undefined, flags.from !== undefined].filter(Boolean).length;
      if (given !== 1) throw new UsageError('dataset tag: give exactly one of --csv <file>, --from afad <root>, --from celeba <list_attr_celeba.txt>');
      const { readManifest, splitOfManifest, writeManifest } = await import('../../training/data/manifest.ts');
      const tagging = await import('../../training/data/dataset-tag.ts');
      const { DatasetError } = await import('../../training/training.errors.ts');
      const entries = await readManifest(flags.manifest);
      if (entries.length === 0) throw new DatasetError('INPUT_EMPTY', `${flags.manifest} has no entries; build the domain first (webtoon dataset build)`);
      const { readFile } = await import('node:fs/promises');
      const path = await import('node:path');
      const readText = async (file: string, flag: string): Promise<string> => {
        try {
          return await readFile(file, 'utf8');
        } catch (err) {
          throw new DatasetError('INPUT_MISSING', `${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file });
        }
      };
      let result: import('../../training/data/dataset-tag.ts').TagResult;
      let source: string;
      if (flags.csv !== undefined) {
        const { LabelsCsvError, parseLabelsCsv } = await import('../../training/data/labels-csv.ts');
        const text = await readText(flags.csv, '--csv');
        let rows;
        try {
          rows = parseLabelsCsv(text, path.basename(flags.csv));
        } catch (err) {
          if (err instanceof LabelsCsvError) throw new DatasetError(err.kind === 'unknown-attribute' ? 'UNKNOWN_ATTRIBUTE' : 'TAGS_INVALID', err.message, { line: err.line });
          throw err;
        }
        if (rows.length === 0) throw new DatasetError('INPUT_EMPTY', `--csv: ${flags.csv} has a header but no rows`);
        result = tagging.tagFromRows(entries, rows, splitOfManifest(flags.manifest));
        source = flags.csv;
      } else {
        const [kind, where, ...rest] = flags.from ?? [];
        if (rest.length > 0 || where === undefined || (kind !== 'afad' && kind !== 'celeba')) {
          throw new UsageError(`--from: expected "afad <root>" or "celeba <list_attr_celeba.txt>", received ${JSON.stringify((flags.from ?? []).join(' '))}`);
        }
        if (kind === 'afad') result = tagging.tagFromAfad(entries, await tagging.scanAfad(where));
        else result = tagging.tagFromCeleba(entries, tagging.parseCelebaAttributes(await readText(where, '--from celeba'), path.basename(where)));
        source = `${kind} ${where}`;
      }
      if (!flags.dryRun) await writeManifest(flags.manifest, result.entries);
      const summary = { manifest: flags.manifest, source, entries: entries.length, matched: result.matched, changed: result.changed, added: result.added, unknown: result.unknown, written: !flags.dryRun };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      const lines = [
        `${flags.dryRun ? 'would tag' : 'tagged'} ${flags.manifest} from ${source}: ${result.matched} of ${entries.length} entries matched, ${result.changed} got new tags`,
        ...Object.entries(result.added).map(([t, n]) => `  +${t}: ${n}`),
        ...(result.unknown.length ? [`warning: ${result.unknown.length} row(s) name no image of the manifest:`, ...result.unknown.slice(0, 10).map((u) => `  ${u}`), ...(result.unknown.length > 10 ? [`  ... and ${result.unknown.length - 10} more`] : [])] : []),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  dataset
    .command('stats')
    .description('attribute distribution per domain (the shared vocabulary, gender x glasses) and the gap between domains')
    .requiredOption('--data <dir>', 'dataset dir holding trainA/manifest.jsonl and trainB/manifest.jsonl')
    .option('--json', 'print the stats as JSON instead of a table')
    .option('--chart <file.png>', 'also write the distribution as a chart PNG, gaps highlighted')
    .addHelpText('after', STATS_HELP)
    .action(async (flags: { data: string; json?: boolean; chart?: string }) => {
      if (flags.chart !== undefined && !/\.png$/i.test(flags.chart)) throw new UsageError(`--chart: expected a file name ending in .png, received ${JSON.stringify(flags.chart)}`);
      const path = await import('node:path');
      const { existsSync } = await import('node:fs');
      const { readManifest, MANIFEST_FILE } = await import('../../training/data/manifest.ts');
      const { DatasetError } = await import('../../training/training.errors.ts');
      if (!existsSync(flags.data)) throw new DatasetError('INPUT_MISSING', `--data: ${flags.data} does not exist`);
      const read = async (split: 'trainA' | 'trainB') => {
        const entries = await readManifest(path.join(flags.data, split, MANIFEST_FILE));
        if (entries.length === 0) throw new DatasetError('INPUT_EMPTY', `${path.join(flags.data, split, MANIFEST_FILE)} has no entries: domain ${split.slice(-1)} is empty`);
        return entries;
      };
      const { datasetStats, formatStatsTable } = await import('../../training/data/dataset-stats.ts');
      const stats = datasetStats(await read('trainA'), await read('trainB'));
      if (flags.chart) {
        const { renderDatasetChart } = await import('../../training/data/dataset-chart.ts');
        const { writeFileAtomic } = await import('../../shared/atomic-write.ts');
        await writeFileAtomic(flags.chart, await renderDatasetChart(stats));
      }
      process.stdout.write(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : `${formatStatsTable(stats)}\n${flags.chart ? `chart: ${flags.chart}\n` : ''}`);
    });

  dataset
    .command('weights')
    .description('moved: use `webtoon rebalance`')
    .allowUnknownOption()
    .allowExcessArguments(true)
    .action(() => {
      throw new UsageError('`webtoon dataset weights` is now `webtoon rebalance --data <dataset> --direction a2b|b2a -o weights.json` (tags come from the manifest or --labels)');
    });
}

async function progressBar() {
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar(
    { stream: process.stderr, format: 'build |{bar}| {value}/{total} images | {added} faces added | {skipped} skipped | ETA {eta_formatted}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}
