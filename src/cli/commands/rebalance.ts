/**
 * `webtoon rebalance`: the rebalancing report for a direction (failure rate per attribute, from the
 * database) + the target domain's tags (its manifest, or a labels file) → the sampling-weights file
 * `webtoon train --sampling-weights` reads, stamped with the dataset's fingerprint, and a plan in
 * plain words. It replaces `webtoon dataset weights` (one way to do it).
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface RebalanceFlags {
  data: string;
  direction: 'a2b' | 'b2a';
  out: string;
  manifest?: string;
  labels?: string;
  factors?: string;
  since?: string;
  modelVersion?: string;
  targetShare: string;
  plan?: string;
  force?: boolean;
  json?: boolean;
}

const HELP_AFTER = `
The target domain of a direction gets the weights: a2b (/webtoonify) → trainB, b2a (/reverse) → trainA.
Factors come from the rebalancing report over the configured database (webtoon report), unless
--factors gives them. An image carrying a reported attribute (a presence tag such as glasses, or the
rarer value of a valued one such as gender=male) gets weight max(1, largest factor); others keep 1.
Tags come from <data>/<trainA|trainB>/manifest.jsonl (webtoon dataset tag), or from --labels.
The weights file records the split's fingerprint: the trainer refuses it once images change.

Examples:
  webtoon rebalance --data dataset --direction a2b -o weights.json
  webtoon rebalance --data dataset --direction a2b --factors glasses=3,hands=2 -o weights.json --plan plan.txt
  webtoon train --data dataset --out runs/v2 --light --sampling-weights weights.json
`;

export default function register(program: Command): void {
  program
    .command('rebalance')
    .description('report + target-domain tags → sampling-weights file for `train --sampling-weights` and a plan in plain words')
    .requiredOption('--data <dir>', 'dataset dir holding trainA/ and trainB/')
    .addOption(new Option('-d, --direction <direction>', 'which model to rebalance').choices(['a2b', 'b2a']).makeOptionMandatory())
    .requiredOption('-o, --out <file.json>', 'weights file to write')
    .option('--manifest <file>', 'tags of the target domain (default: <data>/<split>/manifest.jsonl)')
    .option('--labels <file>', 'CSV (path,attributes) or JSON tags instead of a manifest')
    .option('--factors <list>', 'attribute=factor pairs instead of the report, e.g. glasses=3,gender=2')
    .option('--since <when>', 'report window: ISO date or duration (30d)')
    .option('-m, --model-version <version>', 'report on this model version instead of the latest')
    .option('--target-share <fraction>', 'share of the target set that collecting a presence attribute aims at', '0.25')
    .option('--plan <file>', 'also write the plan to this text file')
    .option('-f, --force', 'overwrite existing output files')
    .option('--json', 'print the summary and plan as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: RebalanceFlags) => {
      // ---- check every input before writing anything ----
      if (!/\.json$/i.test(flags.out)) throw new UsageError(`--out: expected a file name ending in .json, received ${JSON.stringify(flags.out)}`);
      for (const f of [flags.out, flags.plan].filter((x): x is string => x !== undefined)) {
        if (existsSync(f) && !flags.force) throw new UsageError(`${f} exists; pass --force to overwrite it`);
      }
      if (flags.manifest !== undefined && flags.labels !== undefined) throw new UsageError('give --manifest or --labels, not both');
      const targetShare = Number(flags.targetShare);
      if (!(targetShare > 0 && targetShare < 1)) throw new UsageError(`--target-share: expected a fraction between 0 and 1, received ${JSON.stringify(flags.targetShare)}`);
      const path = await import('node:path');
      const { computeSamplingWeights, parseFactors, readLabels, RebalanceError } = await import('../../training/data/rebalance.ts');
      const { rebalancePlan, formatPlan } = await import('../../training/data/rebalance-plan.ts');
      const { scanDataset, domainFingerprint } = await import('../../training/data/dataset.ts');
      const domain = flags.direction === 'a2b' ? 'B' : 'A';
      const split = domain === 'A' ? 'trainA' : 'trainB';
      const domainWord = domain === 'A' ? 'photo' : 'webtoon';
      const factorsFromFlag = flags.factors !== undefined ? parseFactors(flags.factors) : undefined;
      const ds = await scanDataset(flags.data);
      const files = ds.files[split];
      if (files.length === 0) throw new RebalanceError('NO_LABELLED_IMAGE', `${path.join(ds.root, split)} holds no images: domain ${domain} is empty; build it first (webtoon dataset build)`, { split });

      let labels: Map<string, string[]>;
      let tagSource: string;
      if (flags.labels !== undefined) {
        labels = await readLabels(flags.labels);
        tagSource = flags.labels;
      } else {
        const { readManifest, MANIFEST_FILE } = await import('../../training/data/manifest.ts');
        const manifest = flags.manifest ?? path.join(ds.root, split, MANIFEST_FILE);
        const entries = await readManifest(manifest);
        const base = path.relative(ds.root, path.dirname(path.resolve(manifest))).split(path.sep).join('/');
        if (base !== split) throw new UsageError(`--manifest: ${manifest} describes ${base || 'the dataset root'}/, but ${flags.direction} rebalances ${split}/`);
        labels = new Map(entries.filter((e) => e.tags.length > 0).map((e) => [`${split}/${e.file}`, e.tags]));
        if (labels.size === 0) throw new RebalanceError('NO_LABELLED_IMAGE', `${manifest}: no entry has a tag yet; tag the target domain first (webtoon dataset tag)`, { manifest });
        tagSource = manifest;
      }

      let reported: import('../../training/data/rebalance-plan.ts').ReportedAttribute[];
      let provenance: Record<string, unknown>;
      if (factorsFromFlag) {
        reported = Object.entries(factorsFromFlag).map(([attribute, factor]) => ({ attribute: attribute as never, reports: null, reportRate: null, factor: factor as number }));
        provenance = { source: '--factors' };
      } else {
        const { buildReport, OVERSAMPLING_FORMULA } = await import('../../db/report.ts');
        const { parseSince } = await import('../parse-since.ts');
        let since: Date | undefined;
        try {
          since = flags.since === undefined ? undefined : parseSince(flags.since);
        } catch (err) {
          throw new UsageError(`--since: ${(err as Error).message.replace(/^since: /, '')}`);
        }
        const { config } = await import('../../config.ts');
        const { withMigratedDatabase } = await import('../../db/client.ts');
        const report = await withMigratedDatabase(config(), (handle) => buildReport(handle, { since, direction: flags.direction, modelVersion: flags.modelVersion }));
        const ranked = report.ranking.filter((r) => r.direction === flags.direction);
        reported = ranked.map((r) => ({ attribute: r.attribute, reports: r.reports, reportRate: r.reportRate, factor: r.oversamplingFactor }));
        provenance = { source: 'report', formula: OVERSAMPLING_FORMULA, modelVersion: ranked[0]?.modelVersion ?? flags.modelVersion ?? null, since: since?.toISOString() ?? null, generatedAt: report.generatedAt };
      }
      const factors = Object.fromEntries(reported.filter((r) => r.factor > 1).map((r) => [r.attribute, r.factor]));
      const result = computeSamplingWeights(domain, files, labels, factors, { ...provenance, direction: flags.direction, tags: tagSource });
      result.file.dataset = { split, images: files.length, fingerprint: await domainFingerprint(ds, split) };
      const plan = rebalancePlan(result, reported, targetShare, domainWord);
      const header = `Rebalancing ${flags.direction} (/${flags.direction === 'a2b' ? 'webtoonify' : 'reverse'}): ${files.length} ${domainWord} images in ${split}/, ${result.labelledImages} tagged, ${Object.keys(result.file.weights).length} reweighted.`;
      const planText = formatPlan(plan, header);

      // ---- write: temp files, then rename ----
      const { writeFileAtomic } = await import('../../shared/atomic-write.ts');
      await writeFileAtomic(flags.out, `${JSON.stringify(result.file, null, 2)}\n`);
      if (flags.plan) await writeFileAtomic(flags.plan, `${planText}\n`);

      if (flags.json) {
        const summary = { out: flags.out, domain, split, images: result.domainImages, tagged: result.labelledImages, unknownTagPaths: result.unknownPaths.length, reweighted: Object.keys(result.file.weights).length, factors, balance: result.balance, plan };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      const warn = result.unknownPaths.length ? `\nwarning: ${result.unknownPaths.length} tagged path(s) are not images of ${split}/ (e.g. ${result.unknownPaths[0]})` : '';
      process.stdout.write(`${planText}${warn}\nwrote ${flags.out}${flags.plan ? ` and ${flags.plan}` : ''}\n`);
    });
}
