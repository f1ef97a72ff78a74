/**
 * `webtoon dataset weights`: write the sampling-weights file for `webtoon train --sampling-weights` from the
 * rebalancing report (or from --factors) and a labels file naming each target-domain image's attributes.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../shared/atomic-write.ts';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface WeightsFlags {
  data: string;
  labels: string;
  direction: 'a2b' | 'b2a';
  out: string;
  factors?: string;
  since?: string;
  modelVersion?: string;
  force?: boolean;
  json?: boolean;
}

const HELP_AFTER = `
The target domain of a direction is retrained with the weights: a2b (/webtoonify) → trainB, b2a → trainA.
Factors come from the rebalancing report over the configured database (see \`webtoon report --help\`),
unless --factors gives them. Each image's weight is max(1, the largest factor among its attributes).

Labels file (paths relative to the dataset dir):
  CSV:  path,attributes            JSON: { "trainB/0001.png": ["glasses", "gender"] }
        trainB/0001.png,glasses;gender

Examples:
  webtoon dataset weights --data dataset --labels labels.csv --direction a2b -o weights.json
  webtoon dataset weights --data dataset --labels labels.csv --direction a2b --factors glasses=3,hands=2 -o w.json
  webtoon train --data dataset --out runs/v2 --light --sampling-weights weights.json
`;

export default function register(program: Command): void {
  const dataset = program.command('dataset').description('dataset tools for rebalancing the training data');
  dataset
    .command('weights')
    .description('write per-image sampling weights for the target domain from the report (or --factors) and image labels')
    .requiredOption('--data <dir>', 'dataset dir holding trainA/ and trainB/')
    .requiredOption('--labels <file>', 'CSV (path,attributes) or JSON labels of the target-domain images')
    .addOption(new Option('-d, --direction <direction>', 'which model to rebalance').choices(['a2b', 'b2a']).makeOptionMandatory())
    .requiredOption('-o, --out <file.json>', 'weights file to write')
    .option('--factors <list>', 'attribute=factor pairs instead of the report, e.g. glasses=3,gender=2')
    .option('--since <when>', 'report window: ISO date or duration (30d)')
    .option('-m, --model-version <version>', 'report on this model version instead of the latest')
    .option('-f, --force', 'overwrite an existing weights file')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: WeightsFlags) => {
      if (!/\.json$/i.test(flags.out)) throw new UsageError(`--out: expected a file name ending in .json, received ${JSON.stringify(flags.out)}`);
      if (existsSync(flags.out) && !flags.force) throw new UsageError(`--out: ${flags.out} exists; pass --force to overwrite it`);
      const { computeSamplingWeights, parseFactors, readLabels } = await import('../../training/data/rebalance.ts');
      const { scanDataset } = await import('../../training/data/dataset.ts');
      const domain = flags.direction === 'a2b' ? 'B' : 'A';
      const factorsFromFlag = flags.factors !== undefined ? parseFactors(flags.factors) : undefined;
      const labels = await readLabels(flags.labels);
      const ds = await scanDataset(flags.data);

      let factors = factorsFromFlag;
      let provenance: Record<string, unknown> = { source: '--factors' };
      if (!factors) {
        const { parseSince } = await import('../parse-since.ts');
        const { buildReport, oversamplingFactors, OVERSAMPLING_FORMULA } = await import('../../db/report.ts');
        let since: Date | undefined;
        try {
          since = flags.since === undefined ? undefined : parseSince(flags.since);
        } catch (err) {
          throw new UsageError(`--since: ${(err as Error).message.replace(/^since: /, '')}`);
        }
        const { config } = await import('../../config.ts');
        const { withMigratedDatabase } = await import('../../db/client.ts');
        const report = await withMigratedDatabase(config(), (handle) => buildReport(handle, { since, direction: flags.direction, modelVersion: flags.modelVersion }));
        factors = oversamplingFactors(report, flags.direction);
        const ranked = report.ranking.find((r) => r.direction === flags.direction);
        provenance = { source: 'report', formula: OVERSAMPLING_FORMULA, modelVersion: ranked?.modelVersion ?? flags.modelVersion ?? null, since: since?.toISOString() ?? null, generatedAt: report.generatedAt };
      }

      const files = ds.files[domain === 'A' ? 'trainA' : 'trainB'];
      const result = computeSamplingWeights(domain, files, labels, factors, { ...provenance, direction: flags.direction });
      await writeFileAtomic(flags.out, `${JSON.stringify(result.file, null, 2)}\n`);

      const summary = {
        out: flags.out,
        domain,
        images: result.domainImages,
        labelled: result.labelledImages,
        unknownLabelPaths: result.unknownPaths.length,
        reweighted: Object.keys(result.file.weights).length,
        factors,
        balance: result.balance,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
      const lines = [
        `wrote ${flags.out}: domain ${domain}, ${result.domainImages} images, ${result.labelledImages} labelled, ${summary.reweighted} reweighted`,
        ...(result.unknownPaths.length ? [`warning: ${result.unknownPaths.length} labelled paths are not training images of domain ${domain} (e.g. ${result.unknownPaths[0]})`] : []),
        Object.keys(factors).length === 0 ? 'no attribute needs oversampling yet (all factors are 1): every image keeps weight 1' : '',
        'attribute      factor  images  share before → after',
        ...result.balance.map((b) => `${b.attribute.padEnd(14)} ${b.factor.toFixed(2).padStart(6)}  ${String(b.images).padStart(6)}  ${pct(b.shareBefore).padStart(6)} → ${pct(b.shareAfter)}`),
      ].filter(Boolean);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
